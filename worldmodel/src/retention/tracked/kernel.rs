//! The retention of a training pass and its gradients, on f32 slices, one task per
//! (batch row, head) pair: what the chunkwise and parallel forms compute from burn's
//! tensor operations between the rotation and the dropout, without the dozens of
//! intermediate tensors that autodiff would record and write back in both passes.
//!
//! Shapes: queries and keys (rotated, keys scaled), values `[B, H, T, D]`, so each pair
//! is a contiguous `[T, D]` matrix; memories `[B, H, D, D]`. For one pair, a chunk of
//! L tokens with matrices Q, K, V (`[L, D]`) after memory S:
//!
//! ```text
//! Gamma[i, j] = gamma^(i-j) where j <= i, else 0       c_i = gamma^(i+1)   w_j = gamma^(L-1-j)
//! A  = (Q K^T) * Gamma
//! O  = A V + diag(c) Q S                                 the chunk's output
//! S' = gamma^L S + K^T diag(w) V                         the memory after it
//! ```
//!
//! and backwards, with dO the output's gradient and G the gradient of S' (what the
//! later chunks, or the caller, send back):
//!
//! ```text
//! dA = (dO V^T) * Gamma
//! dQ = dA K + diag(c) dO S^T
//! dK = dA^T Q + diag(w) V G^T
//! dV = A^T dO + diag(w) K G
//! dS = gamma^L G + Q^T diag(c) dO
//! ```

use rayon::prelude::*;

use crate::matrix::product;

/// The sizes of one call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PairShape {
    pub batch: usize,
    pub heads: usize,
    pub time: usize,
    pub head_dim: usize,
}

impl PairShape {
    fn pairs(&self) -> usize {
        self.batch * self.heads
    }

    fn tokens_len(&self) -> usize {
        self.time * self.head_dim
    }

    fn memory_len(&self) -> usize {
        self.head_dim * self.head_dim
    }

    /// `(start, len)` of each chunk of `chunk_len` tokens; the last may be shorter.
    fn chunks(
        &self,
        chunk_len: usize,
    ) -> impl DoubleEndedIterator<Item = (usize, usize)> + ExactSizeIterator {
        let time = self.time;
        (0..time.div_ceil(chunk_len)).map(move |c| {
            let start = c * chunk_len;
            (start, chunk_len.min(time - start))
        })
    }

    fn check_tokens(&self, tokens: &[&[f32]]) {
        for t in tokens {
            assert_eq!(
                t.len(),
                self.pairs() * self.tokens_len(),
                "retention tokens of the wrong size"
            );
        }
    }

    fn check_memories(&self, memories: &[f32], count: usize) {
        assert_eq!(
            memories.len(),
            count * self.pairs() * self.memory_len(),
            "retention memories of the wrong size"
        );
    }
}

/// One pair's `[T, D]` slices of the token inputs.
struct Tokens<'a> {
    q: &'a [f32],
    k: &'a [f32],
    v: &'a [f32],
    d: usize,
}

impl<'a> Tokens<'a> {
    /// Pair `p`'s slices of `[B, H, T, D]` queries, keys and values.
    fn of_pair(s: &PairShape, p: usize, [q, k, v]: [&'a [f32]; 3]) -> Self {
        let pair = p * s.tokens_len()..(p + 1) * s.tokens_len();
        Self {
            q: &q[pair.clone()],
            k: &k[pair.clone()],
            v: &v[pair],
            d: s.head_dim,
        }
    }

    /// The `[len, D]` slice of `x` for tokens `start..start + len`.
    fn rows<'x>(&self, x: &'x [f32], (start, len): (usize, usize)) -> &'x [f32] {
        &x[start * self.d..(start + len) * self.d]
    }
}

/// One task's buffers, each large enough for one chunk.
struct Scratch {
    /// `[L, L]`: A, or its gradient.
    scores: Vec<f32>,
    /// `[L, L]`: the other of the two.
    more_scores: Vec<f32>,
    /// `[L, D]`: rows of K, V or dO, each scaled by its decay.
    scaled: Vec<f32>,
    /// `[L, D]`: the same, for a second matrix.
    more_scaled: Vec<f32>,
}

impl Scratch {
    fn new(chunk_len: usize, d: usize) -> Self {
        Self {
            scores: vec![0.0; chunk_len * chunk_len],
            more_scores: vec![0.0; chunk_len * chunk_len],
            scaled: vec![0.0; chunk_len * d],
            more_scaled: vec![0.0; chunk_len * d],
        }
    }
}

/// gamma_h^e for e in `0..=max_exponent`, for head `h` of pair `p`.
fn head_powers<'a>(powers: &'a [Vec<f32>], s: &PairShape, p: usize) -> &'a [f32] {
    &powers[p % s.heads]
}

