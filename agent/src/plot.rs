//! Plots as hand-written SVG: a line plot (learning curves) and a grouped bar chart
//! (per-game scores), plus reading `metrics.jsonl`, the per-epoch log they are drawn
//! from. Plain string building keeps the dependency list short; the files open in
//! any browser.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::Value;

const EVAL_COLOR: &str = "#1f5fa8";
const COLLECT_COLOR: &str = "#a0a0a0";

/// One named line of a [`LinePlot`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub color: String,
    pub points: Vec<(f64, f64)>,
    /// Draw a dot at every point, not only the line.
    pub markers: bool,
}

/// Lines over a shared numeric x axis.
#[derive(Debug, Clone, PartialEq)]
pub struct LinePlot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
}

/// One coloured set of bars of a [`BarChart`]: a value per category, `None` where missing.
#[derive(Debug, Clone, PartialEq)]
pub struct BarGroup {
    pub label: String,
    pub color: String,
    pub values: Vec<Option<f64>>,
}

/// Bars grouped by category (e.g. one group of bars per game).
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    pub title: String,
    pub y_label: String,
    pub categories: Vec<String>,
    pub groups: Vec<BarGroup>,
    /// A dashed horizontal line with its label, e.g. human level.
    pub reference_line: Option<(f64, String)>,
}

/// Reads a `metrics.jsonl` file: one JSON object per epoch. An unterminated last
/// line is skipped, since the trainer may be halfway through appending it.
pub fn read_metrics(path: &Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read metrics file {}", path.display()))?;
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .collect();
    let mut records = Vec::with_capacity(lines.len());
    for (position, &(index, line)) in lines.iter().enumerate() {
        match serde_json::from_str::<Value>(line) {
            Ok(record) if record.is_object() => records.push(record),
            Ok(_) => bail!(
                "{} line {}: expected a JSON object",
                path.display(),
                index + 1
            ),
            Err(_) if position + 1 == lines.len() && !text.ends_with('\n') => {}
            Err(error) => bail!(
                "{} line {}: not valid JSON ({error})",
                path.display(),
                index + 1
            ),
        }
    }
    Ok(records)
}

/// The finite number at `keys` inside a metrics record, e.g. `["eval", "mean_return"]`.
pub fn metric(record: &Value, keys: &[&str]) -> Option<f64> {
    keys.iter()
        .try_fold(record, |value, key| value.get(key))
        .and_then(Value::as_f64)
        .filter(|value| value.is_finite())
}

/// The learning curve of a run: evaluation and collection mean returns against
/// environment steps. Records without a section simply contribute no point.
pub fn learning_curve(records: &[Value], title: &str) -> LinePlot {
    let points = |section: &str| -> Vec<(f64, f64)> {
        records
            .iter()
            .filter_map(|record| {
                Some((
                    metric(record, &["env_steps"])?,
                    metric(record, &[section, "mean_return"])?,
                ))
            })
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
                points: points("eval"),
                markers: true,
            },
            Series {
                label: "collect mean return".into(),
                color: COLLECT_COLOR.into(),
                points: points("collect"),
                markers: false,
            },
        ],
    }
}

/// Writes the learning curve of `metrics_path` as an SVG file. When the run's
/// `config.toml` sits beside the metrics, its game names the plot.
pub fn write_learning_curve(metrics_path: &Path, svg_path: &Path) -> Result<()> {
    let records = read_metrics(metrics_path)?;
    let title = match game_beside(metrics_path) {
        Some(game) => format!("{game}: learning curve"),
        None => "learning curve".to_string(),
    };
    learning_curve(&records, &title).write(svg_path)
}

/// `env.game` of the config next to a metrics file, if there is a readable one;
/// only a title depends on it, so anything missing just leaves it out.
fn game_beside(metrics_path: &Path) -> Option<String> {
    let config = crate::run_folder::RunFolder::new(metrics_path.parent()?).config_file();
    let text = std::fs::read_to_string(config).ok()?;
    let table: toml::Table = text.parse().ok()?;
    Some(table.get("env")?.get("game")?.as_str()?.to_string())
}

