//! Pictures that a person looks at: `images` (frames as PNG), `recording`
//! (evaluation episodes as animated PNG) and `plot` (learning curves and score charts
//! as SVG).

pub mod images;
pub mod plot;
pub mod recording;
