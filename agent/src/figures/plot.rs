//! Plots as SVG, drawn with plotters: a line plot (learning curves), line plots as
//! panels of one figure (a run's losses) and a grouped bar chart (per-game scores).
//! Text is written as SVG text, so no font files are needed; the files open in any
//! browser.

use std::path::Path;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use anyhow::{Context, Result};

const GRID: RGBColor = RGBColor(0xe4, 0xe4, 0xe4);
const REFERENCE_RED: RGBColor = RGBColor(0xc0, 0x39, 0x2b);
const REFERENCE_GREY: RGBColor = RGBColor(0x50, 0x50, 0x50);

/// One named line of a [`LinePlot`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub color: String,
    pub points: Vec<(f64, f64)>,
    /// Draw a dot at every point, not only the line.
    pub markers: bool,
    /// Whiskers in the line's colour, e.g. the 95% intervals of the points measured
    /// well enough to have one worth drawing; empty for none.
    pub intervals: Vec<Whisker>,
}

/// A whisker of a [`Series`]: `(x, (low, high))`.
pub type Whisker = (f64, (f64, f64));

/// Lines over a shared numeric x axis.
#[derive(Debug, Clone, PartialEq)]
pub struct LinePlot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// A dashed horizontal line across the plot with its label, e.g. the random
    /// policy's score.
    pub reference_line: Option<(f64, String)>,
    /// `(first, last)` x that the axis covers besides the points, e.g. the whole
    /// run for a part that trained in some epochs only; `None` for the points alone.
    pub x_span: Option<(f64, f64)>,
}

/// One coloured set of bars of a [`BarChart`]: a value per category, `None` where missing.
#[derive(Debug, Clone, PartialEq)]
pub struct BarGroup {
    pub label: String,
    pub color: String,
    pub values: Vec<Option<f64>>,
    /// A (low, high) interval per value, drawn as a whisker; empty for none.
    pub intervals: Vec<Option<(f64, f64)>>,
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
    pub fn to_svg(&self) -> Result<String> {
        let legend_rows = self.legend_rows();
        let height = 460 + 20 * legend_rows.saturating_sub(2) as u32;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (760, height)).into_drawing_area();
            self.draw_on(&root)?;
            root.present().map_err(draw_error)?;
        }
        Ok(svg)
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomically(path, &self.to_svg()?)
    }

    fn legend_rows(&self) -> usize {
        self.series.len() + usize::from(self.reference_line.is_some())
    }

    /// Draws the plot over the whole of `area`, a canvas of its own or a panel.
    fn draw_on(&self, area: &Area) -> Result<()> {
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
        let xs = series.iter().flatten().map(|p| p.0);
        let span = self
            .x_span
            .into_iter()
            .flat_map(|(first, last)| [first, last]);
        let x = Scale::covering(xs.chain(span.filter(|x| x.is_finite())));
        let interval_ends = self.series.iter().flat_map(|s| &s.intervals);
        let interval_ends = interval_ends.flat_map(|&(_, (low, high))| [low, high]);
        let reference = self.reference_line.as_ref().map(|(value, _)| *value);
        let y = Scale::covering(with_legend_room(
            series
                .iter()
                .flatten()
                .map(|p| p.1)
                .chain(interval_ends.filter(|v| v.is_finite()))
                .chain(reference),
            self.legend_rows(),
            area.dim_in_pixel().1,
        ));
        // Whiskers at the first or last x would lose half their caps to the frame.
        let half_cap = 0.008 * (x.max - x.min);
        let has_whiskers = self.series.iter().any(|s| !s.intervals.is_empty());
        let pad = if has_whiskers { 2.0 * half_cap } else { 0.0 };
        let (left, right) = (x.min - pad, x.max + pad);
        let mut chart = chart_frame(area, &self.title, 44, left..right, y.min..y.max)?;
        chart
            .configure_mesh()
            .x_labels(x.ticks().len())
            .y_labels(y.ticks().len())
            .x_label_formatter(&|v| tick_label(*v, x.step))
            .y_label_formatter(&|v| tick_label(*v, y.step))
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .label_style(("sans-serif", 15))
            .bold_line_style(GRID)
            .max_light_lines(0)
            .draw()
            .map_err(draw_error)?;
        for (style, points) in self.series.iter().zip(&series) {
            draw_line(&mut chart, style, points, half_cap)?;
        }
        if let Some((value, label)) = &self.reference_line {
            draw_reference_line(&mut chart, *value, (left, right), label, REFERENCE_GREY)?;
        }
        if series.iter().all(Vec::is_empty) {
            let centre = ((x.min + x.max) / 2.0, (y.min + y.max) / 2.0);
            draw_no_data(&mut chart, centre)
        } else {
            draw_legend(&mut chart)
        }
    }
}

