//! Environment throughput: agent steps per second with random actions.
//!
//! Native games, then Atari (train wrappers) through the Rust worker backend beside
//! the same wrapper stack stepped in a plain Python loop (`atari_python.py`, resizing
//! with Pillow) on the same machine. Runs alternate between the two sides and the best of each is
//! compared, which keeps noise from other processes out of the ratio.
//!
//!     cargo bench -p rem-benches --bench env_throughput
//!
//! Environment knobs: REM_BENCH_ATARI_STEPS (default 3000), REM_BENCH_NATIVE_STEPS
//! (default 50000), REM_BENCH_REPEATS (default 3), REM_PYTHON (default python3).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use rem_benches::{env_usize, python, python_imports, run_python_script};
use rem_envs::atari::{AtariConfig, AtariEnv};
use rem_envs::native::{make_native, NATIVE_GAMES};
use rem_envs::rng::SplitMix64;
use rem_envs::Env;

const ATARI_GAMES: [&str; 2] = ["Breakout", "Pong"];
const WARMUP_STEPS: usize = 200;

/// Steps with uniformly random actions, resetting at episode ends.
fn run(env: &mut dyn Env, steps: usize, rng: &mut SplitMix64) -> Result<()> {
    let n = env.action_space().n() as u64;
    for _ in 0..steps {
        let step = env.step((rng.next_u64() % n) as usize)?;
        if step.done() {
            env.reset(None)?;
        }
    }
    Ok(())
}

/// Agent steps per second after a warm-up.
fn measure(env: &mut dyn Env, steps: usize, seed: u64) -> Result<f64> {
    let mut rng = SplitMix64::new(seed);
    env.reset(Some(seed))?;
    run(env, WARMUP_STEPS, &mut rng)?;
    let start = Instant::now();
    run(env, steps, &mut rng)?;
    Ok(steps as f64 / start.elapsed().as_secs_f64())
}

/// Runs the plain-Python baseline and reads its `steps_per_sec=` figure.
fn measure_python(game: &str, steps: usize, seed: u64) -> Result<f64> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("atari_python.py");
    let args = [
        "--game".to_string(),
        game.to_string(),
        "--steps".into(),
        steps.to_string(),
        "--warmup".into(),
        WARMUP_STEPS.to_string(),
        "--seed".into(),
        seed.to_string(),
    ];
    let stdout = run_python_script(&script, &args)?;
    stdout
        .split_whitespace()
        .find_map(|field| field.strip_prefix("steps_per_sec="))
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no steps_per_sec in: {stdout}"))
}

fn best(rates: &[f64]) -> f64 {
    rates.iter().copied().fold(0.0, f64::max)
}

fn list(rates: &[f64]) -> String {
    rates
        .iter()
        .map(|r| format!("{r:.0}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn main() -> Result<()> {
    let atari_steps = env_usize("REM_BENCH_ATARI_STEPS", 3000);
    let native_steps = env_usize("REM_BENCH_NATIVE_STEPS", 50_000);
    let repeats = env_usize("REM_BENCH_REPEATS", 3).max(1);

    println!("native games: {native_steps} steps each, best of {repeats}");
    for &name in NATIVE_GAMES {
        let mut env = make_native(name).with_context(|| format!("native game {name}"))?;
        let rates = (0..repeats)
            .map(|r| measure(env.as_mut(), native_steps, r as u64))
            .collect::<Result<Vec<_>>>()?;
        println!(
            "  {name:<10} {:>12.0} steps/s   (runs: {})",
            best(&rates),
            list(&rates)
        );
    }

    // The Python side needs ale-py and Pillow (its resize).
    if !python_imports("ale_py, numpy, PIL.Image") {
        println!(
            "Atari: SKIPPED, ale-py or Pillow not installed for {} \
             (python3 -m pip install ale-py==0.12.1 pillow==13.0.0)",
            python().display()
        );
        return Ok(());
    }
    println!("Atari (train wrappers): {atari_steps} steps each after {WARMUP_STEPS} warm-up, best of {repeats}");
    for game in ATARI_GAMES {
        let mut env = AtariEnv::new(AtariConfig::train(game))?;
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for r in 0..repeats {
            ours.push(measure(&mut env, atari_steps, r as u64)?);
            theirs.push(measure_python(game, atari_steps, r as u64)?);
        }
        let ratio = best(&ours) / best(&theirs);
        println!(
            "  {game:<10} rust backend {:>7.0} steps/s   python loop {:>7.0} steps/s   ratio ours/python {ratio:.2}",
            best(&ours),
            best(&theirs)
        );
        println!(
            "             (runs: rust {}; python {})",
            list(&ours),
            list(&theirs)
        );
    }
    Ok(())
}
