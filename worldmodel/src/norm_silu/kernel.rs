//! GroupNorm followed by SiLU on `[N, C, H, W]` f32 values, forward and backward,
//! each in one task per (frame, group).
//!
//! A group holds `C / G` consecutive channels of one frame, `L = C / G * H * W`
//! contiguous values. With `mu`, `var` the group's mean and biased variance:
//!
//! ```text
//! r  = 1 / sqrt(var + eps)          x^ = (x - mu) r
//! z  = gamma_c x^ + beta_c          y  = z / (1 + e^min(-z, 80))  (= z sigmoid(z))
//! ```
//!
//! Backward, with `s = sigmoid(z)` and means over the group:
//!
//! ```text
//! dz      = dy s (1 + z (1 - s))
//! dgamma_c = sum dz x^              dbeta_c = sum dz
//! dx^     = dz gamma_c
//! dx      = r (dx^ - mean(dx^) - x^ mean(dx^ x^))
//! ```
//!
//! Sums run in `LANES` interleaved partial sums, added in a fixed order, and the
//! per-channel sums of the affine gradients are added over frames in frame order, so
//! the bits do not depend on the thread count.

use rayon::prelude::*;

use crate::activation::exp_neg;
use crate::vector_exp::with_wide_vectors;

/// Partial sums per reduction: wide enough for the compiler to vectorise.
const LANES: usize = 16;

/// The shape of a GroupNorm call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupShape {
    pub frames: usize,
    pub channels: usize,
    /// Values per channel (`H * W`).
    pub plane: usize,
    pub groups: usize,
    pub epsilon: f32,
}

impl GroupShape {
    fn channels_per_group(&self) -> usize {
        self.channels / self.groups
    }

    fn group_len(&self) -> usize {
        self.channels_per_group() * self.plane
    }

    pub fn len(&self) -> usize {
        self.frames * self.channels * self.plane
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `mu` and `r` of every (frame, group), frame-major: `[N * G]` each.
#[derive(Debug, Clone)]
pub struct GroupStats {
    pub mean: Vec<f32>,
    pub inv_std: Vec<f32>,
}

/// The sum of `values`, in `LANES` partial sums added in a fixed order.
fn lane_sum(values: impl Iterator<Item = f32>) -> f32 {
    let mut lanes = [0.0f32; LANES];
    for (i, v) in values.enumerate() {
        lanes[i % LANES] += v;
    }
    lanes.iter().sum()
}

/// `lane_sum` over a slice, in chunks the compiler turns into vector adds.
fn slice_sum(values: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += f(v);
        }
    }
    lanes.iter().sum::<f32>() + lane_sum(chunks.remainder().iter().map(|&v| f(v)))
}

/// `y` (same shape as `x`) and the statistics the backward pass needs.
pub fn forward(s: &GroupShape, x: &[f32], gamma: &[f32], beta: &[f32]) -> (Vec<f32>, GroupStats) {
    assert_eq!(x.len(), s.len(), "GroupNorm input of the wrong size");
    let (len, per_group) = (s.group_len(), s.channels_per_group());
    let mut y = vec![0.0f32; x.len()];
    let stats: Vec<(f32, f32)> = y
        .par_chunks_mut(len.max(1))
        .zip(x.par_chunks(len.max(1)))
        .enumerate()
        .map(|(task, (out, x))| {
            let n = len as f32;
            let mean = slice_sum(x, |v| v) / n;
            let var = slice_sum(x, |v| (v - mean) * (v - mean)) / n;
            let inv_std = 1.0 / (var + s.epsilon).sqrt();
            let first_channel = (task % s.groups) * per_group;
            for (c, (out, x)) in out.chunks_mut(s.plane).zip(x.chunks(s.plane)).enumerate() {
                let (g, b) = (gamma[first_channel + c], beta[first_channel + c]);
                with_wide_vectors(|| {
                    for (o, &v) in out.iter_mut().zip(x) {
                        let z = (v - mean) * inv_std * g + b;
                        *o = z / (exp_neg(z) + 1.0);
                    }
                })
            }
            (mean, inv_std)
        })
        .collect();
    let (mean, inv_std) = stats.into_iter().unzip();
    (y, GroupStats { mean, inv_std })
}

/// The gradients of `x`, `gamma` and `beta` from the output gradient `dy`.
pub fn backward(
    s: &GroupShape,
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    stats: &GroupStats,
    dy: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    assert_eq!(dy.len(), s.len(), "GroupNorm gradient of the wrong size");
    let (len, per_group) = (s.group_len(), s.channels_per_group());
    let mut dx = vec![0.0f32; x.len()];
    // Per task: the sums of dz x^ and of dz for each of its channels.
    let affine: Vec<Vec<(f32, f32)>> = dx
        .par_chunks_mut(len.max(1))
        .zip(x.par_chunks(len.max(1)).zip(dy.par_chunks(len.max(1))))
        .enumerate()
        .map_init(
            || vec![0.0f32; len],
            |dxhat, (task, (dx, (x, dy)))| {
                let (mean, inv_std) = (stats.mean[task], stats.inv_std[task]);
                let first_channel = (task % s.groups) * per_group;
                let mut sums = Vec::with_capacity(per_group);
                for c in 0..per_group {
                    let (g, b) = (gamma[first_channel + c], beta[first_channel + c]);
                    let plane = c * s.plane..(c + 1) * s.plane;
                    // dz into the buffer first (a loop of vector e^x), then the sums.
                    let dz = &mut dxhat[plane.clone()];
                    with_wide_vectors(|| {
                        for ((d, &v), &dy) in
                            dz.iter_mut().zip(&x[plane.clone()]).zip(&dy[plane.clone()])
                        {
                            let z = (v - mean) * inv_std * g + b;
                            let sig = 1.0 / (exp_neg(z) + 1.0);
                            *d = dy * sig * (1.0 + z * (1.0 - sig));
                        }
                    });
                    let x = &x[plane];
                    let dgamma = lane_sum(
                        dz.iter()
                            .zip(x)
                            .map(|(&dz, &v)| dz * ((v - mean) * inv_std)),
                    );
                    let dbeta = slice_sum(dz, |d| d);
                    dz.iter_mut().for_each(|d| *d *= g);
                    sums.push((dgamma, dbeta));
                }
                let n = len as f32;
                let mean_dxhat = slice_sum(dxhat, |d| d) / n;
                let mean_dxhat_xhat = lane_sum(
                    dxhat
                        .iter()
                        .zip(x.iter())
                        .map(|(&d, &v)| d * (v - mean) * inv_std),
                ) / n;
                for ((o, &d), &v) in dx.iter_mut().zip(dxhat.iter()).zip(x) {
                    let xhat = (v - mean) * inv_std;
                    *o = inv_std * (d - mean_dxhat - xhat * mean_dxhat_xhat);
                }
                sums
            },
        )
        .collect();
    let mut dgamma = vec![0.0f32; s.channels];
    let mut dbeta = vec![0.0f32; s.channels];
    for (task, sums) in affine.iter().enumerate() {
        let first_channel = (task % s.groups) * per_group;
        for (c, &(dg, db)) in sums.iter().enumerate() {
            dgamma[first_channel + c] += dg;
            dbeta[first_channel + c] += db;
        }
    }
    (dx, dgamma, dbeta)
}
