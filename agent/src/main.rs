//! The `rem` command line: a composition root that parses arguments and hands them
//! to the library's entry points.

use anyhow::Result;
use burn::backend::{Autodiff, Flex};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

use rem_agent::bench::{
    run_imagine_bench, run_phases_bench, BenchSize, ImagineBench, ImagineResult, PhasesBench,
};
use rem_agent::config::{Device, RunConfig};
use rem_agent::evaluate::{evaluate_random_policy, evaluate_run, EvalProgress, RunEvalRequest};
use rem_agent::interrupt::{RunStopped, StopRequest, STOPPED_EXIT_CODE};
use rem_agent::progress::progress_bar;
use rem_agent::run_folder::RunFolder;
use rem_agent::sweep::slurm::SlurmOptions;
use rem_agent::sweep::{GameChoice, SweepPlan};
use rem_agent::trainer::{RunEnd, Trainer};

/// Runs `$body` with `$b` bound to the backend (without autodiff) of `$device`. Model
/// code is generic over burn's backend; the choice is made here alone.
macro_rules! with_backend {
    ($device:expr, $b:ident => $body:expr) => {
        match $device {
            Device::Cpu => {
                type $b = Flex;
                $body
            }
            #[cfg(feature = "cuda")]
            Device::Cuda => match cuda_driver_missing() {
                Some(error) => Err(error),
                None => {
                    type $b = burn::backend::Cuda;
                    $body
                }
            },
            #[cfg(not(feature = "cuda"))]
            Device::Cuda => Err(anyhow::anyhow!(
                "this rem was built without CUDA; rebuild with `cargo build --release --features cuda`"
            )),
        }
    };
}

/// A policy `rem eval` can score without a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum EvalPolicy {
    /// Uniformly random actions.
    Random,
}

#[derive(Parser)]
#[command(
    name = "rem",
    version,
    about = "Token-based world-model reinforcement learning (REM)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play a game with a random policy and print episode returns.
    Play(PlayArgs),
    /// Train an agent: a new run from a config, or `--resume` a run folder.
    Train(TrainArgs),
    /// Evaluate a run's checkpoint, or the random policy, with the evaluation protocol
    /// (algorithm.md, section 6); writes eval.json.
    Eval(EvalArgs),
    /// Imagined rollouts of a run's checkpoint, decoded to a PNG (last real frames,
    /// then the imagined ones), with the rewards and ends the world model drew.
    Dream(DreamArgs),
    /// Scores of finished runs: human-normalised for Atari games, aggregated, beside REM.
    Report(ReportArgs),
    /// Learning check of the world-model half: collect random-policy frames, train a
    /// small tokenizer then a small world model on them, write reconstructions.
    Fit(rem_agent::fit::FitSettings),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Many runs: every (game, seed) of a folder of configs, on this machine
    /// (`--local N`) or as a Slurm job array (`--slurm`); `rem sweep status DIR`
    /// tells where they stand, `rem report DIR` scores them.
    Sweep(SweepArgs),
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct SweepArgs {
    #[command(subcommand)]
    command: Option<SweepCommand>,
    #[command(flatten)]
    launch: SweepLaunchArgs,
}

