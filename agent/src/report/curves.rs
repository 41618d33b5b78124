//! The report's runs as learning curves: per game, every run's evaluation returns
//! over environment steps, beside the random policy's mean.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Result};

use super::{mean, random_policy_returns, Report, RunScore, ScoreSource};
use crate::figures::plot::{LinePlot, Series, Whisker};

/// One colour per run of a game, in the order the runs were given (then again); no
/// grey, which is the random policy's.
const RUN_COLORS: [&str; 10] = [
    "#1f5fa8", "#e07b39", "#2e9e4f", "#c0392b", "#8e5ec4", "#8c564b", "#d45fb0", "#e6a817",
    "#b5b82a", "#17a2b8",
];

/// Writes `folder/<game>.svg` for every game with a run that logged evaluations
/// (metrics.jsonl): one line per run, its evaluations during training against the
/// environment steps collected by then (`curve_of`), and the random policy's mean
/// return over the random-policy folders of the report as a dashed line. Returns the
/// files.
pub fn write_learning_curves(report: &Report, folder: &Path) -> Result<Vec<PathBuf>> {
    let random_returns = random_policy_returns(&report.runs);
    let mut plots: BTreeMap<&str, LinePlot> = BTreeMap::new();
    // Only training runs log evaluations; a random-policy folder or a checkpoint's
    // evaluation has none.
    for run in report.runs.iter().filter(|run| !run.evaluations.is_empty()) {
        let plot = plots.entry(&run.game).or_insert_with(|| LinePlot {
            title: format!("{}: evaluation during training", run.game),
            x_label: "environment steps".into(),
            y_label: "mean evaluation return".into(),
            series: vec![],
            reference_line: random_returns
                .get(&run.game)
                .filter(|returns| !returns.is_empty())
                .map(|returns| random_policy_line(returns)),
            x_span: None,
        });
        let color = RUN_COLORS[plot.series.len() % RUN_COLORS.len()];
        let (points, intervals) = curve_of(run);
        plot.series.push(Series {
            label: folder_name(&run.run_dir),
            color: color.into(),
            points,
            markers: true,
            intervals,
        });
    }
    ensure!(
        !plots.is_empty(),
        "no run of the report logged an evaluation in its metrics.jsonl, so there is \
         no learning curve to draw"
    );
    plots
        .into_iter()
        .map(|(game, plot)| {
            let path = folder.join(format!("{game}.svg"));
            plot.write(&path)?;
            Ok(path)
        })
        .collect()
}

/// A run's curve: its evaluations during training, each replaced by the evaluation of
/// the models kept at that point where `rem eval --kept` made one (and such points
/// added where training did not evaluate); and the 95% intervals, as whiskers, of
/// those kept evaluations and of the final one, the evaluations of many episodes.
fn curve_of(run: &RunScore) -> (Vec<(f64, f64)>, Vec<Whisker>) {
    let mut points: BTreeMap<u64, f64> = run.evaluations.iter().copied().collect();
    let mut intervals = Vec::new();
    for kept in &run.kept_evaluations {
        points.insert(kept.env_steps, kept.mean_return);
        intervals.extend(kept.ci95.map(|ci| (kept.env_steps as f64, ci)));
    }
    // The run's score is its last logged evaluation unless `rem eval` rescored it.
    let scored_last = matches!(run.source, ScoreSource::TrainingEval { .. });
    let last_evaluation = run.evaluations.last().map(|&(steps, _)| steps);
    let at_the_end = last_evaluation.is_some() && last_evaluation == run.env_steps;
    if let (true, Some(ci), Some(steps)) = (scored_last && at_the_end, run.ci95, run.env_steps) {
        intervals.push((steps as f64, ci));
    }
    let points = points.into_iter().map(|(x, y)| (x as f64, y)).collect();
    (points, intervals)
}

/// The random policy's mean return, its episodes pooled over the game's folders.
fn random_policy_line(returns: &[f64]) -> (f64, String) {
    let value = mean(returns);
    (value, format!("random policy ({value:.1})"))
}

fn folder_name(dir: &Path) -> String {
    let name = dir.file_name().unwrap_or(dir.as_os_str());
    name.to_string_lossy().into_owned()
}
