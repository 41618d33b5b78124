//! `rem train`: a new run from a config, or one resumed from its folder.

use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::backend::Autodiff;
use rem_agent::config::RunConfig;
use rem_agent::outln;
use rem_agent::run_folder::RunFolder;
use rem_agent::training::interrupt::{RunStopped, StopRequest};
use rem_agent::training::{RunEnd, Trainer};

#[derive(clap::Args)]
pub struct TrainArgs {
    /// A run configuration (TOML), e.g. runs/catch.toml.
    #[arg(long, required_unless_present = "resume", conflicts_with = "resume")]
    config: Option<PathBuf>,
    /// Overrides, e.g. `--set seed=3 --set world_model.optim.lr=1e-3`. With
    /// `--resume` they change the run's configuration from its latest checkpoint on
    /// (e.g. a smaller learning rate after a non-finite loss).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Folder for the run (default: `runs/out/<config name>-seed<seed>`).
    #[arg(long)]
    run_dir: Option<PathBuf>,
    /// Continue the run in this folder from its latest checkpoint.
    #[arg(long, value_name = "RUN_DIR")]
    resume: Option<PathBuf>,
    /// Print the configuration the run would use, as TOML (defaults, the config's
    /// `base` files and `--set` applied), and start nothing.
    #[arg(long)]
    print_config: bool,
}

pub fn run(args: TrainArgs) -> Result<()> {
    let TrainArgs {
        config,
        overrides,
        run_dir,
        resume,
        print_config,
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
    if print_config {
        print!("{}", config.to_toml());
        return Ok(());
    }
    let device = config.device;
    with_backend!(device, B => train::<B>(config, &run_dir, resuming))?;
    Ok(())
}

/// Creates or resumes the run in `run_dir` and trains it to its last epoch; SIGTERM
/// or Ctrl-C stops it after the current epoch with a checkpoint ([`RunStopped`]).
pub fn train<B: burn::tensor::backend::Backend>(
    config: RunConfig,
    run_dir: &Path,
    resuming: bool,
) -> Result<()> {
    let stop = StopRequest::on_signals()?;
    let device = Default::default();
    let mut trainer = if resuming {
        Trainer::<Autodiff<B>>::resume(config, run_dir, device)?
    } else {
        Trainer::<Autodiff<B>>::create(config, run_dir, device)?
    };
    outln!("run folder: {}", trainer.run_dir().display());
    match trainer.run(&stop)? {
        RunEnd::Finished => Ok(()),
        RunEnd::Stopped { epoch } => Err(RunStopped {
            epoch,
            run_dir: run_dir.to_path_buf(),
        }
        .into()),
    }
}
