//! The rotation on f32 rows, forward and backward, for the CPU backend.
//!
//! For the pair `(x0, x1)` of token `t` in row `r`, at position `p = first[r] + t`, with
//! `c = cos(p theta_i)` and `s = sin(p theta_i)`:
//!
//! ```text
//! y0 = x0 c - x1 s        y1 = x1 c + x0 s          (rotation by +angle)
//! dx0 = dy0 c + dy1 s     dx1 = dy1 c - dy0 s       (its transpose: rotation by -angle)
//! ```
//!
//! A scale `a` (the keys' 1 / sqrt(head_dim)) multiplies `y` after the rotation, and
//! so `dy` before the transpose.
//!
//! The angles are computed as the composed form computes them (an f32 position
//! times an f32 theta, then f32 cos and sin), and each output is the same product
//! and sum as there, so both forms give the same bits.

use rayon::prelude::*;

use super::pair_frequencies;

/// Tokens per parallel task.
const TOKENS_PER_TASK: usize = 256;

/// cos and sin of `p * theta_i` for the positions of every row: `[positions, pairs]`
/// from the smallest first position on.
#[derive(Debug)]
pub(crate) struct AngleTable {
    first_positions: Vec<usize>,
    time: usize,
    lowest: usize,
    pairs: usize,
    cos: Vec<f32>,
    sin: Vec<f32>,
}

impl AngleTable {
    /// Angles for `time` tokens per row, row `r` starting at `first_positions[r]`.
    pub fn new(head_dim: usize, first_positions: &[usize], time: usize) -> Self {
        let lowest = first_positions.iter().copied().min().unwrap_or(0);
        let end = first_positions.iter().map(|&p| p + time).max().unwrap_or(0);
        let theta: Vec<f32> = pair_frequencies(head_dim)
            .into_iter()
            .step_by(2)
            .map(|t| t as f32)
            .collect();
        let angles: Vec<f32> = (lowest..end)
            .flat_map(|p| theta.iter().map(move |&t| p as f32 * t))
            .collect();
        Self {
            first_positions: first_positions.to_vec(),
            time,
            lowest,
            pairs: theta.len(),
            cos: angles.iter().map(|a| a.cos()).collect(),
            sin: angles.iter().map(|a| a.sin()).collect(),
        }
    }

    pub fn rows(&self) -> usize {
        self.first_positions.len()
    }

    pub fn time(&self) -> usize {
        self.time
    }

    /// Rotates one head's values `x` of the token `index` (rows one after another)
    /// into `out`, times `scale`.
    pub fn rotate_head(&self, index: usize, x: &[f32], scale: f32, out: &mut [f32]) {
        let (cos, sin) = self.of_token(index);
        turn_head(out, x, cos, sin, Turn::Forward, scale);
    }

    /// cos and sin of every pair of the token `index` (rows one after another).
    fn of_token(&self, index: usize) -> (&[f32], &[f32]) {
        let position = self.first_positions[index / self.time] + index % self.time;
        let at = (position - self.lowest) * self.pairs;
        (
            &self.cos[at..at + self.pairs],
            &self.sin[at..at + self.pairs],
        )
    }
}

/// Which way to turn: the rotation, or its transpose for the backward pass.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Turn {
    Forward,
    Back,
}

/// `x` (`[rows, time, heads * head_dim]`, contiguous) turned by the table's angles
/// and scaled.
pub(crate) fn turn(table: &AngleTable, x: &[f32], turn: Turn, scale: f32) -> Vec<f32> {
    let width = x.len() / (table.rows() * table.time()).max(1);
    let head_dim = 2 * table.pairs;
    let mut y = vec![0.0f32; x.len()];
    let task = width * TOKENS_PER_TASK;
    y.par_chunks_mut(task)
        .zip(x.par_chunks(task))
        .enumerate()
        .for_each(|(block, (out, input))| {
            let tokens = out.chunks_exact_mut(width).zip(input.chunks_exact(width));
            for (i, (out, input)) in tokens.enumerate() {
                let (cos, sin) = table.of_token(block * TOKENS_PER_TASK + i);
                let heads = out
                    .chunks_exact_mut(head_dim)
                    .zip(input.chunks_exact(head_dim));
                for (out, input) in heads {
                    turn_head(out, input, cos, sin, turn, scale);
                }
            }
        });
    y
}

fn turn_head(out: &mut [f32], x: &[f32], cos: &[f32], sin: &[f32], turn: Turn, a: f32) {
    let pairs = out.chunks_exact_mut(2).zip(x.chunks_exact(2));
    for ((o, x), (&c, &s)) in pairs.zip(cos.iter().zip(sin)) {
        match turn {
            Turn::Forward => {
                o[0] = (x[0] * c - x[1] * s) * a;
                o[1] = (x[1] * c + x[0] * s) * a;
            }
            Turn::Back => {
                let (dy0, dy1) = (x[0] * a, x[1] * a);
                o[0] = dy0 * c + dy1 * s;
                o[1] = dy1 * c - dy0 * s;
            }
        }
    }
}
