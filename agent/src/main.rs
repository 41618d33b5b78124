//! The `rem` command line: a composition root that parses arguments and hands them
//! to the library's entry points. Each subcommand's arguments and handler live in
//! `cli/<command>.rs`; the backend is chosen here alone (`with_backend!`).

use anyhow::Result;
use clap::{Parser, Subcommand};

use rem_agent::training::interrupt::{RunStopped, STOPPED_EXIT_CODE};

/// Runs `$body` with `$b` bound to the backend (without autodiff) of `$device`. Model
/// code is generic over burn's backend; the choice is made here alone.
macro_rules! with_backend {
    ($device:expr, $b:ident => $body:expr) => {
        match $device {
            rem_agent::config::Device::Cpu => {
                type $b = burn::backend::Flex;
                $body
            }
            #[cfg(feature = "cuda")]
            rem_agent::config::Device::Cuda => match $crate::cuda_driver_missing() {
                Some(error) => Err(error),
                None => {
                    type $b = burn::backend::Cuda;
                    $body
                }
            },
            #[cfg(not(feature = "cuda"))]
            rem_agent::config::Device::Cuda => Err(anyhow::anyhow!(
                "this rem was built without CUDA; rebuild with `cargo build --release --features cuda`"
            )),
        }
    };
}

mod cli;

#[derive(Parser)]
#[command(
    name = "rem",
    version = rem_agent::provenance::version_line(),
    about = "Token-based world-model reinforcement learning (REM)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play a game with a random policy and print episode returns.
    Play(cli::play::PlayArgs),
    /// Train an agent: a new run from a config, or `--resume` a run folder.
    Train(cli::train::TrainArgs),
    /// Evaluate a run's checkpoint, or the random policy, with the evaluation protocol
    /// (algorithm.md, section 6); writes eval.json.
    Eval(cli::eval::EvalArgs),
    /// Imagined rollouts of a run's checkpoint, decoded to a PNG (last real frames,
    /// then the imagined ones), with the rewards and ends the world model drew.
    Dream(cli::dream::DreamArgs),
    /// A run's kept controllers rated by its kept world models (imagined return
    /// against the initial controller's, paired), beside their scores in the game:
    /// whether the world models rank the policies as the game does.
    Ratings(cli::ratings::RatingsArgs),
    /// Redraw a run's learning_curve.svg and losses.svg from its metrics.jsonl (a run
    /// draws them as it goes; this is for runs from before losses.svg, or copied
    /// without their plots).
    Plot(cli::plot::PlotArgs),
    /// Scores of finished runs: human-normalised for Atari games, aggregated, beside REM.
    Report(cli::report::ReportArgs),
    /// Two sets of runs (two settings, two commits) game by game: the probability
    /// that a run of the first scores more than one of the second (rliable's), with
    /// 95% intervals, and the same seeds run by both judged pair by pair.
    Compare(cli::compare::CompareArgs),
    /// Learning check of the world-model half: collect random-policy frames, train a
    /// small tokenizer then a small world model on them, write reconstructions.
    Fit(rem_agent::checks::fit::FitSettings),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(cli::bench::BenchCommand),
    /// Many runs: every (game, seed) of a folder of configs, on this machine
    /// (`--local N`) or as a Slurm job array (`--slurm`); `rem sweep status DIR`
    /// tells where they stand, `rem report DIR` scores them.
    Sweep(cli::sweep::SweepArgs),
}

fn main() {
    rem_agent::allocator::keep_freed_memory();
    if let Err(error) = run(Cli::parse()) {
        if error.is::<RunStopped>() {
            eprintln!("stopped: {error}");
            std::process::exit(STOPPED_EXIT_CODE);
        }
        eprintln!("error: {}", one_line(&error));
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Play(args) => cli::play::run(args),
        Command::Train(args) => cli::train::run(args),
        Command::Eval(args) => cli::eval::run(args),
        Command::Dream(args) => cli::dream::run(args),
        Command::Ratings(args) => cli::ratings::run(args),
        Command::Plot(args) => cli::plot::run(args),
        Command::Report(args) => cli::report::run(args),
        Command::Compare(args) => cli::compare::run(args),
        Command::Fit(settings) => cli::fit::run(settings),
        Command::Bench(command) => cli::bench::run(command),
        Command::Sweep(args) => cli::sweep::run(args),
    }
}

/// An error and its causes on one line.
fn one_line(error: &anyhow::Error) -> String {
    error
        .chain()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

/// The CUDA backend loads the driver library at its first use and panics when it
/// is absent; look for it first so that a machine without a GPU gets a plain error.
#[cfg(feature = "cuda")]
fn cuda_driver_missing() -> Option<anyhow::Error> {
    use std::path::PathBuf;
    let mut dirs: Vec<PathBuf> = std::env::var("LD_LIBRARY_PATH")
        .unwrap_or_default()
        .split(':')
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .collect();
    dirs.extend(
        [
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib64",
            "/usr/lib",
            "/usr/local/nvidia/lib64",
            "/usr/local/cuda/lib64",
        ]
        .map(PathBuf::from),
    );
    let found = dirs
        .iter()
        .any(|d| d.join("libcuda.so.1").exists() || d.join("libcuda.so").exists());
    (!found).then(|| {
        anyhow::anyhow!(
            "no CUDA driver (libcuda.so.1) found in LD_LIBRARY_PATH or the system library folders; \
             on a GPU machine set LD_LIBRARY_PATH=/usr/local/cuda/targets/x86_64-linux/lib:/usr/local/nvidia/lib64 and CUDA_PATH=/usr/local/cuda"
        )
    })
}
