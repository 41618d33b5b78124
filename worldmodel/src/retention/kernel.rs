//! Retention without autodiff in one task per batch row: rotation, the chunkwise
//! recurrence, the head-wise group norm and the memory after the last chunk, on f32
//! slices. It computes what [`super::parallel::retain`], [`super::parallel::advance_memory`]
//! and the group norm of [`super::MultiScaleRetention::finish`] compute from burn's
//! tensor operations, without the dozen intermediate tensors those write.
//!
//! Shapes: projections `q`, `k`, `v` `[B, T, W]` (heads side by side, `W = H * D`),
//! memory `[B, H, D, D]`. For row `b`, head `h`, token `t` at absolute position
//! `p = first_b + t`, pair `i` of a head turns by `p * theta_i`:
//!
//! ```text
//! q'_t = rot(q_t),  k'_t = rot(k_t) / sqrt(D)
//! chunk of c tokens after memory S, token i of it:
//!   o_i = sum_{j <= i} gamma^(i-j) (q'_i . k'_j) v_j + gamma^(i+1) q'_i S
//!   S  <- gamma^c S + sum_j gamma^(c-1-j) k'_j^T v_j
//! out_t = (o_t - mean(o_t)) / sqrt(var(o_t) + eps)   per head, over its D values
//! ```
//!
//! The rotation is the rotary module's, from its f32 angle table: imagination turns
//! queries and keys exactly as training does, and as REM does, in f32.

use rayon::prelude::*;

use super::decay::retention_decays;
use super::rotary::AngleTable;
use super::{key_scale, GROUP_NORM_EPSILON};
use crate::layer_norm::kernel::row_stats;
use crate::matrix::product;

/// The sizes of one call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetentionShape {
    pub batch: usize,
    pub time: usize,
    pub heads: usize,
    pub head_dim: usize,
}

impl RetentionShape {
    fn width(&self) -> usize {
        self.heads * self.head_dim
    }

    fn memory_len(&self) -> usize {
        self.heads * self.head_dim * self.head_dim
    }
}

/// One row's working buffers: rotated queries and keys, values, scores and the
/// per-chunk products.
struct Scratch {
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    scores: Vec<f32>,
    within: Vec<f32>,
    before: Vec<f32>,
    weighted_keys: Vec<f32>,
}

impl Scratch {
    fn new(s: &RetentionShape, chunk_len: usize) -> Self {
        let tokens = s.time * s.head_dim;
        let chunk = chunk_len * s.head_dim;
        Self {
            q: vec![0.0; tokens],
            k: vec![0.0; tokens],
            v: vec![0.0; tokens],
            scores: vec![0.0; chunk_len * chunk_len],
            within: vec![0.0; chunk],
            before: vec![0.0; chunk],
            weighted_keys: vec![0.0; chunk],
        }
    }
}

/// The normalised retention output `[B, T, W]` and, if `keep_memory`, the memory
/// after the last token `[B, H, D, D]`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn retain_rows(
    s: &RetentionShape,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    memory: &[f32],
    first_positions: &[usize],
    chunk_len: usize,
    keep_memory: bool,
) -> (Vec<f32>, Option<Vec<f32>>) {
    let row_len = s.time * s.width();
    assert!(
        q.len() == s.batch * row_len && k.len() == q.len() && v.len() == q.len(),
        "retention projections of the wrong size"
    );
    assert_eq!(
        memory.len(),
        s.batch * s.memory_len(),
        "memory of the wrong size"
    );
    assert_eq!(first_positions.len(), s.batch, "one first position per row");
    let chunk_len = chunk_len.clamp(1, s.time);
    let table = AngleTable::new(s.head_dim, first_positions, s.time);
    let powers = decay_powers(s.heads, chunk_len + 1);

    let mut out = vec![0.0f32; q.len()];
    let mut memory_after = memory.to_vec();
    out.par_chunks_mut(row_len)
        .zip(memory_after.par_chunks_mut(s.memory_len()))
        .enumerate()
        .for_each_init(
            || Scratch::new(s, chunk_len),
            |scratch, (b, (out, memory))| {
                let rows = b * row_len..(b + 1) * row_len;
                let row = Row {
                    s,
                    q: &q[rows.clone()],
                    k: &k[rows.clone()],
                    v: &v[rows],
                    index: b,
                    table: &table,
                };
                for (h, head_memory) in memory.chunks_mut(s.head_dim * s.head_dim).enumerate() {
                    row.retain_head(
                        h,
                        &powers[h],
                        chunk_len,
                        keep_memory,
                        head_memory,
                        scratch,
                        out,
                    );
                }
            },
        );
    (out, keep_memory.then_some(memory_after))
}

/// gamma_h^e for e in `0..=max_exponent`, per head.
pub(super) fn decay_powers(heads: usize, max_exponent: usize) -> Vec<Vec<f32>> {
    retention_decays(heads)
        .into_iter()
        .map(|gamma| {
            (0..=max_exponent)
                .map(|e| gamma.powi(e as i32) as f32)
                .collect()
        })
        .collect()
}

