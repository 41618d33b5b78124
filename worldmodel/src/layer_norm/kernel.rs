//! LayerNorm over the last dimension of f32 rows, forward and backward.
//!
//! For a row `x` of `d` values with mean `mu` and biased variance `var`:
//!
//! ```text
//! r = 1 / sqrt(var + eps)      x^ = (x - mu) r      y = gamma x^ + beta
//! dx^ = dy gamma
//! dx  = r (dx^ - mean(dx^) - x^ mean(dx^ x^))
//! dgamma = sum over rows dy x^      dbeta = sum over rows dy
//! ```
//!
//! Rows run in parallel in fixed blocks of `BLOCK_ROWS`; the affine gradients are
//! summed per block and then over the blocks in order, so the bits do not depend on
//! the thread count.

use rayon::prelude::*;

/// Rows per parallel task.
const BLOCK_ROWS: usize = 64;

/// `mu` and `r` of every row.
#[derive(Debug, Clone)]
pub struct RowStats {
    pub mean: Vec<f32>,
    pub inv_std: Vec<f32>,
}

/// `mu` and `r` of one row.
pub(crate) fn row_stats(x: &[f32], epsilon: f32) -> (f32, f32) {
    let n = x.len() as f32;
    let mean = x.iter().sum::<f32>() / n;
    let var = x.iter().map(|&v| (v - mean) * (v - mean)).sum::<f32>() / n;
    (mean, 1.0 / (var + epsilon).sqrt())
}

/// `y` (the shape of `x`) and the statistics of its rows; `x` holds rows of
/// `gamma.len()` values.
pub fn forward(x: &[f32], gamma: &[f32], beta: &[f32], epsilon: f32) -> (Vec<f32>, RowStats) {
    let d = gamma.len();
    assert!(
        x.len().is_multiple_of(d) && beta.len() == d,
        "LayerNorm shapes"
    );
    let mut y = vec![0.0f32; x.len()];
    let stats: Vec<(f32, f32)> = y
        .par_chunks_mut(d * BLOCK_ROWS)
        .zip(x.par_chunks(d * BLOCK_ROWS))
        .flat_map_iter(|(out, x)| {
            out.chunks_mut(d)
                .zip(x.chunks(d))
                .map(|(out, x)| {
                    let (mean, inv_std) = row_stats(x, epsilon);
                    for (((o, &v), &g), &b) in out.iter_mut().zip(x).zip(gamma).zip(beta) {
                        *o = (v - mean) * inv_std * g + b;
                    }
                    (mean, inv_std)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let (mean, inv_std) = stats.into_iter().unzip();
    (y, RowStats { mean, inv_std })
}

/// The gradients of `x`, `gamma` and `beta` from the output gradient `dy`.
pub fn backward(
    x: &[f32],
    gamma: &[f32],
    stats: &RowStats,
    dy: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let d = gamma.len();
    assert_eq!(x.len(), dy.len(), "LayerNorm gradient of the wrong size");
    let mut dx = vec![0.0f32; x.len()];
    let n = d as f32;
    let partials: Vec<(Vec<f32>, Vec<f32>)> = dx
        .par_chunks_mut(d * BLOCK_ROWS)
        .zip(
            x.par_chunks(d * BLOCK_ROWS)
                .zip(dy.par_chunks(d * BLOCK_ROWS)),
        )
        .enumerate()
        .map(|(block, (dx, (x, dy)))| {
            let (mut dgamma, mut dbeta) = (vec![0.0f32; d], vec![0.0f32; d]);
            let mut dxhat = vec![0.0f32; d];
            for (r, ((dx, x), dy)) in dx
                .chunks_mut(d)
                .zip(x.chunks(d))
                .zip(dy.chunks(d))
                .enumerate()
            {
                let row = block * BLOCK_ROWS + r;
                let (mean, inv_std) = (stats.mean[row], stats.inv_std[row]);
                let (mut sum, mut sum_xhat) = (0.0f32, 0.0f32);
                for i in 0..d {
                    let xhat = (x[i] - mean) * inv_std;
                    dgamma[i] += dy[i] * xhat;
                    dbeta[i] += dy[i];
                    dxhat[i] = dy[i] * gamma[i];
                    sum += dxhat[i];
                    sum_xhat += dxhat[i] * xhat;
                }
                let (mean_dxhat, mean_dxhat_xhat) = (sum / n, sum_xhat / n);
                for i in 0..d {
                    let xhat = (x[i] - mean) * inv_std;
                    dx[i] = inv_std * (dxhat[i] - mean_dxhat - xhat * mean_dxhat_xhat);
                }
            }
            (dgamma, dbeta)
        })
        .collect();
    let mut dgamma = vec![0.0f32; d];
    let mut dbeta = vec![0.0f32; d];
    for (g, b) in &partials {
        dgamma.iter_mut().zip(g).for_each(|(t, v)| *t += v);
        dbeta.iter_mut().zip(b).for_each(|(t, v)| *t += v);
    }
    (dx, dgamma, dbeta)
}
