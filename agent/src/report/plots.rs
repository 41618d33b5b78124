//! The report as SVG bar charts: human-normalised scores, ours beside REM's.

use std::path::Path;

use anyhow::{bail, ensure, Result};

use super::{Aggregates, Report};
use crate::figures::plot::{BarChart, BarGroup};

/// Bar chart of each game's mean human-normalised score, ours beside REM's.
pub fn write_report_plot(report: &Report, svg_path: &Path) -> Result<()> {
    ensure!(
        !report.games.is_empty(),
        "no Atari runs in the report, so no human-normalised scores to plot"
    );
    let games = &report.games;
    ours_beside_rem(
        "Human-normalised score per game".into(),
        games.iter().map(|g| g.game.clone()).collect(),
        (games.iter().map(|g| Some(g.mean_hns)).collect(), vec![]),
        (games.iter().map(|g| g.rem_hns).collect(), vec![]),
    )
    .write(svg_path)
}

/// Bar chart of the aggregates (mean, median, IQM of human-normalised scores) with
/// their 95% stratified-bootstrap intervals, ours beside REM's over the same games.
pub fn write_aggregates_plot(report: &Report, svg_path: &Path) -> Result<()> {
    let Some(ours) = &report.ours else {
        bail!("no Atari runs in the report, so no aggregates to plot")
    };
    let bars = |a: Option<&Aggregates>| {
        let values = vec![a.map(|a| a.mean), a.map(|a| a.median), a.map(|a| a.iqm)];
        let intervals = match a.and_then(|a| a.ci95) {
            Some(ci) => vec![Some(ci.mean), Some(ci.median), Some(ci.iqm)],
            None => vec![],
        };
        (values, intervals)
    };
    ours_beside_rem(
        format!("Human-normalised score over {} games (95% CI)", ours.games),
        vec!["mean".into(), "median".into(), "IQM".into()],
        bars(Some(ours)),
        bars(report.rem.as_ref()),
    )
    .write(svg_path)
}

/// Bars and their intervals, one per category.
type Bars = (Vec<Option<f64>>, Vec<Option<(f64, f64)>>);

/// A chart of human-normalised scores per category, ours beside REM's, with the
/// human level marked.
fn ours_beside_rem(title: String, categories: Vec<String>, ours: Bars, rem: Bars) -> BarChart {
    let group = |label: &str, color: &str, (values, intervals): Bars| BarGroup {
        label: label.into(),
        color: color.into(),
        values,
        intervals,
    };
    BarChart {
        title,
        y_label: "human-normalised score".into(),
        categories,
        groups: vec![
            group("ours", "#1f5fa8", ours),
            group("REM (published)", "#e07b39", rem),
        ],
        reference_line: Some((1.0, "human".into())),
    }
}
