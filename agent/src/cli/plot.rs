//! `rem plot`: a run's plots redrawn from its metrics.jsonl.

use std::path::PathBuf;

use anyhow::Result;
use rem_agent::figures::run_plots::RunPlots;
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
        let plots = RunPlots::read(&folder.metrics_file())?;
        let (curve, losses) = (folder.learning_curve_file(), folder.losses_file());
        plots.write_learning_curve(&curve)?;
        plots.write_losses(&losses)?;
        outln!("wrote {} and {}", curve.display(), losses.display());
    }
    Ok(())
}
