//! The `rem` command line: a composition root that parses arguments and hands them
//! to the library's entry points.

use anyhow::Result;
use burn::backend::{Autodiff, Flex};
use clap::{Parser, Subcommand};
use rem_agent::bench::{run_imagine_bench, BenchSize, ImagineBench};

/// The CPU backend; model code is generic, the choice is made here alone.
type CpuBackend = Autodiff<Flex>;

#[derive(Parser)]
#[command(name = "rem", version, about = "Token-based world-model reinforcement learning (REM)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play a game with a random policy and print episode returns.
    Play {
        /// A native game (catch, bricks, dodge) or an Atari-100K game (e.g. Breakout).
        #[arg(long, default_value = "catch")]
        game: String,
        #[arg(long, default_value_t = 20)]
        episodes: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Learning check of the world-model half: collect random-policy frames, train a
    /// small tokenizer then a small world model on them, write reconstructions.
    Fit {
        #[arg(long, default_value = "catch")]
        game: String,
        #[arg(long, default_value_t = 4)]
        envs: usize,
        #[arg(long, default_value_t = 4000)]
        env_steps: usize,
        #[arg(long, default_value_t = 400)]
        tokenizer_steps: usize,
        #[arg(long, default_value_t = 400)]
        world_model_steps: usize,
        #[arg(long, default_value_t = 16)]
        batch: usize,
        #[arg(long, default_value_t = 6)]
        seq_blocks: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Folder for the outputs (reconstructions.png).
        #[arg(long, default_value = "runs/out/fit")]
        out: std::path::PathBuf,
    },
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Imagined frames/s of the whole actor-critic imagination call, POP vs token-by-token.
    Imagine {
        #[arg(long, value_enum, default_value = "spec")]
        size: BenchSize,
        #[arg(long, default_value_t = 8)]
        batch: usize,
        #[arg(long, default_value_t = 10)]
        horizon: usize,
        #[arg(long, default_value_t = 3)]
        iterations: usize,
        #[arg(long, default_value_t = 18)]
        actions: usize,
    },
}

fn main() {
    if let Err(error) = run(Cli::parse()) {
        eprintln!("error: {}", one_line(&error));
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Play { game, episodes, seed } => {
            let returns = rem_agent::play::play_random(&game, episodes, seed)?;
            let mean = returns.iter().sum::<f32>() / returns.len().max(1) as f32;
            println!("{game}: mean return {mean:.2} over {} episodes (random policy)", returns.len());
        }
        Command::Fit { game, envs, env_steps, tokenizer_steps, world_model_steps, batch, seq_blocks, seed, out } => {
            let settings = rem_agent::fit::FitSettings {
                game,
                envs,
                env_steps,
                tokenizer_steps,
                world_model_steps,
                batch,
                seq_blocks,
                seed,
                out,
            };
            let report = rem_agent::fit::fit::<CpuBackend>(&settings, &Default::default())?;
            println!(
                "reconstruction MSE {:.5} -> {:.5}; world-model token cross-entropy {:.3} -> {:.3} (first vs last 10% of steps)",
                report.reconstruction_first, report.reconstruction_last, report.token_ce_first, report.token_ce_last
            );
        }
        Command::Bench(BenchCommand::Imagine { size, batch, horizon, iterations, actions }) => {
            let bench = ImagineBench {
                size,
                batch,
                horizon,
                segment: 21,
                iterations,
                n_actions: actions,
                seed: 0,
            };
            println!("imagination benchmark: {size:?} sizes, batch {batch}, horizon {horizon}, {iterations} timed calls after one warm-up, cpu (flex)");
            let results = run_imagine_bench::<CpuBackend>(&bench, &Default::default(), |r| {
                println!(
                    "{:<14} {:>8.3} s/call  {:>8.1} imagined frames/s",
                    format!("{:?}", r.generator),
                    r.seconds_per_call,
                    r.frames_per_second
                )
            })?;
            if let [pop, tbt] = &results[..] {
                println!("POP / token-by-token: {:.2}x", pop.frames_per_second / tbt.frames_per_second);
            }
        }
    }
    Ok(())
}

/// An error and its causes on one line.
fn one_line(error: &anyhow::Error) -> String {
    error.chain().map(|e| e.to_string()).collect::<Vec<_>>().join(": ")
}
