//! Opt-in end-to-end check of the README's claim: the default run on the native
//! game "catch" ends clearly above the random policy. It trains for minutes, so it
//! is ignored by default; run it with
//! `cargo test --release -p rem-agent --test default_agent_learns -- --ignored`.

use std::path::Path;
use std::process::Command;

/// Mean return of the uniformly random policy on catch over 100 episodes
/// (envs/README.md); a perfect policy scores +10.
const RANDOM_RETURN: f64 = -7.76;
/// "Clearly above random": half of the way from random to perfect.
const REQUIRED_RETURN: f64 = RANDOM_RETURN + 0.5 * (10.0 - RANDOM_RETURN);

#[test]
#[ignore = "trains the default agent for several minutes"]
fn the_default_agent_beats_random_on_catch() {
    let run_dir = std::env::temp_dir().join(format!("rem-default-agent-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&run_dir);
    let status = Command::new(env!("CARGO_BIN_EXE_rem"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .args(["train", "--config", "runs/catch.toml", "--run-dir"])
        .arg(&run_dir)
        .status()
        .unwrap();
    assert!(status.success());
    let metrics = std::fs::read_to_string(run_dir.join("metrics.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(metrics.lines().last().unwrap()).unwrap();
    let achieved = last["eval"]["mean_return"]
        .as_f64()
        .expect("the last epoch evaluates");
    println!(
        "final evaluation: {achieved:.2} (random {RANDOM_RETURN}, required {REQUIRED_RETURN:.2})"
    );
    assert!(
        achieved >= REQUIRED_RETURN,
        "final evaluation {achieved:.2} < {REQUIRED_RETURN:.2}"
    );
}