/// The output `O` (`[B, H, T, D]`) of retention over chunks of `chunk_len` tokens
/// after `memory`, and the memory before each chunk (`[B, H, C, D, D]`), which the
/// backward pass reads.
pub(crate) fn retained(
    s: &PairShape,
    [q, k, v]: [&[f32]; 3],
    memory: &[f32],
    chunk_len: usize,
    powers: &[Vec<f32>],
) -> (Vec<f32>, Vec<f32>) {
    s.check_tokens(&[q, k, v]);
    s.check_memories(memory, 1);
    let (n, dd) = (s.tokens_len(), s.memory_len());
    let chunks = s.time.div_ceil(chunk_len);
    let mut out = vec![0.0f32; q.len()];
    let mut before = vec![0.0f32; s.pairs() * chunks * dd];
    out.par_chunks_mut(n)
        .zip(before.par_chunks_mut(chunks * dd))
        .enumerate()
        .for_each_init(
            || Scratch::new(chunk_len, s.head_dim),
            |scratch, (p, (out, before))| {
                let x = Tokens::of_pair(s, p, [q, k, v]);
                let powers = head_powers(powers, s, p);
                let mut state = memory[p * dd..(p + 1) * dd].to_vec();
                for (c, chunk) in s.chunks(chunk_len).enumerate() {
                    before[c * dd..(c + 1) * dd].copy_from_slice(&state);
                    retain_chunk(&x, chunk, powers, &state, scratch, out);
                    if chunk.0 + chunk.1 < s.time {
                        advance(&x, chunk, powers, &mut state, scratch);
                    }
                }
            },
        );
    (out, before)
}

/// `O` of one chunk into its rows of `out`.
fn retain_chunk(
    x: &Tokens,
    chunk: (usize, usize),
    powers: &[f32],
    memory: &[f32],
    scratch: &mut Scratch,
    out: &mut [f32],
) {
    let (d, len) = (x.d, chunk.1);
    let (q, v) = (x.rows(x.q, chunk), x.rows(x.v, chunk));
    decayed_products(len, d, q, x.rows(x.k, chunk), powers, &mut scratch.scores);
    let o = &mut out[chunk.0 * d..(chunk.0 + len) * d];
    product(
        (len, d, len),
        o,
        (d, 1),
        false,
        &scratch.scores,
        (len, 1),
        v,
        (d, 1),
    );
    // diag(c) Q S: rows of Q scaled first, so that one product adds the term.
    scale_rows(&mut scratch.scaled, q, d, |i| powers[i + 1]);
    product(
        (len, d, d),
        o,
        (d, 1),
        true,
        &scratch.scaled,
        (d, 1),
        memory,
        (d, 1),
    );
}

/// `dst[i, j] = (a_i . b_j) gamma^(i-j)` where j <= i, else 0: `[len, len]`.
fn decayed_products(len: usize, d: usize, a: &[f32], b: &[f32], powers: &[f32], dst: &mut [f32]) {
    product((len, len, d), dst, (len, 1), false, a, (d, 1), b, (1, d));
    for (i, row) in dst[..len * len].chunks_exact_mut(len).enumerate() {
        for (j, value) in row.iter_mut().enumerate() {
            *value = if j <= i { *value * powers[i - j] } else { 0.0 };
        }
    }
}

/// `dst[i] = src[i] * factor(i)` for the rows of `src` (`[rows, d]`).
fn scale_rows(dst: &mut [f32], src: &[f32], d: usize, factor: impl Fn(usize) -> f32) {
    for (i, (dst, src)) in dst.chunks_exact_mut(d).zip(src.chunks_exact(d)).enumerate() {
        let f = factor(i);
        dst.iter_mut().zip(src).for_each(|(y, &x)| *y = x * f);
    }
}

/// `memory` <- gamma^L memory + K^T diag(w) V over one chunk.
fn advance(
    x: &Tokens,
    chunk: (usize, usize),
    powers: &[f32],
    memory: &mut [f32],
    scratch: &mut Scratch,
) {
    let (d, len) = (x.d, chunk.1);
    scale_rows(&mut scratch.scaled, x.rows(x.k, chunk), d, |j| {
        powers[len - 1 - j]
    });
    let decay = powers[len];
    memory.iter_mut().for_each(|m| *m *= decay);
    let v = x.rows(x.v, chunk);
    product(
        (d, d, len),
        memory,
        (d, 1),
        true,
        &scratch.scaled,
        (1, d),
        v,
        (d, 1),
    );
}

