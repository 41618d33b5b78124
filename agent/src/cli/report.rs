//! `rem report`: scores of finished runs beside REM's.

use std::path::PathBuf;

use anyhow::Result;
use rem_agent::{out, outln};

#[derive(clap::Args)]
pub struct ReportArgs {
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
    /// Also draw each game's learning curves into this folder as GAME.svg: every
    /// run's evaluations during training (metrics.jsonl) against environment steps,
    /// one line per run, and the random policy's mean return as a dashed line. Where
    /// `rem eval --run RUN --kept` scored the run's kept models again, those
    /// evaluations take the place of the run's own at their epochs; they and the
    /// final evaluation carry their 95% intervals as whiskers.
    #[arg(long, value_name = "FOLDER")]
    curves: Option<PathBuf>,
    /// Also write every run as a row of a CSV file here (folder, game, seed, policy,
    /// score and its 95% interval, episodes, human-normalised score, env steps,
    /// minutes, code, checkpoint_of), for pandas or rliable.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
}

pub fn run(args: ReportArgs) -> Result<()> {
    let ReportArgs {
        run_dirs,
        out,
        aggregates_out,
        curves,
        csv,
    } = args;
    let (run_dirs, unfinished) = rem_agent::sweep::expand_sweeps(&run_dirs)?;
    if !unfinished.is_empty() {
        outln!("left out: {} runs not finished yet\n", unfinished.len());
    }
    let report = rem_agent::report::report(&run_dirs)?;
    out!("{report}");
    if let Some(path) = out {
        rem_agent::report::write_report_plot(&report, &path)?;
        outln!("wrote {}", path.display());
    }
    if let Some(path) = aggregates_out {
        rem_agent::report::write_aggregates_plot(&report, &path)?;
        outln!("wrote {}", path.display());
    }
    if let Some(path) = csv {
        rem_agent::report::write_runs_csv(&report, &path)?;
        outln!("wrote {}", path.display());
    }
    if let Some(folder) = curves {
        for path in rem_agent::report::write_learning_curves(&report, &folder)? {
            outln!("wrote {}", path.display());
        }
    }
    Ok(())
}
