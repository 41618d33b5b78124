//! The two plots of a run folder, drawn from `metrics.jsonl` as the run goes:
//! `learning_curve.svg`, the returns of play, and `losses.svg`, what each part
//! minimises and what the actor-critic sees in imagination, one panel per part.

use std::path::Path;

use anyhow::Result;

use super::plot::{LinePanels, LinePlot, Series};
use crate::training::metrics::{read_metrics, EpochMetrics, PhaseMeans};

const EVAL_COLOR: &str = "#1f5fa8";
const COLLECT_COLOR: &str = "#a0a0a0";
/// The colours of a panel's lines, in order.
const LINE_COLORS: [&str; 3] = ["#1f5fa8", "#e07b39", "#2e9e4f"];

/// The learning curve of a run: evaluation and collection mean returns against
/// environment steps. Records without a section simply contribute no point.
pub fn learning_curve(records: &[EpochMetrics], title: &str) -> LinePlot {
    let points = |mean: fn(&EpochMetrics) -> Option<f32>| -> Vec<(f64, f64)> {
        records
            .iter()
            .filter_map(|r| Some((r.env_steps as f64, f64::from(mean(r)?))))
            .collect()
    };
    LinePlot {
        title: title.to_string(),
        x_label: "environment steps".into(),
        y_label: "mean return".into(),
        series: vec![
            Series {
                label: "eval mean return".into(),
                color: EVAL_COLOR.into(),
                points: points(|r| r.eval.as_ref().map(|e| e.mean_return)),
                markers: true,
                intervals: Vec::new(),
            },
            Series {
                label: "collect mean return".into(),
                color: COLLECT_COLOR.into(),
                points: points(|r| r.collect.as_ref()?.mean_return),
                markers: false,
                intervals: Vec::new(),
            },
        ],
        reference_line: None,
        x_span: None,
    }
}

/// A run's epochs as its metrics.jsonl holds them and the game its config names,
/// read once for both of its plots.
pub struct RunPlots {
    records: Vec<EpochMetrics>,
    game: Option<String>,
}

impl RunPlots {
    /// Reads `metrics_path`; when the run's `config.toml` sits beside it, its game
    /// names the plots.
    pub fn read(metrics_path: &Path) -> Result<Self> {
        Ok(Self {
            records: read_metrics(metrics_path)?,
            game: game_beside(metrics_path),
        })
    }

    /// Writes [`learning_curve`] as an SVG file.
    pub fn write_learning_curve(&self, svg_path: &Path) -> Result<()> {
        learning_curve(&self.records, &self.title("learning curve")).write(svg_path)
    }

    /// Writes [`training_losses`] as an SVG file.
    pub fn write_losses(&self, svg_path: &Path) -> Result<()> {
        training_losses(&self.records, &self.title("losses")).write(svg_path)
    }

    /// `what`, after the run's game where its config names one.
    fn title(&self, what: &str) -> String {
        match &self.game {
            Some(game) => format!("{game}: {what}"),
            None => what.to_string(),
        }
    }
}

/// The losses of a run, one panel per part against epochs, from the means over each
/// epoch's steps: the tokenizer's reconstruction and commitment; the world model's
/// cross-entropies of the next frame's tokens, of the reward's sign and of the end;
/// the actor-critic's policy entropy; its value loss beside the imagined reward per
/// step. An epoch in which a part did not train gives its panel no point.
pub fn training_losses(records: &[EpochMetrics], title: &str) -> LinePanels {
    let tokenizer = Part::new("tokenizer", "loss", |r| r.tokenizer.as_ref());
    let world_model = Part::new("world model", "cross-entropy (nats)", |r| {
        r.world_model.as_ref()
    });
    let policy = Part::new("actor-critic: policy", "nats", |r| r.actor_critic.as_ref());
    let values = Part::new("actor-critic: values", "per step", |r| {
        r.actor_critic.as_ref()
    });
    LinePanels {
        title: title.to_string(),
        columns: 2,
        plots: vec![
            tokenizer.plot(
                records,
                &[
                    ("reconstruction", "reconstruction (MSE)"),
                    ("commitment", "commitment"),
                ],
            ),
            world_model.plot(
                records,
                &[
                    ("obs", "next frame's tokens"),
                    ("reward", "reward sign"),
                    ("done", "episode end"),
                ],
            ),
            policy.plot(records, &[("entropy", "policy entropy")]),
            values.plot(
                records,
                &[
                    ("value", "value loss (MSE)"),
                    ("imagined_reward", "imagined reward"),
                ],
            ),
        ],
    }
}

/// A panel of [`training_losses`]: the title, the y axis and which part's means
/// it reads.
struct Part {
    title: &'static str,
    y_label: &'static str,
    means: fn(&EpochMetrics) -> Option<&PhaseMeans>,
}

impl Part {
    fn new(
        title: &'static str,
        y_label: &'static str,
        means: fn(&EpochMetrics) -> Option<&PhaseMeans>,
    ) -> Self {
        Self {
            title,
            y_label,
            means,
        }
    }

    /// One line per `(logged name, label)`, against epochs.
    fn plot(&self, records: &[EpochMetrics], lines: &[(&str, &str)]) -> LinePlot {
        let epochs = match (records.first(), records.last()) {
            (Some(first), Some(last)) => Some((first.epoch as f64, last.epoch as f64)),
            _ => None,
        };
        let line = |&(name, label): &(&str, &str), color: &str| Series {
            label: label.into(),
            color: color.into(),
            points: records
                .iter()
                .filter_map(|r| Some((r.epoch as f64, (self.means)(r)?.get(name)?)))
                .collect(),
            markers: false,
            intervals: Vec::new(),
        };
        LinePlot {
            title: self.title.into(),
            x_label: "epoch".into(),
            y_label: self.y_label.into(),
            series: lines
                .iter()
                .zip(LINE_COLORS)
                .map(|(l, c)| line(l, c))
                .collect(),
            reference_line: None,
            // Every panel spans the run, so that one sees when each part trained.
            x_span: epochs,
        }
    }
}

/// `env.game` of the config next to a metrics file, if there is a readable one;
/// only a title depends on it, so anything missing just leaves it out.
fn game_beside(metrics_path: &Path) -> Option<String> {
    let config = crate::run_folder::RunFolder::new(metrics_path.parent()?).config_file();
    let text = std::fs::read_to_string(config).ok()?;
    let table: toml::Table = text.parse().ok()?;
    Some(table.get("env")?.get("game")?.as_str()?.to_string())
}
