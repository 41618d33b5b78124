//! What the tests of the `rem` binary share: a tiny run's settings, the binary, run
//! folders' metrics, and checks of its exits.
#![allow(dead_code)] // each test binary uses its own part

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const TINY: &[&str] = &[
    "collect.epochs=6",
    "collect.collect_until_epoch=6",
    "collect.steps_per_epoch=40",
    "collect.random_until_epoch=0",
    "tokenizer.optim.start_epoch=1",
    "tokenizer.optim.steps_per_epoch=2",
    "tokenizer.optim.batch=4",
    "world_model.optim.start_epoch=2",
    "world_model.optim.steps_per_epoch=2",
    "world_model.optim.batch=2",
    "actor_critic.optim.start_epoch=3",
    "actor_critic.optim.steps_per_epoch=2",
    "actor_critic.optim.batch=2",
    "eval.every_epochs=2",
    "eval.episodes=2",
    "eval.final_episodes=2",
    "checkpoint.every_epochs=2",
];

pub fn rem() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rem"));
    command.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    command
}

/// `rem train` on runs/catch.toml with `sets` as overrides, quiet.
pub fn train_with(run_dir: &Path, sets: &[&str]) -> Command {
    train_config("runs/catch.toml", run_dir, sets)
}

/// `rem train` on `config` (relative to the repository) with `sets` as overrides, quiet.
pub fn train_config(config: &str, run_dir: &Path, sets: &[&str]) -> Command {
    let mut command = rem();
    command
        .args(["train", "--config", config, "--run-dir"])
        .arg(run_dir);
    for item in sets {
        command.args(["--set", item]);
    }
    command.stdout(Stdio::null()).stderr(Stdio::null());
    command
}

/// `rem eval --policy random --game catch --episodes N --out DIR`; more arguments
/// may follow.
pub fn random_catch_eval(episodes: usize, out: &Path) -> Command {
    let mut command = rem();
    command
        .args([
            "eval",
            "--policy",
            "random",
            "--game",
            "catch",
            "--episodes",
        ])
        .arg(episodes.to_string())
        .arg("--out")
        .arg(out);
    command
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rem-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Metrics without the wall-clock timings, which differ between runs.
pub fn metrics_without_timings(run_dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run_dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|line| {
            let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
            value.as_object_mut().unwrap().remove("seconds");
            value
        })
        .collect()
}

pub fn metric_lines(run_dir: &Path) -> usize {
    std::fs::read_to_string(run_dir.join("metrics.jsonl")).map_or(0, |t| t.lines().count())
}

pub fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn assert_one_line_error(out: &Output, needle: &str) {
    assert!(!out.status.success(), "expected a failure");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "not one line: {stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(needle),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A folder of tiny run configs for the native games bricks, catch and dodge:
/// runs/catch.toml with the game, [`TINY`] and `sets` applied as `--set` would apply
/// them, written out whole, so that a sweep of it needs no overrides.
pub fn tiny_config_dir(name: &str, sets: &[&str]) -> PathBuf {
    let dir = temp_dir(name);
    std::fs::create_dir_all(&dir).unwrap();
    let catch = Path::new(env!("CARGO_MANIFEST_DIR")).join("../runs/catch.toml");
    for game in ["bricks", "catch", "dodge"] {
        let mut overrides = vec![format!("env.game={game}")];
        overrides.extend(TINY.iter().chain(sets).map(|item| item.to_string()));
        let config = rem_agent::config::RunConfig::load(&catch, &overrides).unwrap();
        let text = toml::to_string(&config).unwrap();
        std::fs::write(dir.join(format!("{game}.toml")), text).unwrap();
    }
    dir
}

/// `rem sweep` over `configs` into `out`, two seeds, with `args`.
pub fn sweep_command(configs: &Path, out: &Path, args: &[&str]) -> Command {
    let mut command = rem();
    command
        .args(["sweep", "--seeds", "2", "--config-dir"])
        .arg(configs)
        .arg("--out")
        .arg(out)
        .args(args);
    command
}

/// Checks that the run in `run_dir` logged the metrics (timings aside) that `rem
/// train` of `config` with `seed` logs alone, in a temporary folder named after `name`.
pub fn assert_same_metrics_as_alone(run_dir: &Path, config: &Path, seed: u64, name: &str) {
    let alone = temp_dir(name);
    let trained = rem()
        .args(["train", "--set", &format!("seed={seed}"), "--config"])
        .arg(config)
        .arg("--run-dir")
        .arg(&alone)
        .output()
        .unwrap();
    assert_success(&trained);
    assert_eq!(
        metrics_without_timings(run_dir),
        metrics_without_timings(&alone)
    );
    let _ = std::fs::remove_dir_all(&alone);
}

/// A run folder `root/name` as training and evaluation leave it: a config naming
/// `game` and `seed` and, optionally, eval.json and metrics.jsonl (one line each).
pub fn run_folder(
    root: &Path,
    name: &str,
    game: &str,
    seed: i64,
    eval_json: Option<&str>,
    metrics: &[&str],
) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        format!("seed = {seed}\n\n[env]\ngame = \"{game}\"\n"),
    )
    .unwrap();
    if let Some(eval) = eval_json {
        std::fs::write(dir.join("eval.json"), eval).unwrap();
    }
    if !metrics.is_empty() {
        write_metrics(&dir, metrics);
    }
    dir
}

/// `dir/metrics.jsonl` with `lines`, one per line; returns its path.
pub fn write_metrics(dir: &Path, lines: &[&str]) -> PathBuf {
    let path = dir.join("metrics.jsonl");
    std::fs::write(
        &path,
        lines
            .iter()
            .map(|line| format!("{line}\n"))
            .collect::<String>(),
    )
    .unwrap();
    path
}

/// The Python interpreter the Atari backend would use (`$REM_PYTHON`, else `python3`),
/// for tests whose oracle is a Python library.
pub fn python() -> PathBuf {
    rem_envs::atari::AtariConfig::train("Breakout").python_command()
}

/// An empty folder `name` of this test process under the system's temporary folder,
/// emptied first if an earlier run left it.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rem-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An eval.json as `rem eval` writes it for a checkpoint of `game` that played `returns`.
pub fn eval_json(game: &str, returns: &[f64]) -> String {
    eval_json_of("ckpt", game, returns)
}

/// The folder `root/random-<game>` as `rem eval --policy random` leaves it: an eval.json
/// of the random policy that played `returns`.
pub fn random_policy_folder(root: &Path, game: &str, returns: &[f64]) -> PathBuf {
    let dir = root.join(format!("random-{game}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("eval.json"), eval_json_of("random", game, returns)).unwrap();
    dir
}

fn eval_json_of(checkpoint: &str, game: &str, returns: &[f64]) -> String {
    let mean = returns.iter().sum::<f64>() / returns.len() as f64;
    format!(
        r#"{{"game": "{game}", "checkpoint": "{checkpoint}", "episodes": {}, "returns": {returns:?}, "mean_return": {mean}}}"#,
        returns.len()
    )
}
