//! `rem sweep status`: where each run of a sweep stands, from its run folder (epoch
//! reached, last evaluation) and from Slurm when the sweep was submitted there.

use std::fmt;
use std::path::Path;

use anyhow::Result;

use super::{slurm, SweepPlan};
use crate::run_folder::RunFolder;
use crate::training::metrics::read_metrics;

/// One run of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct RunStatus {
    pub task: usize,
    pub name: String,
    /// Last epoch written to metrics.jsonl (0: none yet).
    pub epoch: usize,
    /// Epochs of the run's schedule.
    pub epochs: usize,
    /// Mean return of the last evaluation, and its epoch.
    pub last_eval: Option<(f32, usize)>,
    /// Slurm's state of the task when known, else what the folder shows: "done",
    /// "partial" (started, not finished) or "not started".
    pub state: String,
}

/// The status of every run of the sweep in `sweep_dir`.
pub fn sweep_status(sweep_dir: &Path) -> Result<Vec<RunStatus>> {
    let plan = SweepPlan::read(sweep_dir)?;
    let slurm_states = slurm::task_states(&slurm::submitted_jobs(sweep_dir));
    (0..plan.runs.len())
        .map(|task| {
            let mut status = run_status(&plan, sweep_dir, task)?;
            if let Some(state) = slurm_states.get(&task) {
                status.state = state.clone();
            }
            Ok(status)
        })
        .collect()
}

/// What the run folder of `task` shows (no Slurm state).
pub fn run_status(plan: &SweepPlan, sweep_dir: &Path, task: usize) -> Result<RunStatus> {
    let folder = RunFolder::new(sweep_dir.join(&plan.runs[task].folder));
    let epochs = match folder.holds_run() {
        true => folder.config(&[])?.collect.epochs,
        false => plan.task(sweep_dir, task)?.config.collect.epochs,
    };
    let records = match folder.metrics_file().exists() {
        true => read_metrics(&folder.metrics_file())?,
        false => Vec::new(),
    };
    let epoch = records.last().map_or(0, |record| record.epoch);
    let last_eval = records
        .iter()
        .rev()
        .find_map(|record| Some((record.eval.as_ref()?.mean_return, record.epoch)));
    let state = if !folder.holds_run() {
        "not started"
    } else if epoch >= epochs {
        "done"
    } else {
        "partial"
    };
    Ok(RunStatus {
        task,
        name: plan.runs[task].folder.display().to_string(),
        epoch,
        epochs,
        last_eval,
        state: state.to_string(),
    })
}

impl RunStatus {
    /// Whether every epoch of the run's schedule is logged.
    pub fn finished(&self) -> bool {
        self.epoch > 0 && self.epoch >= self.epochs
    }
}

/// The statuses as a table, with a count per state.
pub struct StatusTable<'a>(pub &'a [RunStatus]);

impl fmt::Display for StatusTable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .0
            .iter()
            .map(|s| s.name.len())
            .max()
            .unwrap_or(0)
            .max(4);
        writeln!(
            f,
            "{:>4}  {:<width$}  {:>9}  {:>18}  state",
            "task", "run", "epoch", "last eval (epoch)"
        )?;
        for s in self.0 {
            let eval = s.last_eval.map_or("-".to_string(), |(score, epoch)| {
                format!("{score:.2} ({epoch})")
            });
            let epoch = format!("{}/{}", s.epoch, s.epochs);
            writeln!(
                f,
                "{:>4}  {:<width$}  {epoch:>9}  {eval:>18}  {}",
                s.task, s.name, s.state
            )?;
        }
        let mut counts = std::collections::BTreeMap::new();
        for s in self.0 {
            *counts.entry(s.state.as_str()).or_insert(0) += 1;
        }
        let counts: Vec<String> = counts
            .iter()
            .map(|(state, n)| format!("{n} {state}"))
            .collect();
        writeln!(f, "{} runs: {}", self.0.len(), counts.join(", "))
    }
}
