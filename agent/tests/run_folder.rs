//! The run folder: a checkpoint records the action count, so that opening a run
//! (for evaluation, dreams or probes) loads its models without starting a game; the
//! models kept at an epoch outlive the later checkpoints and open like one, and
//! `rem eval --kept` scores them.

use std::path::Path;
use std::process::{Command, Stdio};

use burn::backend::{Autodiff, Flex};
use rem_agent::run_folder::{Checkpoint, RunFolder, SavedRun};

/// A two-epoch catch run with every phase trained, a checkpoint each epoch and the
/// models of each epoch kept; `extra` settings override these.
fn tiny_run(run_dir: &Path, extra: &[&str]) {
    let sets = [
        "collect.epochs=2",
        "collect.collect_until_epoch=2",
        "collect.steps_per_epoch=40",
        "tokenizer.optim.start_epoch=1",
        "tokenizer.optim.steps_per_epoch=2",
        "tokenizer.optim.batch=4",
        "world_model.optim.start_epoch=1",
        "world_model.optim.steps_per_epoch=2",
        "world_model.optim.batch=2",
        "actor_critic.optim.start_epoch=2",
        "actor_critic.optim.steps_per_epoch=2",
        "actor_critic.optim.batch=2",
        "eval.every_epochs=0",
        "eval.final_episodes=1",
        "checkpoint.every_epochs=1",
        "checkpoint.keep_models_every_epochs=1",
    ];
    let mut command = Command::new(env!("CARGO_BIN_EXE_rem"));
    command
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .args(["train", "--config", "runs/catch.toml", "--run-dir"])
        .arg(run_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for item in sets.iter().chain(extra) {
        command.args(["--set", item]);
    }
    assert!(command.status().unwrap().success());
}

#[test]
fn a_saved_run_opens_without_starting_its_game() {
    let run_dir = std::env::temp_dir().join(format!("rem-run-folder-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&run_dir);
    tiny_run(&run_dir, &[]);

    let folder = RunFolder::new(&run_dir);
    let checkpoint = folder.latest_checkpoint().unwrap().expect("a checkpoint");
    assert_eq!(checkpoint.dir(), run_dir.join("checkpoints/epoch-000002"));
    let progress = checkpoint.progress().unwrap();
    assert_eq!(progress.epoch, 2);
    assert_eq!(progress.n_actions, Some(3), "catch has 3 actions");

    // A game that cannot be made: opening must not need one.
    let config = std::fs::read_to_string(folder.config_file()).unwrap();
    assert!(config.contains("game = \"catch\""));
    let renamed = config.replace("game = \"catch\"", "game = \"no-such-game\"");
    std::fs::write(folder.config_file(), renamed).unwrap();
    let run = SavedRun::<Flex>::open(&run_dir, None, &Default::default()).unwrap();
    assert_eq!(run.shapes.actor_critic.n_actions, 3);
    assert_eq!(run.config.env.game, "no-such-game");
    assert_eq!(run.episodes().unwrap().num_steps(), 80);

    let _ = std::fs::remove_dir_all(&run_dir);
}

#[test]
fn kept_models_outlive_later_checkpoints_and_open_like_one() {
    let run_dir = std::env::temp_dir().join(format!("rem-kept-models-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&run_dir);
    tiny_run(&run_dir, &[]);

    let names = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        names(&run_dir.join("checkpoints")),
        ["epoch-000002", "latest"]
    );
    assert_eq!(
        names(&run_dir.join("models")),
        ["epoch-000001", "epoch-000002"]
    );
    let models_and_state = [
        "actor_critic.bin",
        "actor_critic_optim.bin",
        "state.json",
        "tokenizer.bin",
        "world_model.bin",
    ];
    let kept = |epoch: usize| run_dir.join(format!("models/epoch-{epoch:06}"));
    assert_eq!(names(&kept(1)), models_and_state);

    // The last epoch's kept models are its checkpoint's, byte for byte; the tokenizer
    // trained in both epochs, so epoch 1's differs.
    let bytes = |dir: &Path, file: &str| std::fs::read(dir.join(file)).unwrap();
    for file in models_and_state {
        assert_eq!(
            bytes(&kept(2), file),
            bytes(&run_dir.join("checkpoints/epoch-000002"), file)
        );
    }
    assert_ne!(
        bytes(&kept(1), "tokenizer.bin"),
        bytes(&kept(2), "tokenizer.bin")
    );

    let run = SavedRun::<Flex>::open(&run_dir, Some(&kept(1)), &Default::default()).unwrap();
    assert_eq!(run.checkpoint.progress().unwrap().epoch, 1);
    assert_eq!(run.shapes.actor_critic.n_actions, 3);

    // The controller's optimiser state opens too; a folder kept before it was kept
    // there has none, which is not an error.
    let optimizer = |dir: &Path| {
        RunFolder::new(&run_dir)
            .checkpoint(Some(dir))
            .unwrap()
            .actor_critic_optimizer::<Autodiff<Flex>>(&Default::default())
            .unwrap()
    };
    assert!(optimizer(&kept(2)).is_some());
    std::fs::remove_file(kept(1).join("actor_critic_optim.bin")).unwrap();
    assert!(optimizer(&kept(1)).is_none());

    // `rem eval --kept` scores every kept epoch into RUN/epoch-N/, once for each
    // episode count; the last epoch's models were scored by the run's final evaluation.
    let listed: Vec<usize> = RunFolder::new(&run_dir)
        .kept_models()
        .unwrap()
        .into_iter()
        .map(|(epoch, _)| epoch)
        .collect();
    assert_eq!(listed, [1, 2]);
    let score_kept = |episodes: usize| {
        let output = Command::new(env!("CARGO_BIN_EXE_rem"))
            .args([
                "eval",
                "--kept",
                "--episodes",
                &episodes.to_string(),
                "--run",
            ])
            .arg(&run_dir)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let scored_episodes = |epoch: usize| {
        let eval = std::fs::read_to_string(run_dir.join(format!("epoch-{epoch}/eval.json")));
        let eval: serde_json::Value = serde_json::from_str(&eval.ok()?).unwrap();
        let scored = eval["checkpoint"].as_str().unwrap();
        assert!(
            scored.ends_with(&format!("models/epoch-{epoch:06}")),
            "{scored}"
        );
        eval["episodes"].as_u64()
    };
    // One episode: the final evaluation (eval.final_episodes = 1) has epoch 2's.
    let first = score_kept(1);
    assert!(first.contains("epoch    1: mean return"), "{first}");
    assert!(
        first.contains("epoch    2: scored by the run's own evaluation"),
        "{first}"
    );
    assert_eq!(scored_episodes(1), Some(1));
    assert_eq!(scored_episodes(2), None);
    // Two episodes: more than either had, so both are scored (epoch 1 again).
    let second = score_kept(2);
    for epoch in [1, 2] {
        assert_eq!(scored_episodes(epoch), Some(2));
        assert!(
            second.contains(&format!("epoch    {epoch}: mean return")),
            "{second}"
        );
    }
    let third = score_kept(2);
    for epoch in [1, 2] {
        assert!(
            third.contains(&format!("epoch    {epoch}: scored already")),
            "{third}"
        );
    }
    // `--epochs` scores the kept epochs named and no other, and refuses one not kept.
    let chosen = |epochs: &str| {
        Command::new(env!("CARGO_BIN_EXE_rem"))
            .args([
                "eval",
                "--kept",
                "--episodes",
                "3",
                "--epochs",
                epochs,
                "--run",
            ])
            .arg(&run_dir)
            .output()
            .unwrap()
    };
    let only_2 = chosen("2");
    assert!(only_2.status.success(), "{only_2:?}");
    let printed = String::from_utf8(only_2.stdout).unwrap();
    assert!(printed.contains("epoch    2: mean return"), "{printed}");
    assert!(!printed.contains("epoch    1"), "{printed}");
    assert_eq!((scored_episodes(1), scored_episodes(2)), (Some(2), Some(3)));
    let not_kept = chosen("1,5");
    assert!(!not_kept.status.success());
    let error = String::from_utf8(not_kept.stderr).unwrap();
    assert!(
        error.contains("the run kept no models of epoch 5 (kept: 1, 2)"),
        "{error}"
    );
    assert_eq!(
        scored_episodes(1),
        Some(2),
        "nothing scored before the refusal"
    );
    let _ = std::fs::remove_dir_all(&run_dir);
}

/// `rem eval --kept` plays every kept epoch on the same episodes, so an epoch whose
/// tokenizer and controller are an earlier one's gets that evaluation without playing
/// it again: the one that playing it gives.
#[test]
fn kept_models_that_act_alike_are_scored_once() {
    let run_dir = std::env::temp_dir().join(format!("rem-kept-alike-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&run_dir);
    // The tokenizer trains in epoch 1 only, the controller from epoch 3 on.
    let later_controller = [
        "collect.epochs=3",
        "collect.collect_until_epoch=3",
        "tokenizer.optim.stop_epoch=1",
        "actor_critic.optim.start_epoch=3",
    ];
    tiny_run(&run_dir, &later_controller);
    let kept = |epoch: usize| run_dir.join(format!("models/epoch-{epoch:06}"));
    let acts_like = |a: usize, b: usize| {
        let checkpoint = |epoch| Checkpoint::at(kept(epoch));
        checkpoint(a).acts_like(&checkpoint(b)).unwrap()
    };
    assert!(acts_like(1, 2));
    assert!(!acts_like(2, 3));
    let hash = |epoch| Checkpoint::at(kept(epoch)).policy_hash().unwrap();
    assert_eq!(hash(1), hash(2));
    assert_ne!(hash(2), hash(3));
    let eval = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_rem"))
            .args(["eval", "--episodes", "3", "--run"])
            .arg(&run_dir)
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let read = |folder: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(run_dir.join(folder).join("eval.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    };

    // At the run's temperature into RUN/epoch-N, at another into RUN/temperature-T/epoch-N.
    for (temperature, folder) in [("0.5", ""), ("1", "temperature-1/")] {
        let printed = eval(&["--kept", "--temperature", temperature]);
        let line = |epoch: usize| {
            let start = format!("epoch {epoch:>4}: mean return");
            let found = printed.lines().find(|l| l.starts_with(&start));
            found.unwrap_or_else(|| panic!("no line for epoch {epoch}: {printed}"))
        };
        assert!(!line(1).contains("epoch 1's"), "{printed}");
        let copied_note = "(epoch 1's: the same tokenizer and controller, byte for byte, \
                           on the same episodes)";
        assert!(line(2).ends_with(copied_note), "{printed}");
        let trained = "the controller trained in epoch 3";
        assert!(!line(3).contains("'s:"), "{trained}: {printed}");

        // Epoch 2's evaluation names its own models and is what playing them gives.
        let copied = read(&format!("{folder}epoch-2"));
        let named = copied["checkpoint"].as_str().unwrap();
        assert!(named.ends_with("models/epoch-000002"), "{named}");
        assert_eq!(copied["episodes"], 3);
        assert_eq!(copied["temperature"], temperature.parse::<f64>().unwrap());
        let played = format!("epoch-2-played-at-{temperature}");
        let kept_2 = kept(2).display().to_string();
        let out = run_dir.join(&played).display().to_string();
        eval(&[
            "--checkpoint",
            &kept_2,
            "--temperature",
            temperature,
            "--out",
            &out,
        ]);
        assert_eq!(read(&played)["returns"], copied["returns"]);
        assert_eq!(
            read(&format!("{folder}epoch-1"))["returns"],
            copied["returns"]
        );
    }
    let _ = std::fs::remove_dir_all(&run_dir);
}
