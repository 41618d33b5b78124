//! One LPIPS layer's distance between two frames' features, forward and backward, on
//! f32 values laid out `[N, C, P]` (`P = H * W` positions of each channel).
//!
//! For frame `n`, with `m` the dropout mask (1 without dropout) and `w` the layer's
//! channel weights:
//!
//! ```text
//! r(f)[p]  = sqrt(sum_c f[c, p]^2) + 1e-10          x^ = fx / r(fx)   y^ = fy / r(fy)
//! e[c, p]  = x^[c, p] - y^[c, p]
//! d[n]     = (1 / P) sum_p sum_c e[c, p]^2 m[c, p] w[c]
//! ```
//!
//! Only `fy` gets a gradient (LPIPS compares against a detached target). With `g` the
//! gradient of `d[n]`, `s = sqrt(sum_c fy^2)` (so `r(fy) = s + 1e-10`) and
//!
//! ```text
//! dy^[c, p] = -2 e[c, p] m[c, p] w[c] g / P
//! k[p]      = sum_c dy^[c, p] fy[c, p] / (r(fy)[p]^2 s[p])
//! dfy[c, p] = dy^[c, p] / r(fy)[p] - fy[c, p] k[p]
//! ```
//!
//! (the second term is the path through `r`: `dr = -sum_c dy^ fy / r^2`, `ds = dr`,
//! `d(s^2) = ds / 2s`). As in LPIPS's own code, a position whose features are all zero
//! has `s = 0` and a gradient of 0 / 0. Frames run in parallel; each frame's sums run in
//! channel order, so the bits do not depend on the thread count.

use rayon::prelude::*;

/// Added to each position's feature length before dividing by it (LPIPS's `eps`).
const EPSILON: f32 = 1e-10;

/// The features' shape: frames, channels and positions per channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub frames: usize,
    pub channels: usize,
    pub positions: usize,
}

impl Shape {
    fn frame_len(&self) -> usize {
        self.channels * self.positions
    }

    fn check(&self, fx: &[f32], fy: &[f32], weights: &[f32], mask: Option<&[f32]>) {
        let len = self.frames * self.frame_len();
        assert!(
            fx.len() == len && fy.len() == len && weights.len() == self.channels,
            "LPIPS layer of {self:?}: features {} and {}, weights {}",
            fx.len(),
            fy.len(),
            weights.len()
        );
        assert!(mask.is_none_or(|m| m.len() == len), "dropout mask length");
    }
}

/// `d[n]` of every frame (module docs).
pub fn forward(
    shape: Shape,
    fx: &[f32],
    fy: &[f32],
    weights: &[f32],
    mask: Option<&[f32]>,
) -> Vec<f32> {
    shape.check(fx, fy, weights, mask);
    let frame_len = shape.frame_len();
    (0..shape.frames)
        .into_par_iter()
        .map(|n| {
            let at = n * frame_len..(n + 1) * frame_len;
            let (fx, fy) = (&fx[at.clone()], &fy[at.clone()]);
            let mask = mask.map(|m| &m[at]);
            let (rx, ry) = (radii(&norms(shape, fx)), radii(&norms(shape, fy)));
            let mut sums = vec![0.0f32; shape.positions];
            for (c, &w) in weights.iter().enumerate() {
                for (p, sum) in sums.iter_mut().enumerate() {
                    let i = c * shape.positions + p;
                    let e = fx[i] / rx[p] - fy[i] / ry[p];
                    let kept = mask.map_or(e * e, |m| e * e * m[i]);
                    *sum += kept * w;
                }
            }
            sums.iter().sum::<f32>() / shape.positions as f32
        })
        .collect()
}

/// `dfy` (the layout of `fy`) for the gradients `gradient[n]` of `d[n]` (module docs).
pub fn backward(
    shape: Shape,
    fx: &[f32],
    fy: &[f32],
    weights: &[f32],
    mask: Option<&[f32]>,
    gradient: &[f32],
) -> Vec<f32> {
    shape.check(fx, fy, weights, mask);
    assert_eq!(gradient.len(), shape.frames, "one gradient per frame");
    let frame_len = shape.frame_len();
    let mut dfy = vec![0.0f32; fy.len()];
    dfy.par_chunks_mut(frame_len)
        .enumerate()
        .for_each(|(n, dfy)| {
            let at = n * frame_len..(n + 1) * frame_len;
            let (fx, fy) = (&fx[at.clone()], &fy[at.clone()]);
            let mask = mask.map(|m| &m[at]);
            let sy = norms(shape, fy);
            let (rx, ry) = (radii(&norms(shape, fx)), radii(&sy));
            let scale = -2.0 * gradient[n] / shape.positions as f32;
            // dfy holds dy^ first; `dots` gathers sum_c dy^ fy.
            let mut dots = vec![0.0f32; shape.positions];
            for (c, &w) in weights.iter().enumerate() {
                for (p, dot) in dots.iter_mut().enumerate() {
                    let i = c * shape.positions + p;
                    let e = fx[i] / rx[p] - fy[i] / ry[p];
                    let kept = mask.map_or(e, |m| e * m[i]);
                    dfy[i] = kept * w * scale;
                    *dot += dfy[i] * fy[i];
                }
            }
            let k: Vec<f32> = dots
                .iter()
                .zip(ry.iter().zip(&sy))
                .map(|(dot, (r, s))| dot / (r * r * s))
                .collect();
            for (dfy, fy) in dfy
                .chunks_exact_mut(shape.positions)
                .zip(fy.chunks_exact(shape.positions))
            {
                for (p, (g, &f)) in dfy.iter_mut().zip(fy).enumerate() {
                    *g = *g / ry[p] - f * k[p];
                }
            }
        });
    dfy
}

/// `s(f)[p] = sqrt(sum_c f[c, p]^2)` of one frame's features `f` (`[C, P]`).
fn norms(shape: Shape, f: &[f32]) -> Vec<f32> {
    let mut squares = vec![0.0f32; shape.positions];
    for channel in f.chunks_exact(shape.positions) {
        for (sum, &v) in squares.iter_mut().zip(channel) {
            *sum += v * v;
        }
    }
    squares.into_iter().map(f32::sqrt).collect()
}

/// `r = s + 1e-10`, what the features are divided by.
fn radii(norms: &[f32]) -> Vec<f32> {
    norms.iter().map(|s| s + EPSILON).collect()
}
