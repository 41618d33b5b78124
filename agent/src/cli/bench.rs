//! `rem bench`: imagination speed and per-phase step times.

use std::path::PathBuf;

use super::at_least_one;
use anyhow::Result;
use burn::backend::Autodiff;
use rem_agent::bench::{
    run_imagine_bench, run_phases_bench, BenchSize, ImagineBench, ImagineResult, PhasesBench,
};
use rem_agent::config::{Device, RunConfig};
use rem_agent::imagination::rollout::Generator;
use rem_agent::{out, outln};

#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// Imagined frames/s of the whole actor-critic imagination call, POP vs token-by-token.
    Imagine(BenchImagineArgs),
    /// Seconds per optimisation step of each part (and of acting) at a run
    /// configuration's sizes and batches, and the epoch and run they add up to.
    Phases(BenchPhasesArgs),
}

#[derive(clap::Args)]
pub struct BenchImagineArgs {
    #[arg(long, value_enum, default_value = "spec")]
    size: BenchSize,
    #[arg(long, default_value_t = 8, value_parser = at_least_one)]
    batch: usize,
    #[arg(long, default_value_t = 10)]
    horizon: usize,
    #[arg(long, default_value_t = 3, value_parser = at_least_one)]
    iterations: usize,
    #[arg(long, default_value_t = 18, value_parser = at_least_one)]
    actions: usize,
    #[arg(long, default_value = "cpu")]
    device: Device,
    /// Threads the frames are encoded on and the rows imagined on, as
    /// `actor_critic.threads`.
    #[arg(long, default_value_t = 1, value_parser = at_least_one)]
    threads: usize,
    /// The generators timed (repeat the flag for several); both by default.
    #[arg(long = "generator", value_enum)]
    generators: Vec<Generator>,
}

#[derive(clap::Args)]
pub struct BenchPhasesArgs {
    /// A run configuration (default: the spec's sizes, batches and schedule).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Overrides of the configuration, e.g. `--set world_model.optim.batch=8`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Timed steps of each phase, after one warm-up step.
    #[arg(long, default_value_t = 2, value_parser = at_least_one)]
    iterations: usize,
    /// The game's action count (18: every Atari action).
    #[arg(long, default_value_t = 18, value_parser = at_least_one)]
    actions: usize,
    #[arg(long, default_value = "cpu")]
    device: Device,
}

pub fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Imagine(args) => imagine(args),
        BenchCommand::Phases(args) => phases(args),
    }
}

fn imagine(args: BenchImagineArgs) -> Result<()> {
    let BenchImagineArgs {
        size,
        batch,
        horizon,
        iterations,
        actions,
        device,
        threads,
        mut generators,
    } = args;
    if generators.is_empty() {
        generators = Generator::ALL.to_vec();
    }
    let bench = ImagineBench {
        size,
        batch,
        horizon,
        segment: 21,
        iterations,
        n_actions: actions,
        seed: 0,
        threads,
        generators,
    };
    outln!("imagination benchmark: {size:?} sizes, batch {batch}, horizon {horizon}, {threads} thread(s), {iterations} timed calls after one warm-up, {device:?}");
    let report = |r: &ImagineResult| outln!("{r}");
    let results = with_backend!(device, B => run_imagine_bench::<Autodiff<B>>(&bench, &Default::default(), report))?;
    let fps = |g: Generator| {
        results
            .iter()
            .find(|r| r.generator == g)
            .map(|r| r.frames_per_second)
    };
    if let (Some(pop), Some(tbt)) = (fps(Generator::Pop), fps(Generator::TokenByToken)) {
        outln!("POP / token-by-token: {:.2}x", pop / tbt);
    }
    Ok(())
}

fn phases(args: BenchPhasesArgs) -> Result<()> {
    let BenchPhasesArgs {
        config,
        overrides,
        iterations,
        actions,
        device,
    } = args;
    let config = match &config {
        Some(path) => RunConfig::load(path, &overrides)?,
        None => RunConfig::spec(&overrides)?,
    };
    let bench = PhasesBench {
        config,
        n_actions: actions,
        iterations,
        seed: 0,
    };
    outln!("phase benchmark: {iterations} timed steps of each phase after one warm-up, {device:?}");
    let report = |t: &rem_agent::bench::PhaseTiming| outln!("{t}");
    let result = with_backend!(device, B => run_phases_bench::<Autodiff<B>>(&bench, &Default::default(), report))?;
    out!("{result}");
    Ok(())
}
