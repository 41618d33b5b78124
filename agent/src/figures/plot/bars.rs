//! A grouped bar chart: per-game scores beside the references.

use std::path::Path;

use anyhow::Result;
use plotters::prelude::*;

use super::{
    chart_frame, draw_error, draw_legend, draw_reference_line, hex_color, tick_label, whisker,
    with_room_above, write_atomically, Chart, Scale, GRID, LEGEND_ROOM, REFERENCE_RED,
};

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
