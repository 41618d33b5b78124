//! Pictures that a person looks at: `images` (frames as PNG), `recording`
//! (evaluation episodes as animated PNG), `plot` (line plots, their panels and bar
//! charts as SVG) and `run_plots` (a run folder's learning curve and losses).

pub mod images;
pub mod plot;
pub mod recording;
pub mod run_plots;
