//! Run configurations: defaults from the spec, files over them, overrides last,
//! and a clear error for every mistake.

use std::path::PathBuf;

use rem_agent::config::{RewardedRowsCorrection, RunConfig};
use rem_agent::training::collect::PolicyState;

fn write(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rem-config-test-{}", std::process::id()));
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn an_empty_file_gives_the_spec_defaults() {
    let config = RunConfig::load(&write("empty.toml", ""), &[]).unwrap();
    assert_eq!(config, RunConfig::default());
    // The spec's values (docs/algorithm.md), pinned here once.
    let (t, w, a) = (&config.tokenizer, &config.world_model, &config.actor_critic);
    assert_eq!((t.vocab, t.embed_dim, t.base_channels), (512, 256, 32));
    assert_eq!(
        (t.optim.lr, t.optim.weight_decay, t.optim.grad_clip),
        (1e-4, 0.01, 10.0)
    );
    assert_eq!(
        (t.optim.batch, t.optim.steps_per_epoch, t.optim.start_epoch),
        (128, 200, 6)
    );
    assert_eq!((w.layers, w.heads, w.ffn, w.dropout), (5, 4, 1024, 0.1));
    assert_eq!((w.seq_blocks, w.context_blocks, w.chunk_blocks), (10, 2, 3));
    assert_eq!(
        (w.rewarded_rows, w.rewarded_rows_correction),
        (0, RewardedRowsCorrection::None),
        "every world-model segment drawn uniformly"
    );
    assert_eq!(w.recent_rows, 0, "no recent rows");
    assert_eq!(
        (w.optim.lr, w.optim.weight_decay, w.optim.grad_clip),
        (2e-4, 0.05, 100.0)
    );
    assert_eq!(
        (w.optim.batch, w.optim.steps_per_epoch, w.optim.start_epoch),
        (64, 200, 26)
    );
    assert_eq!((a.conv1, a.conv2, a.hidden, a.lstm), (128, 64, 512, 512));
    assert_eq!((a.burn_in, a.horizon), (20, 10));
    // A deliberate difference: REM's burn-in observes only (docs/deviations.md).
    assert!(a.burn_in_feeds_actions);
    assert_eq!((a.gamma, a.lambda, a.entropy_weight), (0.995, 0.95, 0.001));
    assert_eq!(
        (
            a.world_temperature,
            a.standardize_input,
            a.expected_outcomes
        ),
        (1.0, false, false)
    );
    assert_eq!(
        (a.optim.lr, a.optim.weight_decay, a.optim.grad_clip),
        (1e-4, 0.01, 3.0)
    );
    assert_eq!(
        (a.optim.batch, a.optim.steps_per_epoch, a.optim.start_epoch),
        (128, 100, 51)
    );
    let c = &config.collect;
    assert_eq!(
        (c.epochs, c.collect_until_epoch, c.steps_per_epoch),
        (600, 500, 200)
    );
    assert_eq!(
        (c.temperature, c.epsilon, c.random_until_epoch, c.envs),
        (1.0, 0.01, 0, 1)
    );
    // A deliberate difference: REM's collector rebuilds it (docs/deviations.md).
    assert_eq!(c.policy_state, PolicyState::Carried);
    let e = &config.eval;
    assert_eq!(
        (e.every_epochs, e.episodes, e.final_episodes, e.temperature),
        (10, 16, 100, 0.5)
    );
}

#[test]
fn a_partial_section_keeps_the_other_defaults() {
    let path = write("partial.toml", "[world_model.optim]\nlr = 5e-4\n");
    let config = RunConfig::load(&path, &[]).unwrap();
    assert_eq!(config.world_model.optim.lr, 5e-4);
    assert_eq!(config.world_model.optim.batch, 64);
}

#[test]
fn an_unknown_key_is_an_error_naming_key_and_file() {
    let path = write("typo.toml", "[tokenizer]\nvocabb = 3\n");
    let error = RunConfig::load(&path, &[]).unwrap_err().to_string();
    assert!(
        error.contains("vocabb") && error.contains("typo.toml"),
        "{error}"
    );
}

#[test]
fn a_wrong_type_is_an_error() {
    let path = write("type.toml", "seed = \"zero\"\n");
    let error = RunConfig::load(&path, &[]).unwrap_err().to_string();
    assert!(error.contains("type.toml"), "{error}");
}

#[test]
fn overrides_apply_last_and_unknown_ones_fail() {
    let path = write("base.toml", "seed = 3\n");
    let config = RunConfig::load(&path, &["seed=7".into(), "env.game=catch".into()]).unwrap();
    assert_eq!((config.seed, config.env.game.as_str()), (7, "catch"));
    let error = RunConfig::load(&path, &["tokenizer.lrr=1".into()])
        .unwrap_err()
        .to_string();
    assert!(error.contains("lrr"), "{error}");
}

#[test]
fn a_file_starts_from_its_base_and_sets_keys_over_it() {
    // Paths are relative to the file that names them, through a chain of two.
    write(
        "root.toml",
        "seed = 1\n[world_model]\nlayers = 3\nheads = 1\n",
    );
    write(
        "games/middle.toml",
        "base = \"../root.toml\"\n[world_model]\nlayers = 2\n",
    );
    let top = write(
        "games/top.toml",
        "base = \"middle.toml\"\n[env]\ngame = \"bricks\"\n",
    );
    let config = RunConfig::load(&top, &["seed=4".into()]).unwrap();
    assert_eq!(config.env.game, "bricks");
    assert_eq!(
        (config.world_model.layers, config.world_model.heads),
        (2, 1)
    );
    assert_eq!(config.seed, 4, "overrides still come last");
    assert_eq!(config.world_model.ffn, RunConfig::default().world_model.ffn);
}

#[test]
fn a_missing_looping_or_misspelt_base_is_an_error_naming_the_file() {
    let missing = write("orphan.toml", "base = \"nowhere.toml\"\n");
    let error = format!("{:#}", RunConfig::load(&missing, &[]).unwrap_err());
    assert!(
        error.contains("orphan.toml") && error.contains("nowhere.toml"),
        "{error}"
    );
    write("loop-a.toml", "base = \"loop-b.toml\"\n");
    let b = write("loop-b.toml", "base = \"loop-a.toml\"\n");
    let error = format!("{:#}", RunConfig::load(&b, &[]).unwrap_err());
    assert!(error.contains("loop"), "{error}");
    let itself = write("itself.toml", "base = \"itself.toml\"\n");
    let error = format!("{:#}", RunConfig::load(&itself, &[]).unwrap_err());
    assert!(error.contains("loop"), "{error}");
    let number = write("number.toml", "base = 3\n");
    let error = format!("{:#}", RunConfig::load(&number, &[]).unwrap_err());
    assert!(
        error.contains("number.toml") && error.contains("base"),
        "{error}"
    );
    // A base key inside a section is an unknown key like any other.
    let nested = write("nested.toml", "[env]\nbase = \"root.toml\"\n");
    let error = format!("{:#}", RunConfig::load(&nested, &[]).unwrap_err());
    assert!(error.contains("base"), "{error}");
}

#[test]
fn the_committed_run_configs_load() {
    let runs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../runs");
    let config = RunConfig::load(&runs.join("catch.toml"), &[]).unwrap();
    assert_eq!(config.env.game, "catch");
    let mut atari = 0;
    for entry in std::fs::read_dir(runs.join("atari100k")).unwrap() {
        let path = entry.unwrap().path();
        let config = RunConfig::load(&path, &[]).unwrap();
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        assert_eq!(config.env.game, stem);
        assert_eq!(
            config.collect,
            RunConfig::default().collect,
            "{stem} keeps the spec schedule"
        );
        rem_envs::atari::AtariGame::find(&config.env.game).unwrap();
        atari += 1;
    }
    assert_eq!(atari, 26);
    let upndown = RunConfig::load(&runs.join("atari-cpu/UpNDown.toml"), &[]).unwrap();
    let mut atari_cpu = 0;
    for entry in std::fs::read_dir(runs.join("atari-cpu")).unwrap() {
        let path = entry.unwrap().path();
        let config = RunConfig::load(&path, &[]).unwrap();
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        assert_eq!(config.env.game, stem);
        let spec = RunConfig::default();
        assert_eq!(
            (config.eval.temperature, config.collect.epsilon),
            (spec.eval.temperature, spec.collect.epsilon),
            "{stem} keeps the spec's protocol"
        );
        // One setting for every game, so that their scores compare.
        let mut settings = config.clone();
        settings.env.game = upndown.env.game.clone();
        assert_eq!(
            settings, upndown,
            "{stem} differs from UpNDown.toml beyond its game"
        );
        atari_cpu += 1;
    }
    // Every Atari-100K game has its CPU-sized file.
    assert_eq!(atari_cpu, atari);
}

#[test]
fn a_part_trains_from_its_start_epoch_to_its_stop_epoch() {
    let path = write(
        "stop.toml",
        "[tokenizer.optim]\nstart_epoch = 2\nstop_epoch = 4\n",
    );
    let optim = RunConfig::load(&path, &[]).unwrap().tokenizer.optim;
    let epochs: Vec<usize> = (1..=6).filter(|&e| optim.trains_in(e)).collect();
    assert_eq!(epochs, [2, 3, 4]);
    // Unset, a part trains to the end, and the resolved config does not mention it.
    let spec = RunConfig::default();
    assert!(spec.world_model.optim.trains_in(600));
    assert!(!spec.to_toml().contains("stop_epoch"));
}

#[test]
fn the_model_shapes_come_from_the_config() {
    use burn::backend::Flex;
    use burn::module::Module;
    use rem_agent::actor_critic::ActorCriticConfig;
    use rem_agent::models::ModelShapes;

    let path = write(
        "controller.toml",
        "[tokenizer]\nembed_dim = 16\n[actor_critic]\nconv1 = 12\nconv2 = 6\nhidden = 20\nlstm = 10\n",
    );
    let config = RunConfig::load(&path, &["world_model.chunk_blocks=1".to_string()]).unwrap();
    let shapes = ModelShapes::from_config(&config, 3).unwrap();
    assert_eq!(shapes.world_model.chunk_blocks, 1);
    let a = &shapes.actor_critic;
    assert_eq!((a.conv1, a.conv2, a.hidden, a.lstm), (12, 6, 20, 10));
    let built = a.init::<Flex>(&Default::default()).unwrap().num_params();
    let expected = ActorCriticConfig::new(3)
        .with_embed_dim(16)
        .with_conv1(12)
        .with_conv2(6)
        .with_hidden(20)
        .with_lstm(10)
        .init::<Flex>(&Default::default())
        .unwrap()
        .num_params();
    assert_eq!(built, expected);
}

#[test]
fn the_tokenizers_perceptual_term_is_a_setting_lpips_by_default() {
    use rem_agent::models::ModelShapes;
    use rem_worldmodel::tokenizer::PerceptualLoss;

    let perceptual = |sets: &[&str]| {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        let config = RunConfig::spec(&sets)?;
        anyhow::Ok(ModelShapes::from_config(&config, 3)?.tokenizer.perceptual)
    };
    assert_eq!(perceptual(&[]).unwrap(), PerceptualLoss::Lpips);
    let gradient = perceptual(&["tokenizer.perceptual=gradient"]).unwrap();
    assert_eq!(gradient, PerceptualLoss::Gradient);
    let none = perceptual(&["tokenizer.perceptual=none"]).unwrap();
    assert_eq!(none, PerceptualLoss::None);
    let error = perceptual(&["tokenizer.perceptual=\"vgg\""]).unwrap_err();
    let error = format!("{error:#}");
    assert!(
        error.contains("lpips")
            && error.contains("gradient")
            && error.contains("tokenizer.perceptual"),
        "{error}"
    );

    // The weights are read when training starts, with the way to get them; the
    // models themselves build and encode without them.
    let sets = ["tokenizer.lpips_weights=\"no/such/file\"".to_string()];
    let config = RunConfig::spec(&sets).unwrap();
    let shapes = ModelShapes::from_config(&config, 3).unwrap();
    type Train = burn::backend::Autodiff<burn::backend::Flex>;
    let error = rem_agent::learner::Learner::<Train>::new(&config, &shapes, &Default::default())
        .err()
        .expect("no weights, no training");
    assert!(
        format!("{error:#}").contains("scripts/lpips_weights.py"),
        "{error:#}"
    );
}

/// The config.toml of a committed run folder written before `key` existed, loaded.
fn written_before(run: &str, key: &str) -> RunConfig {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = root
        .join("docs/results/atari-cpu")
        .join(run)
        .join("config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(key), "{} has {key}", path.display());
    RunConfig::load_written(&path, &[]).unwrap()
}

#[test]
fn a_run_written_before_lpips_keeps_no_perceptual_term() {
    use rem_worldmodel::tokenizer::PerceptualLoss;
    let config = written_before("alien-seed0", "perceptual");
    assert_eq!(config.tokenizer.perceptual, PerceptualLoss::None);
    // A run file without the key takes the spec's term; a written one keeps its own.
    let file = write("no-perceptual.toml", "[tokenizer]\nembed_dim = 16\n");
    let spec = RunConfig::load(&file, &[]).unwrap();
    assert_eq!(spec.tokenizer.perceptual, PerceptualLoss::Lpips);
    let written = write("written.toml", &spec.to_toml());
    let again = RunConfig::load_written(&written, &[]).unwrap();
    assert_eq!(again.tokenizer.perceptual, PerceptualLoss::Lpips);
}

#[test]
fn a_run_written_before_the_chunk_length_key_trained_on_chunks_of_3_blocks() {
    let config = written_before("mspacman-seed4", "chunk_blocks");
    assert_eq!(config.world_model.chunk_blocks, 3);
}

#[test]
fn a_run_written_before_recent_rows_draws_every_world_model_row_uniformly() {
    let config = written_before("upndown-seed10-keep2", "recent_rows");
    assert_eq!(config.world_model.recent_rows, 0);
}

#[test]
fn a_horizon_past_the_world_models_training_length_is_refused() {
    let path = write("long.toml", "[actor_critic]\nhorizon = 11\n");
    let error = RunConfig::load(&path, &[]).unwrap_err();
    assert!(
        format!("{error:#}").contains("exceeds world_model.seq_blocks 10"),
        "{error:#}"
    );
    let path = write("short.toml", "[actor_critic]\nhorizon = 2\n");
    let error = RunConfig::load(&path, &[]).unwrap_err();
    assert!(format!("{error:#}").contains("context"), "{error:#}");
    let path = write(
        "fits.toml",
        "[actor_critic]\nhorizon = 6\n[world_model]\nseq_blocks = 6\n",
    );
    assert!(RunConfig::load(&path, &[]).is_ok());
}

#[test]
fn sampling_discount_and_device_settings_are_checked_at_load() {
    let path = write("checked.toml", "");
    let refused = |set: &str, needle: &str| {
        let error = RunConfig::load(&path, &[set.to_string()]).unwrap_err();
        let text = format!("{error:#}");
        assert!(
            text.contains(needle) && text.contains("checked.toml"),
            "--set {set}: {text}"
        );
    };
    refused(
        "eval.temperature=-1",
        "eval: temperature must be finite and non-negative",
    );
    refused("collect.temperature=nan", "collect: temperature");
    refused("collect.epsilon=1.5", "collect: epsilon must lie in [0, 1]");
    refused(
        "actor_critic.gamma=1.5",
        "actor_critic: gamma must lie in [0, 1]",
    );
    refused(
        "actor_critic.lambda=-0.1",
        "actor_critic: lambda must lie in [0, 1]",
    );
    refused(
        "world_model.chunk_blocks=0",
        "world_model.chunk_blocks must be at least 1",
    );
    // Values that would train, silently wrong, or stop only at their first use.
    refused(
        "actor_critic.optim.lr=-1e-4",
        "actor_critic.optim: lr must be finite and positive, got -0.0001",
    );
    refused(
        "tokenizer.optim.lr=inf",
        "tokenizer.optim: lr must be finite",
    );
    refused(
        "world_model.optim.weight_decay=-0.05",
        "world_model.optim: weight_decay must be finite and non-negative",
    );
    refused(
        "tokenizer.optim.grad_clip=0",
        "tokenizer.optim: grad_clip (the gradients' largest global norm) must be finite and positive",
    );
    refused(
        "world_model.optim.batch=0",
        "world_model.optim: batch must be at least 1",
    );
    for key in [
        "collect.envs",
        "collect.steps_per_epoch",
        "eval.episodes",
        "eval.final_episodes",
        "store.max_mib",
        "world_model.recent_steps",
    ] {
        refused(&format!("{key}=0"), &format!("{key} must be at least 1"));
    }
    refused(
        "actor_critic.entropy_weight=nan",
        "actor_critic.entropy_weight must be finite and non-negative, got NaN",
    );
    refused(
        "world_model.rewarded_rows=65",
        "world_model.rewarded_rows (65) exceeds world_model.optim.batch (64)",
    );
    refused(
        "world_model.recent_rows=65",
        "world_model.recent_rows (65) exceeds world_model.optim.batch (64)",
    );
    let both = RunConfig::load(
        &path,
        &[
            "world_model.recent_rows=2".to_string(),
            "world_model.rewarded_rows=2".to_string(),
        ],
    );
    let error = format!("{:#}", both.unwrap_err());
    assert!(error.contains("cannot both be set"), "{error}");
    refused(
        "world_model.rewarded_rows_correction=weights",
        "unknown variant `weights`, expected one of `none`, `importance`, `sign_shift`",
    );
    let rows = |rows: usize, correction: &str| {
        RunConfig::load(
            &path,
            &[
                format!("world_model.rewarded_rows={rows}"),
                format!("world_model.rewarded_rows_correction={correction}"),
            ],
        )
    };
    let error = format!("{:#}", rows(64, "importance").unwrap_err());
    assert!(error.contains("needs uniform rows"), "{error}");
    let shifted = rows(64, "sign_shift").unwrap();
    assert_eq!(
        shifted.world_model.rewarded_rows_correction,
        RewardedRowsCorrection::SignShift
    );
    assert!(rows(63, "importance").is_ok());
    refused(
        "device=\"gpu\"",
        "unknown variant `gpu`, expected `cpu` or `cuda`",
    );

    refused(
        "collect.policy_state=kept",
        "unknown variant `kept`, expected `carried` or `rebuilt`",
    );
    let rebuilt = RunConfig::load(&path, &["collect.policy_state=rebuilt".to_string()]).unwrap();
    assert_eq!(rebuilt.collect.policy_state, PolicyState::Rebuilt);

    let cuda = RunConfig::load(&path, &["device=\"cuda\"".to_string()]).unwrap();
    assert_eq!(cuda.device, rem_agent::config::Device::Cuda);
    assert!(cuda.to_toml().contains("device = \"cuda\""));
}

#[test]
fn the_spec_config_takes_overrides_and_checks_them() {
    assert_eq!(RunConfig::spec(&[]).unwrap(), RunConfig::default());
    let set = |s: &str| vec![s.to_string()];
    let small = RunConfig::spec(&set("world_model.optim.batch=8")).unwrap();
    assert_eq!(small.world_model.optim.batch, 8);
    let error = RunConfig::spec(&set("eval.temperature=-1")).unwrap_err();
    assert!(
        format!("{error:#}").contains("the spec's config"),
        "{error:#}"
    );
}

#[test]
fn training_threads_are_checked_at_load() {
    for part in ["tokenizer", "world_model"] {
        let path = write("threads.toml", &format!("[{part}]\nthreads = 0\n"));
        let error = format!("{:#}", RunConfig::load(&path, &[]).unwrap_err());
        let expected = format!("{part}.threads must be at least 1");
        assert!(error.contains(&expected), "{error}");
    }
    // With the spec's dropout too: each share of a batch draws its own masks.
    let path = write("threads.toml", "[world_model]\nthreads = 2\n");
    assert_eq!(RunConfig::load(&path, &[]).unwrap().world_model.threads, 2);
}
