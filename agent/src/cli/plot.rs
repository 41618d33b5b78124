//! `rem plot`: a run's plots redrawn from its metrics.jsonl.

use std::path::PathBuf;

use anyhow::Result;
use rem_agent::figures::run_plots::{write_learning_curve, write_training_losses};
use rem_agent::outln;
use rem_agent::run_folder::RunFolder;

#[derive(clap::Args)]
pub struct PlotArgs {
    /// Run folders, each with its metrics.jsonl.
    #[arg(required = true, value_name = "RUN_DIR")]
    runs: Vec<PathBuf>,
}

pub fn run(args: PlotArgs) -> Result<()> {
    for run in &args.runs {
        let folder = RunFolder::new(run);
        let metrics = folder.metrics_file();
        let (curve, losses) = (folder.learning_curve_file(), folder.losses_file());
        write_learning_curve(&metrics, &curve)?;
        write_training_losses(&metrics, &losses)?;
        outln!("wrote {} and {}", curve.display(), losses.display());
    }
    Ok(())
}
