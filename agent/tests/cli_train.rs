//! The `rem` binary end to end on a tiny run: a run killed with SIGKILL, or stopped
//! by SIGTERM, and resumed writes the same metrics as an uninterrupted one and records
//! each start's provenance, and bad input gives a one-line error with a non-zero exit.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::*;
use rem_agent::config::RunConfig;
use rem_agent::run_folder::RunFolder;

/// Waits until the run in `run_dir` has logged `lines` epochs, still running.
fn wait_for_metric_lines(run_dir: &Path, child: &mut std::process::Child, lines: usize) {
    let started = Instant::now();
    while metric_lines(run_dir) < lines {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the run made no progress"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be stopped"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_run_told_to_stop_by_sigterm_checkpoints_its_epoch_and_resumes_to_the_same_metrics() {
    // Checkpoints every 5 epochs: a stop before epoch 5 writes one of its own. The
    // tokenizer's codes restart every 5 of its steps, which no stop after epoch 1-4 (2-8
    // steps) divides: the resumed run keeps the uninterrupted run's schedule.
    let mut sets = TINY.to_vec();
    sets.extend([
        "checkpoint.every_epochs=5",
        "tokenizer.restart_unused_codes_every=5",
    ]);
    let whole = temp_dir("term-whole");
    assert!(train_with(&whole, &sets).status().unwrap().success());

    let stopped = temp_dir("term-stopped");
    let mut child = train_with(&stopped, &sets)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_metric_lines(&stopped, &mut child, 1);
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    assert!(
        stderr.contains("stopped on request after epoch"),
        "{stderr}"
    );
    let epochs = metric_lines(&stopped);
    assert!((1..5).contains(&epochs), "stopped after epoch {epochs}");
    let latest = std::fs::read_to_string(stopped.join("checkpoints/latest")).unwrap();
    assert_eq!(
        latest.trim(),
        format!("epoch-{epochs:06}"),
        "the epoch it stopped after is checkpointed"
    );

    let out = rem()
        .args(["train", "--resume"])
        .arg(&stopped)
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(
        metrics_without_timings(&stopped),
        metrics_without_timings(&whole)
    );
    let _ = std::fs::remove_dir_all(&whole);
    let _ = std::fs::remove_dir_all(&stopped);
}

#[test]
fn a_killed_and_resumed_run_reproduces_the_uninterrupted_metrics() {
    // The tokenizer trains in epochs 1-2 only: the uninterrupted run then keeps its
    // frames' tokens from epoch 3 on, the resumed one encodes them afresh at epoch 5.
    let mut sets = TINY.to_vec();
    sets.push("tokenizer.optim.stop_epoch=2");
    let whole = temp_dir("whole");
    assert!(train_with(&whole, &sets).status().unwrap().success());

    let killed = temp_dir("killed");
    let mut child = train_with(&killed, &sets).spawn().unwrap();
    // Kill it after epoch 5: the checkpoint of epoch 4 exists, epoch 5 is lost.
    wait_for_metric_lines(&killed, &mut child, 5);
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let latest = std::fs::read_to_string(killed.join("checkpoints/latest")).unwrap();
    assert_eq!(latest.trim(), "epoch-000004");

    let status = rem()
        .args(["train", "--resume"])
        .arg(&killed)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let expected = metrics_without_timings(&whole);
    assert_eq!(expected.len(), 6);
    assert_eq!(metrics_without_timings(&killed), expected);
    assert!(whole.join("learning_curve.svg").exists());
    assert!(whole.join("losses.svg").exists());

    // Each start and resume left its provenance: the code of this binary, as
    // `rem --version` names it, and the command that ran.
    let version = rem().arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    let provenance = RunFolder::new(&killed).provenance().unwrap();
    assert_eq!(provenance.len(), 2);
    for (line, verb) in provenance.iter().zip(["--config", "--resume"]) {
        assert!(
            line.command.iter().any(|arg| arg == verb),
            "{:?}",
            line.command
        );
        assert!(
            version.ends_with(&format!("(code {})", line.code.short())),
            "{version}"
        );
        assert!(line.machine.cores >= 1 && line.machine.threads >= 1);
    }
    assert_eq!(RunFolder::new(&whole).provenance().unwrap().len(), 1);

    // What the agent imagines, as a picture: one row per rollout. Horizon 5 spans the
    // 2 context blocks and 3 imagined ones.
    let out = rem()
        .args(["dream", "--rollouts", "2", "--horizon", "5", "--run"])
        .arg(&whole)
        .output()
        .unwrap();
    assert_success(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("rollout")).count(),
        2
    );
    let png = std::fs::File::open(whole.join("dream.png")).unwrap();
    let reader = png::Decoder::new(std::io::BufReader::new(png))
        .read_info()
        .unwrap();
    // Two rows of 3 real and 3 imagined 64-pixel frames, 2-pixel gaps between them.
    let info = reader.info();
    assert_eq!((info.width, info.height), (6 * 66 - 2, 2 * 66 - 2));
    // The same seed dreams the same rollouts.
    let picture = std::fs::read(whole.join("dream.png")).unwrap();
    let again = rem()
        .args(["dream", "--rollouts", "2", "--horizon", "5", "--run"])
        .arg(&whole)
        .output()
        .unwrap();
    assert_eq!(again.stdout, out.stdout);
    assert_eq!(std::fs::read(whole.join("dream.png")).unwrap(), picture);

    // A damaged checkpoint is refused with a clear message, not a panic.
    let latest = std::fs::read_to_string(killed.join("checkpoints/latest")).unwrap();
    let checkpoint = killed.join("checkpoints").join(latest.trim());
    let models = checkpoint.join("world_model.bin");
    let mut bytes = std::fs::read(&models).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&models, bytes).unwrap();
    let out = rem().args(["eval", "--run"]).arg(&killed).output().unwrap();
    assert_one_line_error(&out, "damaged");

    let _ = std::fs::remove_dir_all(&whole);
    let _ = std::fs::remove_dir_all(&killed);
}

