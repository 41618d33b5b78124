//! Pictures that a person looks at: `images` (frames as PNG), `recording`
//! (evaluation episodes as animated PNG), `plot` (line plots, their panels and bar
//! charts as SVG), `run_plots` (a run folder's learning curve and losses) and
//! `ratings` (`rem ratings`: kept controllers in the game and in imagination).

pub mod images;
pub mod plot;
pub mod ratings;
pub mod recording;
pub mod run_plots;