#[derive(Subcommand)]
enum SweepCommand {
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
struct SweepLaunchArgs {
    /// Folder of run configs, one per game (e.g. runs/atari100k).
    #[arg(long, required = true)]
    config_dir: Option<PathBuf>,
    /// `all`, or a comma-separated list of games (e.g. `Breakout,Pong`).
    #[arg(long, default_value = "all")]
    games: GameChoice,
    /// Seeds 0 to N-1 of each game.
    #[arg(long, default_value_t = 5)]
    seeds: u64,
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

#[derive(Subcommand)]
enum BenchCommand {
    /// Imagined frames/s of the whole actor-critic imagination call, POP vs token-by-token.
    Imagine(BenchImagineArgs),
    /// Seconds per optimisation step of each part (and of acting) at a run
    /// configuration's sizes and batches, and the epoch and run they add up to.
    Phases(BenchPhasesArgs),
}

#[derive(clap::Args)]
struct PlayArgs {
    /// A native game (catch, bricks, dodge) or an Atari-100K game (e.g. Breakout).
    #[arg(long, default_value = "catch")]
    game: String,
    #[arg(long, default_value_t = 20)]
    episodes: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(clap::Args)]
struct TrainArgs {
    /// A run configuration (TOML), e.g. runs/catch.toml.
    #[arg(long, required_unless_present = "resume", conflicts_with = "resume")]
    config: Option<PathBuf>,
    /// Overrides, e.g. `--set seed=3 --set world_model.optim.lr=1e-3`. With
    /// `--resume` they change the run's configuration from its latest checkpoint on
    /// (e.g. a smaller learning rate after a non-finite loss).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Folder for the run (default: runs/out/<config name>-seed<seed>).
    #[arg(long)]
    run_dir: Option<PathBuf>,
    /// Continue the run in this folder from its latest checkpoint.
    #[arg(long, value_name = "RUN_DIR")]
    resume: Option<PathBuf>,
}

#[derive(clap::Args)]
struct EvalArgs {
    /// The run to evaluate; its eval.json goes there.
    #[arg(long, value_name = "RUN_DIR", required_unless_present = "policy")]
    run: Option<PathBuf>,
    /// `random`: uniformly random actions instead of a checkpoint (needs --game).
    #[arg(long, value_enum, conflicts_with_all = ["run", "checkpoint"], requires = "game")]
    policy: Option<EvalPolicy>,
    /// The game for `--policy random`.
    #[arg(long)]
    game: Option<String>,
    /// Draw `--policy random`'s actions from these only, by name (e.g.
    /// `LEFT,DOWNLEFTFIRE`): how far a fixed preference for some actions goes.
    /// The eval.json then names them, and `rem report` does not take it for the
    /// game's random baseline.
    #[arg(long, value_delimiter = ',', requires = "policy", value_name = "NAMES")]
    actions: Vec<String>,
    /// Seed of the random policy's episodes and actions.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Folder for eval.json. A run's default is the run folder, where eval.json is
    /// its score: only its latest checkpoint at its own temperature may go there.
    /// The random policy's default is runs/out/random-<game>, followed by
    /// `-<action>` for each of `--actions`.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Number of episodes (default: the run's eval.final_episodes; 100 for the
    /// random policy).
    #[arg(long)]
    episodes: Option<usize>,
    /// A checkpoint folder (default: the run's latest), e.g. one kept under
    /// RUN_DIR/models/ (needs --out).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// The policy's sampling temperature (default: the run's eval.temperature;
    /// another needs --out).
    #[arg(long, conflicts_with = "policy")]
    temperature: Option<f32>,
    #[arg(long, default_value = "cpu")]
    device: Device,
}

#[derive(clap::Args)]
struct DreamArgs {
    #[arg(long, value_name = "RUN_DIR")]
    run: PathBuf,
    /// A checkpoint folder (default: the run's latest).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    #[arg(long, default_value_t = 8)]
    rollouts: usize,
    /// World-model blocks per rollout, the 2 real context frames included, as
    /// `actor_critic.horizon` counts them (horizon - 1 observations). Past the run's
    /// `world_model.seq_blocks` the model runs beyond its training length.
    #[arg(long, default_value_t = 16)]
    horizon: usize,
    /// Temperature of the world model's token sampling (default: the run's).
    #[arg(long)]
    temperature: Option<f32>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Act with a freshly initialised controller instead of the checkpoint's.
    #[arg(long)]
    fresh_controller: bool,
    /// Rollouts drawn in the PNG and listed (the first ones; the reward after each
    /// action counts all).
    #[arg(long, default_value_t = 16)]
    show: usize,
    /// The PNG to write (default: RUN_DIR/dream.png).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, default_value = "cpu")]
    device: Device,
}

#[derive(clap::Args)]
struct ReportArgs {
    /// Run folders (each with config.toml and eval.json or metrics.jsonl), and sweep
    /// folders (their finished runs).
    #[arg(required = true)]
    run_dirs: Vec<PathBuf>,
    /// Also write a bar chart of per-game human-normalised scores (SVG) here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write a bar chart of the aggregates (mean, median, IQM) with their 95%
    /// intervals, ours beside REM's (SVG) here.
    #[arg(long)]
    aggregates_out: Option<PathBuf>,
}

#[derive(clap::Args)]
struct BenchImagineArgs {
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
    #[arg(long, default_value = "cpu")]
    device: Device,
    /// Threads the frames are encoded on and the rows imagined on, as
    /// `actor_critic.threads`.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

#[derive(clap::Args)]
struct BenchPhasesArgs {
    /// A run configuration (default: the spec's sizes, batches and schedule).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Overrides of the configuration, e.g. `--set world_model.optim.batch=8`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Timed steps of each phase, after one warm-up step.
    #[arg(long, default_value_t = 2)]
    iterations: usize,
    /// The game's action count (18: every Atari action).
    #[arg(long, default_value_t = 18)]
    actions: usize,
    #[arg(long, default_value = "cpu")]
    device: Device,
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
        Command::Play(args) => play(args),
        Command::Train(args) => train_command(args),
        Command::Eval(args) => eval(args),
        Command::Dream(args) => dream(args),
        Command::Report(args) => report(args),
        Command::Fit(settings) => fit(settings),
        Command::Bench(BenchCommand::Imagine(args)) => bench_imagine(args),
        Command::Bench(BenchCommand::Phases(args)) => bench_phases(args),
        Command::Sweep(args) => sweep(args),
    }
}

fn play(args: PlayArgs) -> Result<()> {
    let PlayArgs {
        game,
        episodes,
        seed,
    } = args;
    let returns = rem_agent::play::play_random(&game, episodes, seed)?;
    let mean = returns.iter().sum::<f32>() / returns.len().max(1) as f32;
    println!(
        "{game}: mean return {mean:.2} over {} episodes (random policy)",
        returns.len()
    );
    Ok(())
}

fn train_command(args: TrainArgs) -> Result<()> {
    let TrainArgs {
        config,
        overrides,
        run_dir,
        resume,
    } = args;
    let (config, run_dir, resuming) = match (resume, config) {
        (Some(run_dir), _) => (RunFolder::new(&run_dir).config(&overrides)?, run_dir, true),
        (None, Some(path)) => {
            let config = RunConfig::load(&path, &overrides)?;
            let stem = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            let run_dir = run_dir
                .unwrap_or_else(|| PathBuf::from(format!("runs/out/{stem}-seed{}", config.seed)));
            (config, run_dir, false)
        }
        (None, None) => unreachable!("clap requires --config or --resume"),
    };
    let device = config.device;
    with_backend!(device, B => train::<B>(config, &run_dir, resuming))?;
    Ok(())
}

fn eval(args: EvalArgs) -> Result<()> {
    let EvalArgs {
        run,
        policy,
        game,
        actions,
        seed,
        out,
        episodes,
        checkpoint,
        temperature,
        device,
    } = args;
    let bar = progress_bar(0);
    let mut on_episode_end = |p: EvalProgress| {
        bar.set_length(p.episodes as u64);
        bar.set_position(p.ended as u64);
        let mean = p.mean_return.map(|m| format!(": mean return {m:.2}"));
        bar.set_message(format!("eval{}", mean.unwrap_or_default()));
    };
    let report = match (policy, run) {
        (Some(EvalPolicy::Random), _) => {
            let game = game.expect("clap requires --game with --policy");
            let name = std::iter::once(game.as_str())
                .chain(actions.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join("-");
            let out = out.unwrap_or_else(|| PathBuf::from(format!("runs/out/random-{name}")));
            let episodes = episodes.unwrap_or(100);
            evaluate_random_policy(&game, episodes, seed, &actions, &out, &mut on_episode_end)?
        }
        (None, Some(run)) => {
            let request = RunEvalRequest {
                checkpoint: checkpoint.as_deref(),
                episodes,
                temperature,
                out: out.as_deref(),
            };
            with_backend!(device, B => evaluate_run::<B>(
                &run, &request, &Default::default(), &mut on_episode_end))?
        }
        (None, None) => unreachable!("clap requires --run without --policy"),
    };
    bar.finish_and_clear();
    for (i, r) in report.returns.iter().enumerate() {
        println!("episode {:>4}  return {r:>8.2}", i + 1);
    }
    let temperature = report
        .temperature
        .map(|t| format!(", temperature {t}"))
        .unwrap_or_default();
    println!(
        "{}: mean return {:.2} over {} episodes ({}{temperature})",
        report.game, report.mean_return, report.episodes, report.checkpoint
    );
    Ok(())
}

fn dream(args: DreamArgs) -> Result<()> {
    let DreamArgs {
        run,
        checkpoint,
        rollouts,
        horizon,
        temperature,
        seed,
        fresh_controller,
        show,
        out,
        device,
    } = args;
    let out = out.unwrap_or_else(|| RunFolder::new(&run).dream_file());
    let settings = rem_agent::dream::DreamSettings {
        rollouts,
        horizon,
        world_temperature: temperature,
        seed,
        fresh_controller,
        shown: show,
    };
    let dream = with_backend!(device, B => rem_agent::dream::dream_run::<Autodiff<B>>(
        &run, checkpoint.as_deref(), settings, &out, &Default::default()))?;
    for (i, row) in dream.rows.iter().enumerate() {
        println!("rollout {:>2}  {row}", i + 1);
    }
    println!("tokenizer codes on the real frames: {}", dream.codes);
    let after: Vec<String> = dream
        .after_action
        .iter()
        .enumerate()
        .map(|(action, a)| format!("{action}: {:+.3} ({} steps)", a.mean, a.steps))
        .collect();
    println!(
        "imagined reward from each action to the rollout's end: {}",
        after.join(", ")
    );
    println!(
        "wrote {} (each row: {} real frames, then the imagined ones)",
        out.display(),
        rem_agent::dream::REAL_FRAMES_SHOWN
    );
    Ok(())
}

fn report(args: ReportArgs) -> Result<()> {
    let ReportArgs {
        run_dirs,
        out,
        aggregates_out,
    } = args;
    let (run_dirs, unfinished) = rem_agent::sweep::expand_sweeps(&run_dirs)?;
    if !unfinished.is_empty() {
        print_out(format_args!(
            "left out: {} runs not finished yet\n\n",
            unfinished.len()
        ))?;
    }
    let report = rem_agent::report::report(&run_dirs)?;
    print_out(format_args!("{report}"))?;
    if let Some(path) = out {
        rem_agent::report::write_report_plot(&report, &path)?;
        print_out(format_args!("wrote {}\n", path.display()))?;
    }
    if let Some(path) = aggregates_out {
        rem_agent::report::write_aggregates_plot(&report, &path)?;
        print_out(format_args!("wrote {}\n", path.display()))?;
    }
    Ok(())
}

/// Writes to stdout. When its reader has gone (`rem report | head`), the command ends
/// quietly, as Unix tools do, where `print!` would panic.
fn print_out(text: std::fmt::Arguments<'_>) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_fmt(text).and_then(|()| stdout.flush()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        result => Ok(result?),
    }
}

fn fit(settings: rem_agent::fit::FitSettings) -> Result<()> {
    let report = rem_agent::fit::fit::<Autodiff<Flex>>(&settings, &Default::default())?;
    println!(
        "reconstruction MSE {:.5} -> {:.5}; world-model token cross-entropy {:.3} -> {:.3} (first vs last 10% of steps)",
        report.reconstruction_first, report.reconstruction_last, report.token_ce_first, report.token_ce_last
    );
    Ok(())
}

fn bench_imagine(args: BenchImagineArgs) -> Result<()> {
    let BenchImagineArgs {
        size,
        batch,
        horizon,
        iterations,
        actions,
        device,
        threads,
    } = args;
    let bench = ImagineBench {
        size,
        batch,
        horizon,
        segment: 21,
        iterations,
        n_actions: actions,
        seed: 0,
        threads,
    };
    println!("imagination benchmark: {size:?} sizes, batch {batch}, horizon {horizon}, {threads} thread(s), {iterations} timed calls after one warm-up, {device:?}");
    let report = |r: &ImagineResult| println!("{r}");
    let results = with_backend!(device, B => run_imagine_bench::<Autodiff<B>>(&bench, &Default::default(), report))?;
    if let [pop, tbt] = &results[..] {
        println!(
            "POP / token-by-token: {:.2}x",
            pop.frames_per_second / tbt.frames_per_second
        );
    }
    Ok(())
}

fn bench_phases(args: BenchPhasesArgs) -> Result<()> {
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
    println!(
        "phase benchmark: {iterations} timed steps of each phase after one warm-up, {device:?}"
    );
    let report = |t: &rem_agent::bench::PhaseTiming| println!("{t}");
    let result = with_backend!(device, B => run_phases_bench::<Autodiff<B>>(&bench, &Default::default(), report))?;
    print!("{result}");
    Ok(())
}

/// The CUDA backend loads the driver library at its first use and panics when it
/// is absent; look for it first so that a machine without a GPU gets a plain error.
#[cfg(feature = "cuda")]
fn cuda_driver_missing() -> Option<anyhow::Error> {
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

/// Creates or resumes the run in `run_dir` and trains it to its last epoch; SIGTERM
/// or Ctrl-C stops it after the current epoch with a checkpoint ([`RunStopped`]).
fn train<B: burn::tensor::backend::Backend>(
    config: RunConfig,
    run_dir: &std::path::Path,
    resuming: bool,
) -> Result<()> {
    let stop = StopRequest::on_signals()?;
    let device = Default::default();
    let mut trainer = if resuming {
        Trainer::<Autodiff<B>>::resume(config, run_dir, device)?
    } else {
        Trainer::<Autodiff<B>>::create(config, run_dir, device)?
    };
    println!("run folder: {}", trainer.run_dir().display());
    match trainer.run(&stop)? {
        RunEnd::Finished => Ok(()),
        RunEnd::Stopped { epoch } => Err(RunStopped {
            epoch,
            run_dir: run_dir.to_path_buf(),
        }
        .into()),
    }
}

fn sweep(args: SweepArgs) -> Result<()> {
    match args.command {
        Some(SweepCommand::Status { dir }) => {
            let statuses = rem_agent::sweep::status::sweep_status(&dir)?;
            print_out(format_args!(
                "{}",
                rem_agent::sweep::status::StatusTable(&statuses)
            ))
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
    let plan = SweepPlan::new(config_dir, &args.games, args.seeds, &args.overrides)?;
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
            print_out(format_args!("{script}"))?;
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
    println!(
        "sweep folder: {} ({} runs)",
        sweep_dir.display(),
        plan.runs.len()
    );
    let Some(parallel) = args.local else {
        let path = rem_agent::sweep::slurm::write_script(&sweep_dir, &script)?;
        let job = rem_agent::sweep::slurm::submit(&sweep_dir, &path)?;
        println!(
            "submitted job array {job} ({}); `rem sweep status {}` follows it",
            path.display(),
            sweep_dir.display()
        );
        return Ok(());
    };
    let stop = StopRequest::on_signals()?;
    let summary = rem_agent::sweep::local::run_local(&sweep_dir, &plan, parallel, &rem, &stop)?;
    println!("{summary}");
    summary.check(&sweep_dir)
}

fn slurm_options(args: &SweepLaunchArgs, sweep_dir: &std::path::Path) -> SlurmOptions {
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

/// An error and its causes on one line.
fn one_line(error: &anyhow::Error) -> String {
    error
        .chain()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}