/// Writes `contents` to a temporary file beside `path`, then renames it over `path`,
/// so a reader never sees half a file. Creates missing parent folders.
pub fn write_atomically(path: &Path, contents: &str) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create folder {}", parent.display()))?;
    }
    rem_envs::durable::write_atomically(path, |w| std::io::Write::write_all(w, contents.as_bytes()))
        .with_context(|| format!("cannot write {}", path.display()))
}

impl LinePlot {
    pub fn to_svg(&self) -> String {
        let frame = Canvas {
            width: 760.0,
            height: 460.0,
            left: 80.0,
            right: 24.0,
            top: 64.0,
            bottom: 56.0,
        };
        let series: Vec<Vec<(f64, f64)>> = self
            .series
            .iter()
            .map(|s| {
                s.points
                    .iter()
                    .copied()
                    .filter(|(x, y)| x.is_finite() && y.is_finite())
                    .collect()
            })
            .collect();
        let x = Scale::covering(series.iter().flatten().map(|p| p.0));
        let y = Scale::covering(series.iter().flatten().map(|p| p.1));
        let mut svg = frame.open(&self.title);
        frame.y_axis(&mut svg, &y, &self.y_label);
        frame.x_axis(&mut svg, &x, &self.x_label);
        for (style, points) in self
            .series
            .iter()
            .zip(&series)
            .filter(|(_, points)| !points.is_empty())
        {
            let pixels: Vec<(f64, f64)> = points
                .iter()
                .map(|&(px, py)| (frame.x_pixel(&x, px), frame.y_pixel(&y, py)))
                .collect();
            let list: Vec<String> = pixels
                .iter()
                .map(|(px, py)| format!("{px:.1},{py:.1}"))
                .collect();
            let _ = writeln!(
                svg,
                r#"<polyline data-series="{}" points="{}" fill="none" stroke="{}" stroke-width="2"/>"#,
                escape(&style.label),
                list.join(" "),
                style.color
            );
            // A lone point draws no line, so it always gets a dot.
            if style.markers || pixels.len() == 1 {
                for (px, py) in pixels {
                    let _ = writeln!(
                        svg,
                        r#"<circle cx="{px:.1}" cy="{py:.1}" r="3" fill="{}"/>"#,
                        style.color
                    );
                }
            }
        }
        if series.iter().all(Vec::is_empty) {
            frame.note(&mut svg, "no data yet");
        }
        let shown: Vec<(&str, &str)> = self
            .series
            .iter()
            .zip(&series)
            .filter(|(_, points)| !points.is_empty())
            .map(|(s, _)| (s.label.as_str(), s.color.as_str()))
            .collect();
        frame.legend(&mut svg, &shown);
        svg.push_str("</svg>\n");
        svg
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomically(path, &self.to_svg())
    }
}