/// One batch row's inputs.
struct Row<'a> {
    s: &'a RetentionShape,
    q: &'a [f32],
    k: &'a [f32],
    v: &'a [f32],
    /// The row's place in the batch.
    index: usize,
    table: &'a AngleTable,
}

impl Row<'_> {
    /// Head `h` over every chunk: writes its normalised output into `out` (`[T, W]`)
    /// and, if `keep_memory`, leaves the memory after the last token in `memory`
    /// (`[D, D]`).
    #[allow(clippy::too_many_arguments)]
    fn retain_head(
        &self,
        h: usize,
        powers: &[f32],
        chunk_len: usize,
        keep_memory: bool,
        memory: &mut [f32],
        scratch: &mut Scratch,
        out: &mut [f32],
    ) {
        let (d, width) = (self.s.head_dim, self.s.width());
        let key_scale = key_scale(d);
        for t in 0..self.s.time {
            let at = t * width + h * d;
            let token = self.index * self.s.time + t;
            let here = t * d..(t + 1) * d;
            self.table.rotate_head(
                token,
                &self.q[at..at + d],
                1.0,
                &mut scratch.q[here.clone()],
            );
            self.table.rotate_head(
                token,
                &self.k[at..at + d],
                key_scale,
                &mut scratch.k[here.clone()],
            );
            scratch.v[here].copy_from_slice(&self.v[at..at + d]);
        }
        for start in (0..self.s.time).step_by(chunk_len) {
            let len = chunk_len.min(self.s.time - start);
            retain_chunk(d, start, len, powers, memory, scratch);
            for i in 0..len {
                let at = (start + i) * width + h * d;
                normalize(&scratch.within[i * d..(i + 1) * d], &mut out[at..at + d]);
            }
            if keep_memory || start + len < self.s.time {
                advance(d, start, len, powers, memory, scratch);
            }
        }
    }
}

/// `scratch.within` = the chunk's outputs `o_i`, `[len, D]`.
fn retain_chunk(
    d: usize,
    start: usize,
    len: usize,
    powers: &[f32],
    memory: &[f32],
    x: &mut Scratch,
) {
    let tokens = start * d..(start + len) * d;
    let (q, k, v) = (&x.q[tokens.clone()], &x.k[tokens.clone()], &x.v[tokens]);
    // scores[i, j] = q'_i . k'_j, then the causal decay gamma^(i-j).
    product(
        (len, len, d),
        &mut x.scores,
        (len, 1),
        false,
        q,
        (d, 1),
        k,
        (1, d),
    );
    for i in 0..len {
        let row = &mut x.scores[i * len..(i + 1) * len];
        for (j, s) in row.iter_mut().enumerate() {
            *s = if j <= i { *s * powers[i - j] } else { 0.0 };
        }
    }
    product(
        (len, d, len),
        &mut x.within,
        (d, 1),
        false,
        &x.scores,
        (len, 1),
        v,
        (d, 1),
    );
    product(
        (len, d, d),
        &mut x.before,
        (d, 1),
        false,
        q,
        (d, 1),
        memory,
        (d, 1),
    );
    for i in 0..len {
        let incoming = powers[i + 1];
        let (within, before) = (
            &mut x.within[i * d..(i + 1) * d],
            &x.before[i * d..(i + 1) * d],
        );
        for (w, &b) in within.iter_mut().zip(before) {
            *w += b * incoming;
        }
    }
}

/// `memory` <- gamma^len memory + sum_j gamma^(len-1-j) k'_j^T v_j over the chunk.
fn advance(
    d: usize,
    start: usize,
    len: usize,
    powers: &[f32],
    memory: &mut [f32],
    x: &mut Scratch,
) {
    let tokens = start * d..(start + len) * d;
    for (j, (w, k)) in x.weighted_keys[..len * d]
        .chunks_exact_mut(d)
        .zip(x.k[tokens.clone()].chunks_exact(d))
        .enumerate()
    {
        let weight = powers[len - 1 - j];
        w.iter_mut().zip(k).for_each(|(w, &k)| *w = k * weight);
    }
    let decay = powers[len];
    memory.iter_mut().for_each(|m| *m *= decay);
    product(
        (d, d, len),
        memory,
        (d, 1),
        true,
        &x.weighted_keys,
        (1, d),
        &x.v[tokens],
        (d, 1),
    );
}

/// One head's group norm: `(o - mean) / sqrt(var + eps)` over its `D` values.
fn normalize(o: &[f32], out: &mut [f32]) {
    let (mean, inv_std) = row_stats(o, GROUP_NORM_EPSILON as f32);
    for (y, &x) in out.iter_mut().zip(o) {
        *y = (x - mean) * inv_std;
    }
}