/// The gradients of [`retained`]'s output with respect to Q, K, V (`[B, H, T, D]`
/// each) and the incoming memory (`[B, H, D, D]`), from the output's gradient
/// `d_out` and the memories before each chunk that [`retained`] returned.
pub(crate) fn retained_backward(
    s: &PairShape,
    [q, k, v]: [&[f32]; 3],
    before: &[f32],
    d_out: &[f32],
    chunk_len: usize,
    powers: &[Vec<f32>],
) -> [Vec<f32>; 4] {
    let (n, dd) = (s.tokens_len(), s.memory_len());
    let chunks = s.time.div_ceil(chunk_len);
    s.check_tokens(&[q, k, v, d_out]);
    s.check_memories(before, chunks);
    let [mut dq, mut dk, mut dv] = [(); 3].map(|_| vec![0.0f32; q.len()]);
    let mut d_memory = vec![0.0f32; s.pairs() * dd];
    dq.par_chunks_mut(n)
        .zip(dk.par_chunks_mut(n))
        .zip(dv.par_chunks_mut(n))
        .zip(d_memory.par_chunks_mut(dd))
        .enumerate()
        .for_each_init(
            || Scratch::new(chunk_len, s.head_dim),
            |scratch, (p, (((dq, dk), dv), g))| {
                let x = Tokens::of_pair(s, p, [q, k, v]);
                let d_out = &d_out[p * n..(p + 1) * n];
                let powers = head_powers(powers, s, p);
                let before = &before[p * chunks * dd..(p + 1) * chunks * dd];
                // g: the gradient of the memory after the chunk at hand; nothing
                // reads the memory after the last one.
                for (c, chunk) in s.chunks(chunk_len).enumerate().rev() {
                    let grads = [&mut *dq, &mut *dk, &mut *dv];
                    let memory = &before[c * dd..(c + 1) * dd];
                    let d_o = x.rows(d_out, chunk);
                    retain_chunk_backward(&x, chunk, powers, memory, d_o, g, scratch, grads);
                }
            },
        );
    [dq, dk, dv, d_memory]
}

/// One chunk of [`retained_backward`]: writes the chunk's rows of dQ, dK and dV (one
/// pair's `[T, D]` buffers) and
/// turns `g` from the gradient of the memory after the chunk into that of the
/// memory before it.
#[allow(clippy::too_many_arguments)]
fn retain_chunk_backward(
    x: &Tokens,
    chunk: (usize, usize),
    powers: &[f32],
    memory: &[f32],
    d_o: &[f32],
    g: &mut [f32],
    scratch: &mut Scratch,
    [dq, dk, dv]: [&mut [f32]; 3],
) {
    let (d, len) = (x.d, chunk.1);
    let rows = chunk.0 * d..(chunk.0 + len) * d;
    let [dq, dk, dv] = [dq, dk, dv].map(|g| &mut g[rows.clone()]);
    let (q, k, v) = (x.rows(x.q, chunk), x.rows(x.k, chunk), x.rows(x.v, chunk));
    // The memory after the chunk: dK = diag(w) V G^T, dV = diag(w) K G.
    recurrence_backward((len, d), [k, v], powers, g, scratch, [dk, dv]);
    // Within the chunk.
    decayed_products(len, d, q, k, powers, &mut scratch.scores);
    decayed_products(len, d, d_o, v, powers, &mut scratch.more_scores);
    let (a, da) = (&scratch.scores, &scratch.more_scores);
    product((len, d, len), dq, (d, 1), false, da, (len, 1), k, (d, 1));
    product((len, d, len), dk, (d, 1), true, da, (1, len), q, (d, 1));
    product((len, d, len), dv, (d, 1), true, a, (1, len), d_o, (d, 1));
    // The memory before the chunk: dQ += diag(c) dO S^T, G <- gamma^L G + Q^T diag(c) dO.
    scale_rows(&mut scratch.scaled, d_o, d, |i| powers[i + 1]);
    product(
        (len, d, d),
        dq,
        (d, 1),
        true,
        &scratch.scaled,
        (d, 1),
        memory,
        (1, d),
    );
    let decay = powers[len];
    g.iter_mut().for_each(|m| *m *= decay);
    product(
        (d, d, len),
        g,
        (d, 1),
        true,
        q,
        (1, d),
        &scratch.scaled,
        (d, 1),
    );
}