/// Line plots as panels of one figure under a shared title, `columns` to a row.
#[derive(Debug, Clone, PartialEq)]
pub struct LinePanels {
    pub title: String,
    pub columns: usize,
    pub plots: Vec<LinePlot>,
}

impl LinePanels {
    /// Pixels of one panel; the figure's title takes `TITLE_HEIGHT` more.
    const PANEL: (u32, u32) = (600, 420);
    const TITLE_HEIGHT: u32 = 44;

    pub fn to_svg(&self) -> Result<String> {
        let columns = self.columns.max(1);
        let rows = self.plots.len().div_ceil(columns).max(1);
        let (width, height) = (Self::PANEL.0 * columns as u32, Self::PANEL.1 * rows as u32);
        let mut svg = String::new();
        {
            let size = (width, height + Self::TITLE_HEIGHT);
            let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
            root.fill(&WHITE).map_err(draw_error)?;
            let body = root
                .titled(&self.title, ("sans-serif", 26))
                .map_err(draw_error)?;
            for (plot, panel) in self.plots.iter().zip(body.split_evenly((rows, columns))) {
                plot.draw_on(&panel)?;
            }
            root.present().map_err(draw_error)?;
        }
        Ok(svg)
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomically(path, &self.to_svg()?)
    }
}

/// One series of a line plot, named in the legend: its line through the finite
/// `points`, dots where asked for, whiskers `half_cap` wide on each side.
fn draw_line<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    style: &Series,
    points: &[(f64, f64)],
    half_cap: f64,
) -> Result<()> {
    if points.is_empty() {
        return Ok(());
    }
    let color = hex_color(&style.color);
    chart
        .draw_series(LineSeries::new(
            points.iter().copied(),
            color.stroke_width(2),
        ))
        .map_err(draw_error)?
        .label(&style.label)
        .legend(move |(lx, ly)| {
            PathElement::new(vec![(lx, ly), (lx + 20, ly)], color.stroke_width(2))
        });
    // A lone point draws no line, so it always gets a dot.
    if style.markers || points.len() == 1 {
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(draw_error)?;
    }
    let whiskers = style
        .intervals
        .iter()
        .filter_map(|&(at, interval)| whisker(at, interval, half_cap, color.stroke_width(1)));
    chart.draw_series(whiskers).map_err(draw_error)?;
    Ok(())
}

/// "no data yet" at `centre`, in place of a legend with nothing to name.
fn draw_no_data<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, centre: (f64, f64)) -> Result<()> {
    let grey = ("sans-serif", 14)
        .into_font()
        .color(&RGBColor(0x80, 0x80, 0x80));
    chart
        .draw_series(std::iter::once(Text::new("no data yet", centre, grey)))
        .map_err(draw_error)?;
    Ok(())
}