impl BarChart {
    pub fn to_svg(&self) -> String {
        let slot = 12.0 * self.groups.len().max(1) as f64 + 10.0;
        let plot_width = (slot * self.categories.len() as f64).max(400.0);
        let frame = Canvas {
            width: plot_width + 104.0,
            height: 500.0,
            left: 80.0,
            right: 24.0,
            top: 64.0,
            bottom: 120.0,
        };
        let values = self
            .groups
            .iter()
            .flat_map(|g| g.values.iter().flatten().copied())
            .filter(|v| v.is_finite());
        let reference = self.reference_line.as_ref().map(|(value, _)| *value);
        let y = Scale::covering(values.chain(std::iter::once(0.0)).chain(reference));
        let mut svg = frame.open(&self.title);
        frame.y_axis(&mut svg, &y, &self.y_label);
        let slot = plot_width / self.categories.len().max(1) as f64;
        let bar = (slot - 10.0) / self.groups.len().max(1) as f64;
        let zero = frame.y_pixel(&y, 0.0);
        for (index, category) in self.categories.iter().enumerate() {
            let start = frame.left + slot * index as f64 + 5.0;
            for (g, group) in self.groups.iter().enumerate() {
                let Some(value) = group
                    .values
                    .get(index)
                    .copied()
                    .flatten()
                    .filter(|v| v.is_finite())
                else {
                    continue;
                };
                let top = frame.y_pixel(&y, value);
                let _ = writeln!(
                    svg,
                    r#"<rect data-series="{}" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {value:.3}</title></rect>"#,
                    escape(&group.label),
                    start + bar * g as f64,
                    top.min(zero),
                    bar,
                    (top - zero).abs(),
                    group.color,
                    escape(&format!("{category} {}", group.label))
                );
            }
            let (cx, cy) = (
                start + (slot - 10.0) / 2.0,
                frame.height - frame.bottom + 14.0,
            );
            let _ = writeln!(
                svg,
                r#"<text x="{cx:.1}" y="{cy:.1}" font-size="11" text-anchor="end" transform="rotate(-45 {cx:.1} {cy:.1})">{}</text>"#,
                escape(category)
            );
        }
        let (x0, x1) = (frame.left, frame.width - frame.right);
        let _ = writeln!(
            svg,
            r##"<line x1="{x0}" y1="{zero:.1}" x2="{x1}" y2="{zero:.1}" stroke="#333"/>"##
        );
        if let Some((value, label)) = &self.reference_line {
            let py = frame.y_pixel(&y, *value);
            let _ = writeln!(
                svg,
                r##"<line x1="{x0}" y1="{py:.1}" x2="{x1}" y2="{py:.1}" stroke="#c0392b" stroke-dasharray="6 4"/>"##
            );
            let _ = writeln!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end" fill="#c0392b">{}</text>"##,
                x1 - 4.0,
                py - 4.0,
                escape(label)
            );
        }
        let shown: Vec<(&str, &str)> = self
            .groups
            .iter()
            .map(|g| (g.label.as_str(), g.color.as_str()))
            .collect();
        frame.legend(&mut svg, &shown);
        svg.push_str("</svg>\n");
        svg
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomically(path, &self.to_svg())
    }
}

/// An axis range from `min` to `max` with ticks every `step`, all round numbers.
#[derive(Debug, Clone, Copy)]
struct Scale {
    min: f64,
    max: f64,
    step: f64,
}

impl Scale {
    /// The smallest round range holding every value; a usable range for no values
    /// or for a single one.
    fn covering(values: impl Iterator<Item = f64>) -> Scale {
        let (mut low, mut high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(v), h.max(v))
        });
        if low > high {
            (low, high) = (0.0, 1.0);
        }
        if low == high {
            let pad = (low.abs() * 0.1).max(1.0);
            (low, high) = (low - pad, high + pad);
        }
        let step = nice_step((high - low) / 5.0);
        Scale {
            min: (low / step).floor() * step,
            max: (high / step).ceil() * step,
            step,
        }
    }

    fn ticks(&self) -> Vec<f64> {
        let count = ((self.max - self.min) / self.step).round() as usize;
        (0..=count)
            .map(|i| self.min + self.step * i as f64)
            .collect()
    }

    fn fraction(&self, value: f64) -> f64 {
        (value - self.min) / (self.max - self.min)
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.log10().floor());
    let mantissa = raw / magnitude;
    let nice = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .find(|&m| mantissa <= m + 1e-9)
        .unwrap_or(10.0);
    nice * magnitude
}

/// A tick label with as many decimals as the step needs; thousands as "k".
fn tick_label(value: f64, step: f64) -> String {
    // Ticks are sums of steps, so zero may come out as a tiny nonzero value.
    if value.abs() < step * 1e-6 {
        return "0".to_string();
    }
    let (value, step, suffix) = if step >= 1000.0 {
        (value / 1000.0, step / 1000.0, "k")
    } else {
        (value, step, "")
    };
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10()).ceil() as usize
    };
    format!("{value:.decimals$}{suffix}")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Canvas size and margins around the plotting area; draws the shared furniture.