#[test]
fn a_non_finite_loss_stops_the_run_and_resuming_with_a_new_setting_continues() {
    let dir = temp_dir("non-finite");
    // The tokenizer starts at epoch 2, after the checkpoint of epoch 1, with a
    // learning rate that blows its weights up within the epoch's two steps.
    let mut sets = TINY.to_vec();
    sets.extend([
        "checkpoint.every_epochs=1",
        "tokenizer.optim.start_epoch=2",
        "tokenizer.optim.lr=1e30",
    ]);
    let mut command = train_with(&dir, &sets);
    let out = command.stderr(Stdio::piped()).output().unwrap();
    assert_one_line_error(&out, "tokenizer");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at epoch 2, step 2"), "{stderr}");
    assert!(stderr.contains("epoch-000001 is kept"), "{stderr}");
    let latest = std::fs::read_to_string(dir.join("checkpoints/latest")).unwrap();
    assert_eq!(
        latest.trim(),
        "epoch-000001",
        "the last good checkpoint stays the latest"
    );
    assert_eq!(metric_lines(&dir), 1, "the failed epoch logs nothing");

    let out = rem()
        .args(["train", "--resume"])
        .arg(&dir)
        .args(["--set", "tokenizer.optim.lr=1e-3"])
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(metric_lines(&dir), 6);
    let config: toml::Table = std::fs::read_to_string(dir.join("config.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        config["tokenizer"]["optim"]["lr"].as_float(),
        Some(1e-3),
        "the new setting is kept in the run's config"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_gives_a_one_line_error() {
    let dir = temp_dir("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let config = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let train = |path: &Path| {
        rem()
            .args(["train", "--config"])
            .arg(path)
            .arg("--run-dir")
            .arg(dir.join("run"))
            .output()
            .unwrap()
    };

    assert_one_line_error(
        &train(&config("typo.toml", "[collect]\nepochz = 3\n")),
        "epochz",
    );
    assert_one_line_error(&train(&config("type.toml", "seed = \"x\"\n")), "type.toml");
    assert_one_line_error(&train(&dir.join("missing.toml")), "missing.toml");
    let game = config("game.toml", "[env]\ngame = \"Pacman3000\"\n");
    assert_one_line_error(&train(&game), "unknown game");
    // Checked as the config loads: `--print-config` refuses it too.
    let printed = rem()
        .args(["train", "--print-config", "--config"])
        .arg(&game)
        .output()
        .unwrap();
    assert_one_line_error(&printed, "unknown game");
    // A run whose environment cannot start (no Python for the Atari worker) leaves no
    // folder behind, so that the same command works once the cause is mended.
    let atari = config(
        "atari.toml",
        "[env]\ngame = \"Pong\"\n[tokenizer]\nperceptual = \"none\"\n",
    );
    let no_python = rem()
        .env("REM_PYTHON", dir.join("no-python"))
        .args(["train", "--config"])
        .arg(&atari)
        .arg("--run-dir")
        .arg(dir.join("run"))
        .output()
        .unwrap();
    assert_one_line_error(&no_python, "no-python");
    assert!(
        !dir.join("run").exists(),
        "a run that could not start left its folder behind"
    );
    // The commands that open an existing run say what the folder lacks: it is not
    // there, or it holds no run.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    for (folder, why) in [
        (
            dir.join("nothing"),
            "nothing is not a run folder: no such folder",
        ),
        (empty, "empty is not a run folder: it has no config.toml"),
    ] {
        for command in [
            &["eval", "--run"][..],
            &["dream", "--run"],
            &["train", "--resume"],
        ] {
            let out = rem().args(command).arg(&folder).output().unwrap();
            assert_one_line_error(&out, why);
        }
    }
    let report = rem().arg("report").arg(dir.join("empty")).output().unwrap();
    assert_one_line_error(
        &report,
        "holds neither a run (config.toml) nor an evaluation",
    );
    let report = rem()
        .arg("report")
        .arg(dir.join("nothing"))
        .output()
        .unwrap();
    assert_one_line_error(&report, "nothing: no such folder");
    // A count of 0 is refused with its flag, before anything runs (clap's error and
    // its pointer to --help).
    for command in [
        &["play", "--episodes", "0"][..],
        &["bench", "imagine", "--iterations", "0"],
        &["bench", "imagine", "--batch", "0"],
        &["bench", "phases", "--actions", "0"],
    ] {
        let out = rem().args(command).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let flag = command[command.len() - 2];
        assert!(!out.status.success(), "{command:?}");
        assert!(
            stderr.starts_with(&format!("error: invalid value '0' for '{flag} "))
                && stderr.contains("must be at least 1"),
            "{stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn print_config_shows_the_resolved_config_and_starts_nothing() {
    let dir = temp_dir("print-config");
    std::fs::create_dir_all(&dir).unwrap();
    let out = rem()
        .args([
            "train",
            "--config",
            "runs/atari-cpu/Krull.toml",
            "--set",
            "seed=3",
        ])
        .arg("--run-dir")
        .arg(dir.join("run"))
        .arg("--print-config")
        .output()
        .unwrap();
    assert_success(&out);
    assert!(!dir.join("run").exists(), "no run folder is made");
    // What it prints loads back to the config the run would have used.
    let printed = dir.join("printed.toml");
    std::fs::write(&printed, &out.stdout).unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let expected =
        RunConfig::load(&repo.join("runs/atari-cpu/Krull.toml"), &["seed=3".into()]).unwrap();
    assert_eq!(RunConfig::load(&printed, &[]).unwrap(), expected);
    assert_eq!((expected.seed, expected.env.game.as_str()), (3, "Krull"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Frequencies of the actions stored in epoch 1 of a one-epoch run with `sets`.
fn first_epoch_action_frequencies(name: &str, sets: &[&str]) -> Vec<f64> {
    use rand::SeedableRng;
    use rem_envs::store::{EpisodeStore, Padding};

    let run_dir = temp_dir(name);
    let common = [
        "collect.epochs=1",
        "collect.collect_until_epoch=1",
        "collect.steps_per_epoch=300",
        "tokenizer.optim.start_epoch=2",
        "world_model.optim.start_epoch=2",
        "actor_critic.optim.start_epoch=2",
        "eval.final_episodes=1",
        "checkpoint.every_epochs=1",
    ];
    let all: Vec<&str> = common.iter().chain(sets).copied().collect();
    let status = train_with(&run_dir, &all).status().unwrap();
    assert!(status.success());
    let store = EpisodeStore::load(&run_dir.join("checkpoints/epoch-000001/store.bin")).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let draws = store
        .sample_segments(&mut rng, 3000, 1, Padding::Right, 1)
        .unwrap();
    let mut counts = [0.0; 3];
    for &action in &draws.actions {
        counts[action] += 1.0;
    }
    let _ = std::fs::remove_dir_all(&run_dir);
    counts.iter().map(|c| c / 3000.0).collect()
}

#[test]
fn random_collection_epochs_ignore_the_policy() {
    // A greedy untrained policy repeats itself; the same run with its first epoch
    // random takes every action about equally often.
    let greedy = ["collect.temperature=0", "collect.epsilon=0"];
    let policy = first_epoch_action_frequencies("greedy", &greedy);
    let mut random_sets = greedy.to_vec();
    random_sets.push("collect.random_until_epoch=1");
    let random = first_epoch_action_frequencies("random", &random_sets);
    assert!(
        policy.iter().cloned().fold(0.0, f64::max) > 0.6,
        "greedy policy frequencies {policy:?}"
    );
    for f in &random {
        assert!((0.25..0.42).contains(f), "random frequencies {random:?}");
    }
}

#[test]
fn the_random_policy_is_scored_with_the_evaluation_protocol() {
    let dir = temp_dir("random-eval");
    let eval = |out: &Path| random_catch_eval(40, out).output().unwrap();
    let read = |out: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join("eval.json")).unwrap()).unwrap()
    };
    let first = eval(&dir.join("a"));
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let report = read(&dir.join("a"));
    assert_eq!(report["game"], "catch");
    assert_eq!(report["checkpoint"], "random");
    assert_eq!(report["returns"].as_array().unwrap().len(), 40);
    // Random catch: -7.76 over 100 episodes (envs/README.md); a perfect policy +10.
    let mean = report["mean_return"].as_f64().unwrap();
    assert!((-9.5..-5.5).contains(&mean), "random catch mean {mean}");
    // Same seed, same episodes; only the provenance (its command's --out) differs.
    assert!(eval(&dir.join("b")).status.success());
    let scores = |mut report: serde_json::Value| {
        let provenance = report
            .as_object_mut()
            .unwrap()
            .remove("provenance")
            .unwrap();
        assert_eq!(provenance["command"][1], "eval");
        report
    };
    assert_eq!(scores(read(&dir.join("b"))), scores(report));

    let without_game = rem().args(["eval", "--policy", "random"]).output().unwrap();
    assert!(!without_game.status.success());
    assert!(String::from_utf8_lossy(&without_game.stderr).contains("--game"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn random_play_can_be_limited_to_named_actions() {
    let dir = temp_dir("random-actions");
    let eval = |out: &str, actions: Option<&str>| {
        let mut command = random_catch_eval(12, &dir.join(out));
        if let Some(actions) = actions {
            command.args(["--actions", actions]);
        }
        command.output().unwrap()
    };
    let read = |out: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(dir.join(out).join("eval.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    for (out, actions) in [("all", None), ("listed", Some("NOOP,LEFT,RIGHT"))] {
        let output = eval(out, actions);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // Every action listed in the game's order: the same draws as uniform play.
    let (all, listed) = (read("all"), read("listed"));
    assert_eq!(listed["returns"], all["returns"]);
    assert_eq!(listed["checkpoint"], "random over NOOP, LEFT, RIGHT");

    // One action only: the paddle rests on the left wall, with other returns.
    assert!(eval("left", Some("LEFT")).status.success());
    let left = read("left");
    assert_eq!(left["checkpoint"], "random over LEFT");
    assert_ne!(left["returns"], all["returns"]);

    let unknown = eval("unknown", Some("LEFT,JUMP"));
    assert!(!unknown.status.success());
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("no action \"JUMP\"") && stderr.contains("NOOP, LEFT, RIGHT"),
        "{stderr}"
    );
    let twice = eval("twice", Some("LEFT,LEFT"));
    assert!(String::from_utf8_lossy(&twice.stderr).contains("named twice"));
    let without_policy = rem().args(["eval", "--actions", "LEFT"]).output().unwrap();
    assert!(!without_policy.status.success());

    // Not a baseline: `rem report` refuses it, and says why.
    let report = rem().arg("report").arg(dir.join("left")).output().unwrap();
    assert!(!report.status.success());
    let stderr = String::from_utf8_lossy(&report.stderr);
    assert!(
        stderr.contains("random play over some actions is no baseline"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_evaluation_whose_reader_leaves_still_writes_its_results() {
    // `rem eval ... | head -1`: stdout is a pipe whose reader has gone before the
    // first line; the evaluation still finishes and writes eval.json.
    let dir = temp_dir("reader-leaves");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = random_catch_eval(5, &dir)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
    assert!(stderr.is_empty(), "{stderr}");
    let text = std::fs::read_to_string(dir.join("eval.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["returns"].as_array().unwrap().len(), 5);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_run_with_every_part_split_over_threads_repeats_exactly() {
    // Both cores busy with one run's shares, and with the other run alongside.
    let threads = [
        "tokenizer.threads=2",
        "world_model.threads=2",
        "actor_critic.threads=2",
    ];
    let sets: Vec<&str> = TINY.iter().chain(&threads).copied().collect();
    let (first, second) = (temp_dir("threads-a"), temp_dir("threads-b"));
    let mut runs = [&first, &second].map(|dir| train_with(dir, &sets).spawn().unwrap());
    for run in &mut runs {
        assert!(run.wait().unwrap().success());
    }
    let metrics = metrics_without_timings(&first);
    assert_eq!(metrics.len(), 6);
    assert!(metrics[5].get("actor_critic").is_some());
    assert_eq!(metrics_without_timings(&second), metrics);
    let _ = std::fs::remove_dir_all(&first);
    let _ = std::fs::remove_dir_all(&second);
}

/// Catch with one rewarded row in each world-model batch of two, under each
/// correction of the reward loss: every run trains, with finite losses, and the
/// corrections give three different reward terms from the first world-model epoch.
#[test]
fn each_correction_of_the_rewarded_rows_trains_and_changes_the_reward_term() {
    let reward_losses = ["none", "importance", "sign_shift"].map(|correction| {
        let dir = temp_dir(&format!("rewarded-rows-{correction}"));
        let setting = format!("world_model.rewarded_rows_correction={correction}");
        let mut sets: Vec<&str> = TINY.to_vec();
        sets.extend(["world_model.rewarded_rows=1", setting.as_str()]);
        assert_success(&train_with(&dir, &sets).output().unwrap());
        let losses: Vec<f64> = metrics_without_timings(&dir)
            .iter()
            .filter_map(|epoch| epoch["world_model"]["reward"].as_f64())
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(losses.len(), 5, "{correction}: world-model epochs 2-6");
        assert!(
            losses.iter().all(|l| l.is_finite()),
            "{correction}: {losses:?}"
        );
        losses
    });
    let [none, importance, shifted] = &reward_losses;
    assert_ne!(none[0], importance[0]);
    assert_ne!(none[0], shifted[0]);
    assert_ne!(importance[0], shifted[0]);
}

/// Catch with one recent row in each world-model batch of two: the run trains with
/// finite losses, and its world model sees other rows than the uniform run's from
/// its first epoch on.
#[test]
fn recent_rows_train_and_change_the_world_models_batches() {
    let world_losses = [
        &[][..],
        &["world_model.recent_rows=1", "world_model.recent_steps=20"][..],
    ]
    .map(|extra| {
        let dir = temp_dir(&format!("recent-rows-{}", extra.len()));
        let mut sets: Vec<&str> = TINY.to_vec();
        sets.extend(extra);
        assert_success(&train_with(&dir, &sets).output().unwrap());
        let losses: Vec<f64> = metrics_without_timings(&dir)
            .iter()
            .filter_map(|epoch| epoch["world_model"]["obs"].as_f64())
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(losses.len(), 5, "{extra:?}: world-model epochs 2-6");
        assert!(
            losses.iter().all(|l| l.is_finite()),
            "{extra:?}: {losses:?}"
        );
        losses
    });
    assert_ne!(world_losses[0][0], world_losses[1][0]);
}

#[test]
fn a_perceptual_term_is_logged_where_the_run_has_one() {
    let terms = ["none", "gradient"].map(|term| {
        let dir = temp_dir(&format!("perceptual-{term}"));
        let setting = format!("tokenizer.perceptual={term}");
        let mut sets: Vec<&str> = TINY.to_vec();
        sets.push(setting.as_str());
        assert_success(&train_with(&dir, &sets).output().unwrap());
        let metrics = metrics_without_timings(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        let epoch = metrics
            .iter()
            .find(|epoch| epoch.get("tokenizer").is_some())
            .expect("a tokenizer epoch");
        epoch["tokenizer"]["perceptual"].as_f64()
    });
    assert_eq!(terms[0], None, "no term, no key");
    let gradient = terms[1].expect("the gradient term is logged");
    assert!(gradient > 0.0 && gradient.is_finite(), "{gradient}");
}

/// The CPU Atari runs' model sizes and batches (`runs/atari-cpu/UpNDown.toml`, on
/// catch and with TINY's schedule but not its batches), run once on one rayon thread
/// and once on two: the matrix products and our kernels split their work over the
/// pool, and the metrics must not depend on its size.
#[test]
fn a_run_writes_the_same_metrics_on_one_rayon_thread_and_on_two() {
    let mut sets = vec!["env.game=catch"];
    sets.extend(TINY.iter().filter(|item| !item.contains(".batch=")));
    let run_on = |threads: &str| {
        let dir = temp_dir(&format!("rayon-{threads}"));
        let mut command = train_config("runs/atari-cpu/UpNDown.toml", &dir, &sets);
        command
            .env("RAYON_NUM_THREADS", threads)
            .stderr(Stdio::piped());
        assert_success(&command.output().unwrap());
        let metrics = metrics_without_timings(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        metrics
    };
    let one = run_on("1");
    assert!(one[5].get("actor_critic").is_some());
    assert_eq!(run_on("2"), one);
}

#[test]
fn another_checkpoint_or_temperature_is_scored_in_a_folder_of_its_own() {
    let dir = temp_dir("eval-out");
    let run = dir.join("run");
    train_keeping_models(&run);
    let kept = |epoch: usize| run.join(format!("models/epoch-{epoch:06}"));
    let eval = |extra: &[&str]| {
        rem()
            .args(["eval", "--episodes", "2", "--run"])
            .arg(&run)
            .args(extra)
            .output()
            .unwrap()
    };
    let read = |folder: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(folder.join("eval.json")).unwrap()).unwrap()
    };

    // The run folder's eval.json is the run's score: nothing else may go there.
    let kept_2 = kept(2).display().to_string();
    assert_one_line_error(&eval(&["--checkpoint", &kept_2]), "--out");
    assert_one_line_error(&eval(&["--temperature", "1"]), "--out");
    assert!(!run.join("eval.json").exists());
    let other_run = dir.join("other-run");
    std::fs::create_dir_all(&other_run).unwrap();
    std::fs::copy(run.join("config.toml"), other_run.join("config.toml")).unwrap();
    let into_other_run = eval(&["--out", &other_run.display().to_string()]);
    assert_one_line_error(&into_other_run, "holds a run");

    let out = dir.join("epoch-2-at-1");
    let args = ["--checkpoint", &kept_2, "--temperature", "1", "--out"];
    let output = eval(&[&args[..], &[&out.display().to_string()]].concat());
    assert!(output.status.success(), "{output:?}");
    let scored = read(&out);
    assert_eq!(scored["checkpoint"], kept_2.as_str());
    assert_eq!(scored["temperature"], 1.0);
    assert!(!run.join("eval.json").exists());

    // The run's own score; the last epoch's kept models score the same episodes.
    assert!(eval(&[]).status.success());
    let own = read(&run);
    assert_eq!(own["temperature"], 0.5);
    let last = dir.join("epoch-6");
    let kept_6 = kept(6).display().to_string();
    let output = eval(&[
        "--checkpoint",
        &kept_6,
        "--out",
        &last.display().to_string(),
    ]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(read(&last)["returns"], own["returns"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Trains a tiny catch run in `run` that keeps its models every second epoch (2, 4
/// and 6).
fn train_keeping_models(run: &Path) {
    let mut sets = TINY.to_vec();
    sets.push("checkpoint.keep_models_every_epochs=2");
    assert!(train_with(run, &sets).status().unwrap().success());
}

#[test]
fn ratings_pair_each_kept_controller_with_the_initial_one_in_each_world_model() {
    let run = temp_dir("ratings");
    train_keeping_models(&run);
    let ratings = |extra: &[&str]| {
        rem()
            .args(["ratings", "--rollouts", "8", "--run"])
            .arg(&run)
            .args(extra)
            .output()
            .unwrap()
    };
    let output = ratings(&[]);
    assert_success(&output);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    // The reference: the last model kept before the controller's first step (epoch 3).
    assert!(
        stdout.contains("minus that of epoch 2's controller"),
        "{stdout}"
    );
    // A row's cells: controller, score, world models 2, 4 and 6, its own epoch's.
    let cells_in = |printed: &str, epoch: usize| -> Vec<String> {
        let row = printed
            .lines()
            .find(|l| l.starts_with(&format!("epoch {epoch} ")));
        let row = row.unwrap_or_else(|| panic!("no row for epoch {epoch} in {printed}"));
        row.split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect()
    };
    let cells = |epoch: usize| cells_in(&stdout, epoch);
    let itself = "+0.00000 [+0.00000, +0.00000]";
    assert_eq!(cells(2)[2..], [itself, itself, itself, itself]);
    let fourth = cells(4);
    assert_eq!(fourth.len(), 6, "{fourth:?}");
    assert_eq!(
        fourth[3], fourth[5],
        "its own epoch's world model is world model 4"
    );
    // A cell is `rem dream --versus` of that pair: the same starts, the same draws.
    let kept = |epoch: usize| run.join(format!("models/epoch-{epoch:06}"));
    let dream = |extra: Vec<std::ffi::OsString>| -> String {
        let output = rem()
            .args(["dream", "--rollouts", "8", "--horizon", "6", "--run"])
            .arg(&run)
            .arg("--out")
            .arg(run.join("pair.png"))
            .args(extra)
            .output()
            .unwrap();
        assert_success(&output);
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let paired = |stdout: String| -> String {
        let line = stdout
            .lines()
            .find(|l| l.starts_with("difference"))
            .unwrap();
        line.rsplit(": ").next().unwrap().to_string()
    };
    let pair = dream(vec![
        "--expected-outcomes".into(),
        "--checkpoint".into(),
        kept(6).into(),
        "--controller".into(),
        kept(4).into(),
        "--versus".into(),
        kept(2).into(),
    ]);
    assert_eq!(paired(pair), format!("{} over 8 rollouts", fourth[4]));
    // The checkpoint's own controller against the same controller loaded from its kept
    // folder: the same draws, so no difference.
    assert_eq!(
        paired(dream(vec!["--versus".into(), kept(6).into()])),
        "+0.00000 [+0.00000, +0.00000] over 8 rollouts"
    );
    let figure = std::fs::read_to_string(run.join("ratings.svg")).unwrap();
    assert!(figure.contains("in the game") && figure.contains("in imagination"));
    assert_eq!(
        figure.matches("epoch 2&apos;s controller").count()
            + figure.matches("epoch 2's controller").count(),
        2,
        "the reference's line in both panels"
    );

    // --redraw prints the same from ratings.json without imagining, and reads the
    // game scores anew: epoch 4 scored with 3 episodes by `rem eval --kept`.
    let redraw = || {
        let output = rem()
            .args(["ratings", "--redraw", "--run"])
            .arg(&run)
            .output()
            .unwrap();
        assert_success(&output);
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert_eq!(redraw(), stdout);
    let scored = rem()
        .args([
            "eval",
            "--kept",
            "--epochs",
            "4",
            "--episodes",
            "3",
            "--run",
        ])
        .arg(&run)
        .output()
        .unwrap();
    assert_success(&scored);
    let again = cells_in(&redraw(), 4);
    assert!(again[1].ends_with("(3)"), "{again:?}");
    assert_eq!(again[2..], fourth[2..], "the same ratings");

    // An epoch the run did not keep is refused, naming it.
    assert_one_line_error(&ratings(&["--worlds", "5"]), "no models of epoch 5");
    let none = rem()
        .args(["ratings", "--rollouts", "0", "--run"])
        .arg(&run)
        .output()
        .unwrap();
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("must be at least 1"));
    let _ = std::fs::remove_dir_all(&run);
}

#[test]
fn a_kept_model_folder_can_be_dreamt() {
    // Kept folders hold only the models: the rollouts start from the episodes of
    // the latest checkpoint.
    let run = temp_dir("dream-kept");
    train_keeping_models(&run);
    let kept = run.join("models/epoch-000004");
    assert!(!kept.join("store.bin").exists());
    let out = run.join("kept.png");
    let output = rem()
        .args(["dream", "--rollouts", "2", "--horizon", "5", "--run"])
        .arg(&run)
        .arg("--checkpoint")
        .arg(&kept)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_success(&output);
    assert!(out.exists());

    // Another checkpoint's controller acts in the dreamt world model: that of the last
    // kept folder is the latest checkpoint's own, so the same seed dreams the same.
    let dream = |extra: &[&str]| {
        rem()
            .args(["dream", "--rollouts", "4", "--horizon", "5", "--run"])
            .arg(&run)
            .arg("--out")
            .arg(run.join("controller.png"))
            .args(extra)
            .output()
            .unwrap()
    };
    let own = dream(&[]);
    assert_success(&own);
    let last_kept = run.join("models/epoch-000006").display().to_string();
    let kept_controller = dream(&["--controller", &last_kept]);
    assert_success(&kept_controller);
    assert_eq!(own.stdout, kept_controller.stdout);
    let stdout = String::from_utf8_lossy(&own.stdout);
    assert!(
        stdout.contains("imagined return per rollout") && stdout.contains("over 4 rollouts"),
        "{stdout}"
    );
    // The world model's expected rewards and ends, as the actor-critic trains on them.
    let expected = dream(&["--expected-outcomes", "--controller", &last_kept]);
    assert_success(&expected);
    let stdout = String::from_utf8_lossy(&expected.stdout);
    assert!(stdout.contains("(expected rewards"), "{stdout}");
    let missing = run.join("models/epoch-000099").display().to_string();
    assert_one_line_error(&dream(&["--controller", &missing]), "epoch-000099");

    // A second controller in the same rollouts: its return is what it imagines acting
    // alone with the same seed, and the difference is paired by rollout.
    let returns_line = |output: &std::process::Output, prefix: &str| -> String {
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let line = stdout.lines().find(|l| l.starts_with(prefix));
        let line = line.unwrap_or_else(|| panic!("no line {prefix:?} in {stdout}"));
        line.rsplit(": ").next().unwrap().to_string()
    };
    let first_kept = run.join("models/epoch-000002").display().to_string();
    let alone = dream(&["--controller", &first_kept]);
    assert_success(&alone);
    let paired = dream(&["--versus", &first_kept]);
    assert_success(&paired);
    assert_eq!(
        returns_line(&paired, "with the controller of"),
        returns_line(&alone, "imagined return per rollout")
    );
    assert_eq!(
        returns_line(&paired, "imagined return per rollout"),
        returns_line(&own, "imagined return per rollout")
    );
    let itself = dream(&["--versus", &last_kept]);
    assert_success(&itself);
    assert_eq!(
        returns_line(&itself, "difference"),
        "+0.00000 [+0.00000, +0.00000] over 4 rollouts"
    );

    // Nothing to draw is refused with a reason, not a panic.
    let none_shown = rem()
        .args(["dream", "--show", "0", "--run"])
        .arg(&run)
        .output()
        .unwrap();
    assert_eq!(none_shown.status.code(), Some(1), "{none_shown:?}");
    let stderr = String::from_utf8_lossy(&none_shown.stderr);
    assert!(
        stderr.contains("at least one rollout must be shown"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&run);
}
