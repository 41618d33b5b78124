//! Quick checks that a part works end to end: `fit` (the tokenizer and world model
//! learn real frames) and `play` (a game runs under a fixed policy).

pub mod fit;
pub mod play;