struct Canvas {
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

impl Canvas {
    fn x_pixel(&self, scale: &Scale, value: f64) -> f64 {
        self.left + scale.fraction(value) * (self.width - self.left - self.right)
    }

    fn y_pixel(&self, scale: &Scale, value: f64) -> f64 {
        self.height - self.bottom - scale.fraction(value) * (self.height - self.top - self.bottom)
    }

    fn open(&self, title: &str) -> String {
        let (w, h) = (self.width, self.height);
        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif">"#
        );
        let _ = writeln!(
            svg,
            r#"<rect x="0" y="0" width="{w}" height="{h}" fill="white"/>"#
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="24" font-size="16" text-anchor="middle">{}</text>"#,
            w / 2.0,
            escape(title)
        );
        svg
    }

    /// Horizontal grid lines with their labels, the axis line and the axis title.
    fn y_axis(&self, svg: &mut String, scale: &Scale, label: &str) {
        let (x0, x1) = (self.left, self.width - self.right);
        for tick in scale.ticks() {
            let py = self.y_pixel(scale, tick);
            let _ = writeln!(
                svg,
                r##"<line x1="{x0}" y1="{py:.1}" x2="{x1}" y2="{py:.1}" stroke="#e4e4e4"/>"##
            );
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"#,
                x0 - 6.0,
                py + 4.0,
                tick_label(tick, scale.step)
            );
        }
        let (y0, y1) = (self.top, self.height - self.bottom);
        let _ = writeln!(
            svg,
            r##"<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="#333"/>"##
        );
        let (lx, ly) = (18.0, (y0 + y1) / 2.0);
        let _ = writeln!(
            svg,
            r#"<text x="{lx}" y="{ly:.1}" font-size="12" text-anchor="middle" transform="rotate(-90 {lx} {ly:.1})">{}</text>"#,
            escape(label)
        );
    }

    /// Ticks with their labels along the bottom, the axis line and the axis title.
    fn x_axis(&self, svg: &mut String, scale: &Scale, label: &str) {
        let y0 = self.height - self.bottom;
        for tick in scale.ticks() {
            let px = self.x_pixel(scale, tick);
            let _ = writeln!(
                svg,
                r##"<line x1="{px:.1}" y1="{y0}" x2="{px:.1}" y2="{:.1}" stroke="#333"/>"##,
                y0 + 5.0
            );
            let _ = writeln!(
                svg,
                r#"<text x="{px:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"#,
                y0 + 18.0,
                tick_label(tick, scale.step)
            );
        }
        let _ = writeln!(
            svg,
            r##"<line x1="{}" y1="{y0}" x2="{}" y2="{y0}" stroke="#333"/>"##,
            self.left,
            self.width - self.right
        );
        let middle = (self.left + self.width - self.right) / 2.0;
        let _ = writeln!(
            svg,
            r#"<text x="{middle:.1}" y="{:.1}" font-size="12" text-anchor="middle">{}</text>"#,
            self.height - 12.0,
            escape(label)
        );
    }

    /// A row of colour swatches and labels under the title, clear of the data.
    fn legend(&self, svg: &mut String, entries: &[(&str, &str)]) {
        let mut x = self.left;
        for (label, color) in entries {
            let _ = writeln!(
                svg,
                r#"<rect x="{x:.1}" y="38" width="14" height="10" fill="{color}"/>"#
            );
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="47" font-size="12">{}</text>"#,
                x + 20.0,
                escape(label)
            );
            x += 40.0 + 7.0 * label.chars().count() as f64;
        }
    }

    fn note(&self, svg: &mut String, text: &str) {
        let (cx, cy) = (
            (self.left + self.width - self.right) / 2.0,
            (self.top + self.height - self.bottom) / 2.0,
        );
        let _ = writeln!(
            svg,
            r##"<text x="{cx:.1}" y="{cy:.1}" font-size="14" text-anchor="middle" fill="#888">{text}</text>"##
        );
    }
}