/// The gradients that `S' = gamma^L S + K^T diag(w) V` sends to K and V from G, the
/// gradient of S': written (not added) into `dk`, `dv` (`[len, D]`). `g` is left as
/// it is.
fn recurrence_backward(
    (len, d): (usize, usize),
    [k, v]: [&[f32]; 2],
    powers: &[f32],
    g: &[f32],
    scratch: &mut Scratch,
    [dk, dv]: [&mut [f32]; 2],
) {
    let weight = |j: usize| powers[len - 1 - j];
    scale_rows(&mut scratch.scaled, v, d, weight);
    scale_rows(&mut scratch.more_scaled, k, d, weight);
    product(
        (len, d, d),
        dk,
        (d, 1),
        false,
        &scratch.scaled,
        (d, 1),
        g,
        (1, d),
    );
    product(
        (len, d, d),
        dv,
        (d, 1),
        false,
        &scratch.more_scaled,
        (d, 1),
        g,
        (d, 1),
    );
}

/// The memories after every `every` tokens and after the last (`[E, B, H, D, D]`,
/// E = ceil(T / every)), from `memory` before the first: entry e follows
/// `min((e + 1) * every, T)` tokens.
pub(crate) fn memories(
    s: &PairShape,
    [k, v]: [&[f32]; 2],
    memory: &[f32],
    every: usize,
    powers: &[Vec<f32>],
) -> Vec<f32> {
    s.check_tokens(&[k, v]);
    s.check_memories(memory, 1);
    let (n, dd) = (s.tokens_len(), s.memory_len());
    let entries = s.time.div_ceil(every);
    // Pair-major while computing, so that each task writes one contiguous run.
    let mut by_pair = vec![0.0f32; s.pairs() * entries * dd];
    by_pair
        .par_chunks_mut(entries * dd)
        .enumerate()
        .for_each_init(
            || Scratch::new(every, s.head_dim),
            |scratch, (p, out)| {
                let pair = p * n..(p + 1) * n;
                let x = Tokens {
                    q: &[],
                    k: &k[pair.clone()],
                    v: &v[pair],
                    d: s.head_dim,
                };
                let powers = head_powers(powers, s, p);
                let mut state = memory[p * dd..(p + 1) * dd].to_vec();
                for (e, segment) in s.chunks(every).enumerate() {
                    advance(&x, segment, powers, &mut state, scratch);
                    out[e * dd..(e + 1) * dd].copy_from_slice(&state);
                }
            },
        );
    swap_outer(&by_pair, s.pairs(), entries, dd)
}

/// The gradients of [`memories`] with respect to K, V (`[B, H, T, D]`) and the
/// incoming memory (`[B, H, D, D]`), from the gradients of its entries
/// (`[E, B, H, D, D]`).
pub(crate) fn memories_backward(
    s: &PairShape,
    [k, v]: [&[f32]; 2],
    d_memories: &[f32],
    every: usize,
    powers: &[Vec<f32>],
) -> [Vec<f32>; 3] {
    let (n, dd) = (s.tokens_len(), s.memory_len());
    let entries = s.time.div_ceil(every);
    s.check_tokens(&[k, v]);
    s.check_memories(d_memories, entries);
    let d_memories = swap_outer(d_memories, entries, s.pairs(), dd);
    let [mut dk, mut dv] = [(); 2].map(|_| vec![0.0f32; k.len()]);
    let mut d_memory = vec![0.0f32; s.pairs() * dd];
    dk.par_chunks_mut(n)
        .zip(dv.par_chunks_mut(n))
        .zip(d_memory.par_chunks_mut(dd))
        .enumerate()
        .for_each_init(
            || Scratch::new(every, s.head_dim),
            |scratch, (p, ((dk, dv), g))| {
                let pair = p * n..(p + 1) * n;
                let (k, v) = (&k[pair.clone()], &v[pair]);
                let powers = head_powers(powers, s, p);
                let d_entries = &d_memories[p * entries * dd..(p + 1) * entries * dd];
                for (e, (start, len)) in s.chunks(every).enumerate().rev() {
                    g.iter_mut()
                        .zip(&d_entries[e * dd..(e + 1) * dd])
                        .for_each(|(g, &d)| *g += d);
                    let rows = start * s.head_dim..(start + len) * s.head_dim;
                    let kv = [&k[rows.clone()], &v[rows.clone()]];
                    let dkv = [&mut dk[rows.clone()], &mut dv[rows]];
                    recurrence_backward((len, s.head_dim), kv, powers, g, scratch, dkv);
                    let decay = powers[len];
                    g.iter_mut().for_each(|m| *m *= decay);
                }
            },
        );
    [dk, dv, d_memory]
}

/// `[a, b, n]` -> `[b, a, n]`.
fn swap_outer(x: &[f32], a: usize, b: usize, n: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; x.len()];
    for i in 0..a {
        for j in 0..b {
            out[(j * a + i) * n..(j * a + i + 1) * n]
                .copy_from_slice(&x[(i * b + j) * n..(i * b + j + 1) * n]);
        }
    }
    out
}
