//! Plots as SVG, drawn with plotters: a line plot (learning curves), line plots as
//! panels of one figure (a run's losses) and a grouped bar chart (per-game scores).
//! Text is written as SVG text, so no font files are needed; the files open in any
//! browser. `lines.rs` and `bars.rs` draw the two kinds; this file holds what they
//! share: the canvas, the axes' round scales, the legend, whiskers and the file write.

use std::path::Path;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use anyhow::{Context, Result};

mod bars;
mod lines;

pub use bars::{BarChart, BarGroup};
pub use lines::{LinePanels, LinePlot, Series, Whisker};

/// Ten colours that tell lines apart, in order (then again); no grey, which marks
/// references such as the random policy's score.
pub const PALETTE: [&str; 10] = [
    "#1f5fa8", "#e07b39", "#2e9e4f", "#c0392b", "#8e5ec4", "#8c564b", "#d45fb0", "#e6a817",
    "#b5b82a", "#17a2b8",
];

const GRID: RGBColor = RGBColor(0xe4, 0xe4, 0xe4);
const REFERENCE_RED: RGBColor = RGBColor(0xc0, 0x39, 0x2b);
const REFERENCE_GREY: RGBColor = RGBColor(0x50, 0x50, 0x50);

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

/// A vertical line from `low` to `high` at `x` with caps `half_cap` wide on each side;
/// `None` for an interval with an infinite end.
fn whisker(
    x: f64,
    (low, high): (f64, f64),
    half_cap: f64,
    style: ShapeStyle,
) -> Option<PathElement<(f64, f64)>> {
    if !(low.is_finite() && high.is_finite()) {
        return None;
    }
    let (left, right) = (x - half_cap, x + half_cap);
    let path = [
        (left, low),
        (right, low),
        (x, low),
        (x, high),
        (left, high),
        (right, high),
    ];
    Some(PathElement::new(path.to_vec(), style))
}

type Area<'b> = DrawingArea<SVGBackend<'b>, plotters::coord::Shift>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A white canvas with `title` and the plotting area over `x` x `y`, leaving
/// `x_label_area` pixels under it for the x labels.
fn chart_frame<'a, 'b>(
    root: &'a Area<'b>,
    title: &str,
    x_label_area: u32,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
) -> Result<Chart<'a, 'b>> {
    root.fill(&WHITE).map_err(draw_error)?;
    ChartBuilder::on(root)
        .caption(title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(x_label_area)
        .y_label_area_size(64)
        .build_cartesian_2d(x, y)
        .map_err(draw_error)
}

/// A dashed horizontal line at `value` from `left` to `right`, named in the legend.
fn draw_reference_line<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    value: f64,
    (left, right): (f64, f64),
    label: &str,
    color: RGBColor,
) -> Result<()> {
    let line = [(left, value), (right, value)];
    chart
        .draw_series(DashedLineSeries::new(line, 6, 4, color.stroke_width(1)))
        .map_err(draw_error)?
        .label(label)
        .legend(move |(lx, ly)| {
            let dash = move |from: i32| {
                PathElement::new(
                    vec![(lx + from, ly), (lx + from + 4, ly)],
                    color.stroke_width(1),
                )
            };
            EmptyElement::at((0, 0)) + dash(0) + dash(8) + dash(16)
        });
    Ok(())
}

fn draw_legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>) -> Result<()> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(draw_error)
}

/// The share of their span left above the values for the legend, which sits in
/// the upper left corner.
const LEGEND_ROOM: f64 = 0.4;

/// `values` and room above them for a legend of `rows` entries in a canvas
/// `height` pixels high: at least [`LEGEND_ROOM`] of their span, more when
/// the legend would take a larger share of the plotting area (about 150 pixels of
/// the canvas go to the title, margins and x labels; a legend row takes 19).
fn with_legend_room(
    values: impl Iterator<Item = f64>,
    rows: usize,
    height: u32,
) -> impl Iterator<Item = f64> {
    let legend = 19.0 * rows as f64 + 16.0;
    let area = f64::from(height) - 150.0;
    let share = (legend / area).min(0.8);
    with_room_above(values, (share / (1.0 - share)).max(LEGEND_ROOM))
}

/// `values` and one more `fraction` of their span above them.
fn with_room_above(values: impl Iterator<Item = f64>, fraction: f64) -> impl Iterator<Item = f64> {
    let values: Vec<f64> = values.collect();
    let (low, high) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    let room = (high > low).then_some(high + fraction * (high - low));
    values.into_iter().chain(room)
}

fn draw_error(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("cannot draw the plot: {error}")
}

/// `#rrggbb` as a colour; anything else is grey.
fn hex_color(hex: &str) -> RGBColor {
    let channel = |i: usize| {
        hex.get(1 + 2 * i..3 + 2 * i)
            .and_then(|c| u8::from_str_radix(c, 16).ok())
    };
    match (hex.len(), channel(0), channel(1), channel(2)) {
        (7, Some(r), Some(g), Some(b)) => RGBColor(r, g, b),
        _ => RGBColor(0x80, 0x80, 0x80),
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