/// One whisker per finite interval of `group`, centred at `centre(category)`, its
/// caps `half_cap` wide on each side.
fn whiskers(
    group: &BarGroup,
    centre: impl Fn(usize) -> f64,
    half_cap: f64,
) -> Vec<PathElement<(f64, f64)>> {
    let intervals = group.intervals.iter().enumerate();
    intervals
        .filter_map(|(i, ci)| whisker(centre(i), (*ci)?, half_cap, BLACK.stroke_width(1)))
        .collect()
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

impl BarChart {
    pub fn to_svg(&self) -> Result<String> {
        let interval_ends = |g: &BarGroup| {
            let ends = g.intervals.iter().flatten();
            ends.flat_map(|&(low, high)| [low, high])
                .collect::<Vec<_>>()
        };
        let values = self
            .groups
            .iter()
            .flat_map(|g| g.values.iter().flatten().copied().chain(interval_ends(g)))
            .filter(|v| v.is_finite());
        let reference = self.reference_line.as_ref().map(|(value, _)| *value);
        let y = Scale::covering(with_room_above(
            values.chain(std::iter::once(0.0)).chain(reference),
            LEGEND_ROOM,
        ));
        let categories = self.categories.len().max(1);
        let groups = self.groups.len().max(1);
        let width = (((12 * groups + 10) * categories).max(400) + 104) as u32;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (width, 500)).into_drawing_area();
            let x = 0.0..categories as f64;
            let mut chart = chart_frame(&root, &self.title, 110, x, y.min..y.max)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(0)
                .label_style(("sans-serif", 15))
                .y_labels(y.ticks().len())
                .y_label_formatter(&|v| tick_label(*v, y.step))
                .y_desc(&self.y_label)
                .bold_line_style(GRID)
                .max_light_lines(0)
                .draw()
                .map_err(draw_error)?;
            // Category names under the centre of their slots, reading downwards.
            let style = ("sans-serif", 14)
                .into_font()
                .transform(FontTransform::Rotate90);
            for (index, name) in self.categories.iter().enumerate() {
                let (px, py) = chart.backend_coord(&(index as f64 + 0.5, y.min));
                let label = Text::new(name.as_str(), (px + 6, py + 8), style.clone());
                root.draw(&label).map_err(draw_error)?;
            }
            let bar = 0.85 / groups as f64;
            for (g, group) in self.groups.iter().enumerate() {
                draw_bars(
                    &mut chart,
                    group,
                    |i| i as f64 + 0.075 + bar * g as f64,
                    bar,
                )?;
            }
            let ends = [(0.0, 0.0), (categories as f64, 0.0)];
            chart
                .draw_series(LineSeries::new(ends, BLACK.stroke_width(1)))
                .map_err(draw_error)?;
            if let Some((value, label)) = &self.reference_line {
                let span = (0.0, categories as f64);
                draw_reference_line(&mut chart, *value, span, label, REFERENCE_RED)?;
            }
            draw_legend(&mut chart)?;
            root.present().map_err(draw_error)?;
        }
        Ok(svg)
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomically(path, &self.to_svg()?)
    }
}

/// One group's bars, named in the legend: category i's bar `width` wide from
/// `left(i)`, from 0 to its finite value, with its interval as a whisker.
fn draw_bars<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    group: &BarGroup,
    left: impl Fn(usize) -> f64,
    width: f64,
) -> Result<()> {
    let color = hex_color(&group.color);
    let bars = group.values.iter().enumerate().filter_map(|(i, value)| {
        let value = value.filter(|v| v.is_finite())?;
        Some(Rectangle::new(
            [(left(i), 0.0), (left(i) + width, value)],
            color.filled(),
        ))
    });
    chart
        .draw_series(bars)
        .map_err(draw_error)?
        .label(&group.label)
        .legend(move |(lx, ly)| Rectangle::new([(lx, ly - 5), (lx + 12, ly + 5)], color.filled()));
    let whiskers = whiskers(group, |i| left(i) + width / 2.0, width / 4.0);
    chart.draw_series(whiskers).map_err(draw_error)?;
    Ok(())
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
