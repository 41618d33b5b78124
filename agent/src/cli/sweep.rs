//! `rem sweep`: every (game, seed) of a folder of configs, here or on Slurm.

use std::path::{Path, PathBuf};

use anyhow::Result;
use rem_agent::sweep::slurm::SlurmOptions;
use rem_agent::sweep::{GameChoice, SweepPlan};
use rem_agent::training::interrupt::StopRequest;
use rem_agent::{out, outln};

use super::train::train;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SweepArgs {
    #[command(subcommand)]
    command: Option<SweepCommand>,
    #[command(flatten)]
    launch: SweepLaunchArgs,
}

#[derive(clap::Subcommand)]
pub enum SweepCommand {
    /// Per run of a sweep: epoch reached, last evaluation, and state (Slurm's
    /// where the sweep was submitted there).
    Status {
        #[arg(value_name = "SWEEP_DIR")]
        dir: PathBuf,
    },
    /// Trains run INDEX of a sweep, resuming its folder if it holds a run (what each
    /// task of a sweep runs).
    #[command(hide = true)]
    Task {
        #[arg(value_name = "SWEEP_DIR")]
        dir: PathBuf,
        index: usize,
    },
}

#[derive(clap::Args)]
pub struct SweepLaunchArgs {
    /// Folder of run configs, one per game (e.g. runs/atari100k).
    #[arg(long, required = true)]
    config_dir: Option<PathBuf>,
    /// `all`, or a comma-separated list of games (e.g. `Breakout,Pong`).
    #[arg(long, default_value = "all")]
    games: GameChoice,
    /// How many seeds of each game: `--first-seed` to `--first-seed` + N - 1.
    #[arg(long, default_value_t = 5)]
    seeds: u64,
    /// The first seed of each game, e.g. `--first-seed 5 --seeds 5` for seeds 5-9,
    /// the next five after a sweep of `--seeds 5`.
    #[arg(long, value_name = "S", default_value_t = 0)]
    first_seed: u64,
    /// The sweep folder: its plan, one run folder per (game, seed), logs. Launching
    /// the same sweep into it again continues its runs.
    #[arg(long, required = true)]
    out: Option<PathBuf>,
    /// Overrides for every run, e.g. `--set device=cuda`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Submit one sbatch job array (one task per run) and print its job id.
    #[arg(long, conflicts_with = "local")]
    slurm: bool,
    /// Run the sweep on this machine, N runs at a time.
    #[arg(long, value_name = "N")]
    local: Option<usize>,
    /// Print the runs and the array script without writing or submitting anything.
    #[arg(long)]
    dry_run: bool,
    /// Slurm partition of the tasks.
    #[arg(long)]
    partition: Option<String>,
    /// Wall-time limit of each task, in Slurm's format (e.g. 2-00:00:00).
    #[arg(long)]
    time: Option<String>,
    #[arg(long)]
    gpus_per_task: Option<u32>,
    #[arg(long)]
    cpus_per_task: Option<u32>,
    /// At most this many tasks at once (the array's `%` limit).
    #[arg(long, default_value_t = 8)]
    max_parallel: usize,
    /// Seconds before its end at which a task is told to stop (SIGTERM); an epoch
    /// must fit in them, or its partial work is lost.
    #[arg(long, default_value_t = 600)]
    signal_lead: u32,
    /// More #SBATCH options, as given (repeatable), e.g. `--extra=--account=rl`.
    #[arg(long, allow_hyphen_values = true)]
    extra: Vec<String>,
}

pub fn run(args: SweepArgs) -> Result<()> {
    match args.command {
        Some(SweepCommand::Status { dir }) => {
            let statuses = rem_agent::sweep::status::sweep_status(&dir)?;
            out!("{}", rem_agent::sweep::status::StatusTable(&statuses));
            Ok(())
        }
        Some(SweepCommand::Task { dir, index }) => {
            let task = SweepPlan::read(&dir)?.task(&dir, index)?;
            let device = task.config.device;
            with_backend!(device, B => train::<B>(task.config, &task.run_dir, task.resuming))
        }
        None => launch_sweep(args.launch),
    }
}

/// Plans the sweep, then prints it (`--dry-run`), submits it (`--slurm`) or runs it
/// here (`--local N`).
fn launch_sweep(args: SweepLaunchArgs) -> Result<()> {
    let (Some(config_dir), Some(out)) = (&args.config_dir, &args.out) else {
        unreachable!("clap requires --config-dir and --out")
    };
    anyhow::ensure!(
        args.slurm || args.local.is_some() || args.dry_run,
        "choose where the sweep runs: --slurm, --local N, or --dry-run to see it"
    );
    let seeds = args.first_seed..args.first_seed.saturating_add(args.seeds);
    let plan = SweepPlan::new(config_dir, &args.games, seeds, &args.overrides)?;
    let sweep_dir = std::path::absolute(out)?;
    let rem = std::env::current_exe()?;
    let options = slurm_options(&args, &sweep_dir);
    let script = rem_agent::sweep::slurm::array_script(&sweep_dir, &plan, &rem, &options);
    if args.dry_run {
        // The runs on stderr, the script alone on stdout (`> sweep.sbatch`).
        for (index, run) in plan.runs.iter().enumerate() {
            let (game, seed, folder) = (&run.game, run.seed, run.folder.display());
            eprintln!("task {index:>3}: {game} seed {seed} -> {folder}");
        }
        if args.local.is_none() {
            out!("{script}");
        }
        return Ok(());
    }
    if args.slurm {
        anyhow::ensure!(
            rem_agent::sweep::slurm::on_path("sbatch"),
            "--slurm needs Slurm's sbatch on PATH and none was found (--local N runs the \
             sweep on this machine; --dry-run prints the script)"
        );
    }
    plan.write(&sweep_dir)?;
    outln!(
        "sweep folder: {} ({} runs)",
        sweep_dir.display(),
        plan.runs.len()
    );
    let Some(parallel) = args.local else {
        let path = rem_agent::sweep::slurm::write_script(&sweep_dir, &script)?;
        let job = rem_agent::sweep::slurm::submit(&sweep_dir, &path)?;
        outln!(
            "submitted job array {job} ({}); `rem sweep status {}` follows it",
            path.display(),
            sweep_dir.display()
        );
        return Ok(());
    };
    let stop = StopRequest::on_signals()?;
    let summary = rem_agent::sweep::local::run_local(&sweep_dir, &plan, parallel, &rem, &stop)?;
    outln!("{summary}");
    summary.check(&sweep_dir)
}

fn slurm_options(args: &SweepLaunchArgs, sweep_dir: &Path) -> SlurmOptions {
    let name = sweep_dir.file_name().unwrap_or_default().to_string_lossy();
    SlurmOptions {
        job_name: format!("rem-{name}"),
        partition: args.partition.clone(),
        time: args.time.clone(),
        gpus_per_task: args.gpus_per_task,
        cpus_per_task: args.cpus_per_task,
        max_parallel: args.max_parallel,
        signal_lead_seconds: args.signal_lead,
        extra: args.extra.clone(),
    }
}
