//! Runs as learning curves: per game, every run's evaluation returns over environment
//! steps, beside the random policy's mean (`rem report --curves`) or two sets of runs
//! in two families of colours (`rem compare --curves`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Result};

use super::{mean, random_policy_returns, runs_by_game, Report, RunScore, ScoreSource};
use crate::figures::plot::{LinePlot, Series, Whisker, PALETTE};

/// One colour per run of a game, in the order the runs were given (then again).
const RUN_COLORS: [&str; 10] = PALETTE;

/// Shades of blue for the runs of set A of a comparison, and of orange for B's, in the
/// order the runs were given (then again), so that each set reads as one family.
const SET_A_COLORS: [&str; 4] = ["#1f5fa8", "#6a9fd8", "#0d3566", "#9cc3ec"];
const SET_B_COLORS: [&str; 4] = ["#e07b39", "#f2ab7a", "#9c4a14", "#f7cfae"];

/// Writes `folder/<game>.svg` for every game with a run that logged evaluations
/// (metrics.jsonl): one line per run, its evaluations during training against the
/// environment steps collected by then (`curve_of`), and the random policy's mean
/// return over the random-policy folders of the report as a dashed line. Returns the
/// files.
pub fn write_learning_curves(report: &Report, folder: &Path) -> Result<Vec<PathBuf>> {
    let random_returns = random_policy_returns(&report.runs);
    // Only training runs log evaluations; a random-policy folder or a checkpoint's
    // evaluation has none.
    let plots: BTreeMap<&str, LinePlot> = logged_by_game(&report.runs)
        .into_iter()
        .map(|(game, runs)| {
            let title = format!("{game}: evaluation during training");
            let lines = run_lines(&runs, "", &RUN_COLORS);
            let random = random_policy_line(&random_returns, game);
            (game, curves_plot(title, lines, random))
        })
        .collect();
    ensure!(
        !plots.is_empty(),
        "no run of the report logged an evaluation in its metrics.jsonl, so there is \
         no learning curve to draw"
    );
    write_plots(plots, folder)
}

/// Writes `folder/<game>.svg` for every game of which both `a` and `b` have a run that
/// logged evaluations: A's runs in shades of blue, labelled "A: <folder>", beside B's
/// in shades of orange, each drawn as `rem report --curves` draws a run, and the
/// random policy's mean return over the game's evaluations in `random` as a dashed
/// line. Returns the files.
pub fn write_comparison_curves(
    a: &[RunScore],
    b: &[RunScore],
    random: &[RunScore],
    folder: &Path,
) -> Result<Vec<PathBuf>> {
    let random_returns = random_policy_returns(random);
    let logged_b = logged_by_game(b);
    let plots: BTreeMap<&str, LinePlot> = logged_by_game(a)
        .into_iter()
        .filter_map(|(game, runs_a)| {
            let runs_b = logged_b.get(game)?;
            let mut lines = run_lines(&runs_a, "A: ", &SET_A_COLORS);
            lines.extend(run_lines(runs_b, "B: ", &SET_B_COLORS));
            let title = format!("{game}: A against B, evaluation during training");
            let random = random_policy_line(&random_returns, game);
            Some((game, curves_plot(title, lines, random)))
        })
        .collect();
    ensure!(
        !plots.is_empty(),
        "no game has a run in each set that logged an evaluation in its metrics.jsonl, \
         so there is no pair of learning curves to draw"
    );
    write_plots(plots, folder)
}

/// A learning-curve plot of `lines` over environment steps, with the random policy's
/// line where there is one.
fn curves_plot(title: String, lines: Vec<Series>, random: Option<(f64, String)>) -> LinePlot {
    LinePlot {
        title,
        x_label: "environment steps".into(),
        y_label: "mean evaluation return".into(),
        series: lines,
        reference_line: random,
        x_span: None,
    }
}

/// One line per run ([`curve_of`]) with dots at its points, labelled `prefix` and the
/// run's folder name, in `colors` in turn.
fn run_lines(runs: &[&RunScore], prefix: &str, colors: &[&str]) -> Vec<Series> {
    runs.iter()
        .zip(colors.iter().cycle())
        .map(|(run, color)| {
            let (points, intervals) = curve_of(run);
            Series {
                label: format!("{prefix}{}", folder_name(&run.run_dir)),
                color: color.to_string(),
                points,
                markers: true,
                intervals,
            }
        })
        .collect()
}

/// The runs that logged evaluations during training, by game.
fn logged_by_game(runs: &[RunScore]) -> BTreeMap<&str, Vec<&RunScore>> {
    runs_by_game(runs.iter().filter(|run| !run.evaluations.is_empty()))
}

/// Writes each game's plot to `folder/<game>.svg`; returns the files.
fn write_plots(plots: BTreeMap<&str, LinePlot>, folder: &Path) -> Result<Vec<PathBuf>> {
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

/// The random policy's mean return on `game`, its episodes pooled over the game's
/// folders, as a labelled reference line; `None` without any.
fn random_policy_line(returns: &BTreeMap<String, Vec<f64>>, game: &str) -> Option<(f64, String)> {
    let returns = returns.get(game).filter(|returns| !returns.is_empty())?;
    let value = mean(returns);
    Some((value, format!("random policy ({value:.1})")))
}

fn folder_name(dir: &Path) -> String {
    let name = dir.file_name().unwrap_or(dir.as_os_str());
    name.to_string_lossy().into_owned()
}
