//! `rem report --csv`: every run of a report as one row of a CSV file, for pandas,
//! rliable or a spreadsheet (`pd.read_csv(path)`).
//!
//! ```text
//! folder,game,seed,policy,score,ci95_low,ci95_high,episodes,hns,env_steps,minutes,code,checkpoint_of
//! upndown-seed0-adamw,UpNDown,0,agent,1283.5,1127.7,1444.4,100,0.06721446620907184,12000,35.08525928955,-,
//! ```
//!
//! Empty cells are values the folder does not hold (no seed for an evaluation folder,
//! no human-normalised score for a native game, no interval under two episodes).

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use super::{Policy, Report, RunScore};

/// One run, as a row.
#[derive(Debug, Serialize)]
struct RunRow<'a> {
    folder: String,
    game: &'a str,
    seed: Option<i64>,
    policy: &'static str,
    score: f64,
    ci95_low: Option<f64>,
    ci95_high: Option<f64>,
    /// Episodes behind the score, where the source lists their returns.
    episodes: Option<usize>,
    hns: Option<f64>,
    env_steps: Option<u64>,
    minutes: Option<f64>,
    /// The report's "code" cell: short commits joined by "/", "-" where not recorded.
    code: String,
    /// For an evaluation of a checkpoint of another run in the report: that run's folder.
    checkpoint_of: Option<String>,
}

impl<'a> RunRow<'a> {
    fn of(run: &'a RunScore) -> Self {
        let episodes = (!run.returns.is_empty()).then_some(run.returns.len());
        Self {
            folder: run.run_dir.display().to_string(),
            game: &run.game,
            seed: run.seed,
            policy: match run.policy {
                Policy::Agent => "agent",
                Policy::Random => "random",
            },
            score: run.score,
            ci95_low: run.ci95.map(|(low, _)| low),
            ci95_high: run.ci95.map(|(_, high)| high),
            episodes,
            hns: run.hns,
            env_steps: run.env_steps,
            minutes: run.minutes,
            code: super::table::code_cell(&run.code),
            checkpoint_of: run.checkpoint_of.as_ref().map(|p| p.display().to_string()),
        }
    }
}

/// Writes every run of `report`, in its order, as a row of the CSV file `path`.
pub fn write_runs_csv(report: &Report, path: &Path) -> Result<()> {
    let mut text = csv::Writer::from_writer(Vec::new());
    for run in &report.runs {
        text.serialize(RunRow::of(run))?;
    }
    let text = String::from_utf8(text.into_inner().context("CSV writer")?)?;
    // Whole or not at all, as the report's figures are written.
    crate::figures::plot::write_atomically(path, &text)
}
