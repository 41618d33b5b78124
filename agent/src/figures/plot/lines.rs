//! Line plots: learning curves, and line plots as panels of one figure.

use std::path::Path;

use anyhow::Result;
use plotters::prelude::*;

use super::{
    chart_frame, draw_error, draw_legend, draw_reference_line, hex_color, tick_label, whisker,
    with_legend_room, write_atomically, Area, Chart, Scale, GRID, REFERENCE_GREY,
};

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
