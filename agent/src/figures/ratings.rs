//! The figure of `rem ratings`: what each kept controller scores in the game, above
//! how each world model rates it against the reference controller.

use crate::dream::ratings::Ratings;
use crate::figures::plot::{LinePanels, LinePlot, Series, Whisker, PALETTE};

/// Two panels over the controllers' epochs: their scores in the game with 95%
/// intervals, and their imagined return minus the reference's in each world model
/// (and in their own epoch's), with paired 95% intervals. A line marks the reference
/// controller in both: its score in the game (where it has one) and zero.
pub fn ratings_figure(ratings: &Ratings, title: &str) -> LinePanels {
    let epochs = ratings.controllers.iter().map(|c| c.epoch as f64);
    let span = epochs.clone().fold(None, |span: Option<(f64, f64)>, e| {
        Some(span.map_or((e, e), |(lo, hi)| (lo.min(e), hi.max(e))))
    });
    let scored = ratings
        .controllers
        .iter()
        .filter_map(|c| Some((c.epoch as f64, c.game.as_ref()?)));
    let game = Series {
        label: "mean return".into(),
        color: PALETTE[0].into(),
        points: scored.clone().map(|(e, s)| (e, s.mean)).collect(),
        markers: true,
        intervals: scored.filter_map(|(e, s)| Some((e, s.ci95?))).collect(),
    };
    let line =
        |label: String, color: &str, rating: &dyn Fn(usize) -> crate::dream::ImaginedReturns| {
            let points = ratings.controllers.iter().enumerate();
            Series {
                label,
                color: color.into(),
                points: points
                    .clone()
                    .map(|(i, c)| (c.epoch as f64, rating(i).mean))
                    .collect(),
                markers: true,
                intervals: points
                    .filter_map(|(i, c)| -> Option<Whisker> {
                        Some((c.epoch as f64, rating(i).interval?))
                    })
                    .collect(),
            }
        };
    let mut imagined: Vec<Series> = ratings
        .worlds
        .iter()
        .enumerate()
        .map(|(w, epoch)| {
            let color = PALETTE[(w + 1) % PALETTE.len()];
            line(format!("world model of epoch {epoch}"), color, &|i| {
                ratings.controllers[i].in_worlds[w]
            })
        })
        .collect();
    imagined.push(line(
        "its own epoch's world model".into(),
        "#000000",
        &|i| ratings.controllers[i].own_world,
    ));
    let reference = format!("epoch {}'s controller", ratings.reference);
    let reference_score = ratings
        .controllers
        .iter()
        .find(|c| c.epoch == ratings.reference)
        .and_then(|c| Some((c.game.as_ref()?.mean, reference.clone())));
    let plot = |title: &str, y_label: &str, series, reference_line| LinePlot {
        title: title.into(),
        x_label: "controller of epoch".into(),
        y_label: y_label.into(),
        series,
        reference_line,
        x_span: span,
    };
    LinePanels {
        title: title.into(),
        columns: 1,
        plots: vec![
            plot("in the game", "return", vec![game], reference_score),
            plot(
                "in imagination",
                &format!("imagined return minus epoch {}'s", ratings.reference),
                imagined,
                Some((0.0, reference)),
            ),
        ],
    }
}
