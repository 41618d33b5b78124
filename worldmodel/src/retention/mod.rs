//! Multi-scale retention (algorithm.md, section 3) in three numerically equivalent forms:
//! parallel (a whole sequence at once), recurrent (one token at a time) and
//! chunkwise (parallel inside chunks, recurrent across them).
//!
//! Every form reads an explicit [`RetentionState`] and, except the read-only form,
//! returns the state that follows. The state carries the absolute position of its
//! next token per batch row, so rotary angles never depend on how a sequence was cut.
//!
//! Written here with burn's tensor operations, which every backend runs and autodiff
//! differentiates; without autodiff on the CPU backend every form runs the kernel of
//! `kernel.rs` instead (`flex.rs` picks it), which computes the same from the same
//! projections in one task per batch row. With autodiff on the CPU backend the
//! rotary rotation is a kernel of its own (`rotary/kernel.rs`), with the same bits,
//! and so is the retention between the rotation and the dropout, with its backward
//! pass (`tracked/`).

mod chunkwise;
mod decay;
mod flex;
mod kernel;
mod parallel;
mod recurrent;
mod rotary;
mod state;
mod tracked;

pub use decay::retention_decays;
pub use state::RetentionState;

use crate::activation::silu;
use crate::dropout::Dropout;
use crate::error::ConfigError;
use burn::module::{Module, Param};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use rotary::Rotary;

/// Epsilon of the group norm applied to each head's retention output.
pub const GROUP_NORM_EPSILON: f64 = 1e-6;

/// Shape of a multi-scale retention layer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiScaleRetentionConfig {
    /// Model width; split evenly over the heads.
    pub d_model: usize,
    /// Number of heads, each with its own decay.
    pub n_heads: usize,
    /// Dropout probability on the retention output before the head-wise group norm
    /// (training only).
    #[serde(default)]
    pub dropout: f64,
}

impl MultiScaleRetentionConfig {
    /// A layer without dropout.
    pub fn new(d_model: usize, n_heads: usize) -> Self {
        Self {
            d_model,
            n_heads,
            dropout: 0.0,
        }
    }

    pub fn with_dropout(self, dropout: f64) -> Self {
        Self { dropout, ..self }
    }

    /// Width of one head.
    pub fn head_dim(&self) -> usize {
        self.d_model / self.n_heads.max(1)
    }

    /// Rejects shapes the layer cannot be built with.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |reason: String| Err(ConfigError::new("retention", reason));
        if self.n_heads == 0 || self.d_model == 0 {
            return bad(format!(
                "d_model and n_heads must be positive, got d_model {} and n_heads {}",
                self.d_model, self.n_heads
            ));
        }
        if !self.d_model.is_multiple_of(self.n_heads) {
            return bad(format!(
                "d_model {} is not divisible by n_heads {}",
                self.d_model, self.n_heads
            ));
        }
        if !self.head_dim().is_multiple_of(2) {
            return bad(format!(
                "head dim {} must be even for rotary pairs",
                self.head_dim()
            ));
        }
        Ok(())
    }

    /// Builds the layer: every projection Xavier-normal with zero bias (algorithm.md, section 3);
    /// panics with the message of [`Self::validate`] on a bad shape.
    pub fn init<B: Backend>(&self, device: &B::Device) -> MultiScaleRetention<B> {
        if let Err(err) = self.validate() {
            panic!("{err}");
        }
        let linear = || xavier_linear(self.d_model, self.d_model, device);
        MultiScaleRetention {
            query: linear(),
            key: linear(),
            value: linear(),
            gate: linear(),
            out: linear(),
            dropout: Dropout::new(self.dropout),
            n_heads: self.n_heads,
            head_dim: self.head_dim(),
        }
    }
}

/// Multi-scale retention: per-head decayed linear attention with rotary positions,
/// group norm over heads and a SiLU gate.
#[derive(Module, Debug)]
pub struct MultiScaleRetention<B: Backend> {
    pub query: Linear<B>,
    pub key: Linear<B>,
    pub value: Linear<B>,
    pub gate: Linear<B>,
    pub out: Linear<B>,
    /// On the retention output, before the group norm; identity without autodiff.
    pub dropout: Dropout,
    n_heads: usize,
    head_dim: usize,
}

/// Which tokens a pass computes outputs for past the retention itself (the gate and
/// output projection here, the feed-forward in the stack). Every token's keys and
/// values still enter the state; a world model reads the outputs of its action slots
/// only, the last token of every block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outputs {
    All,
    /// The last token of every run of this many (`time` must be a multiple).
    LastOfEvery(usize),
}

impl Outputs {
    /// `[batch, time, d]` -> the rows these outputs keep: `[batch, time, d]` or
    /// `[batch, time / period, d]`.
    pub fn pick<B: Backend>(self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let Outputs::LastOfEvery(period) = self else {
            return x;
        };
        let [batch, time, d] = x.dims();
        assert!(
            period > 0 && time.is_multiple_of(period),
            "{time} tokens are not whole runs of {period}"
        );
        let runs = time / period;
        x.reshape([batch, runs, period, d])
            .narrow(2, period - 1, 1)
            .reshape([batch, runs, d])
    }
}

/// Queries, keys and values as `[batch, heads, time, head_dim]`, rotated to their
/// absolute positions, keys already scaled.
pub(crate) struct Projected<B: Backend> {
    pub q: Tensor<B, 4>,
    pub k: Tensor<B, 4>,
    pub v: Tensor<B, 4>,
}

impl<B: Backend> MultiScaleRetention<B> {
    pub fn n_heads(&self) -> usize {
        self.n_heads
    }

    pub fn head_dim(&self) -> usize {
        self.head_dim
    }

    pub fn d_model(&self) -> usize {
        self.n_heads * self.head_dim
    }

    /// The empty state for `batch` rows whose next token sits at position 0.
    pub fn zero_state(&self, batch: usize, device: &B::Device) -> RetentionState<B> {
        RetentionState::zeros(batch, self.n_heads, self.head_dim, device)
    }

    /// Projects `x` (`[batch, time, d_model]`) whose first token of row `r` sits at
    /// absolute position `first_positions[r]`.
    pub(crate) fn project(&self, x: Tensor<B, 3>, first_positions: &[usize]) -> Projected<B> {
        let [_, time, _] = x.dims();
        let rotary = Rotary::new(
            self.n_heads,
            self.head_dim,
            first_positions,
            time,
            x.dtype(),
            &x.device(),
        );
        let q = self.split_heads(rotary.apply(self.query.forward(x.clone())));
        let k = self.split_heads(
            rotary.apply_scaled(self.key.forward(x.clone()), key_scale(self.head_dim)),
        );
        let v = self.split_heads(self.value.forward(x));
        Projected { q, k, v }
    }

    /// Turns retention output `[batch, heads, time, head_dim]` into the layer output
    /// `[batch, time, d_model]` at the tokens of `outputs`, gated by the layer input `x`.
    pub(crate) fn finish(
        &self,
        x: Tensor<B, 3>,
        retained: Tensor<B, 4>,
        outputs: Outputs,
    ) -> Tensor<B, 3> {
        let normed = normalize_each_head(self.dropout.forward(retained));
        self.finish_normed(x, normed, outputs)
    }

    /// [`Self::finish`] from the retention output already dropped out and normalised
    /// per head (`[batch, heads, time, head_dim]`).
    fn finish_normed(
        &self,
        x: Tensor<B, 3>,
        normed: Tensor<B, 4>,
        outputs: Outputs,
    ) -> Tensor<B, 3> {
        let [batch, _, time, _] = normed.dims();
        let normed = heads_side_by_side(normed).reshape([batch, time, self.d_model()]);
        self.gate_and_project(x, normed, outputs)
    }

    /// The layer output at the tokens of `outputs` from the projections `qkv` of `x`
    /// after `memory`, in chunks of `chunk_len` tokens, by the kernels of `tracked/`
    /// (callers check [`tracked::applies`]).
    fn finish_tracked(
        &self,
        x: Tensor<B, 3>,
        qkv: [Tensor<B, 4>; 3],
        memory: Tensor<B, 4>,
        chunk_len: usize,
        outputs: Outputs,
    ) -> Tensor<B, 3> {
        let normed = tracked::normalized_retention(qkv, memory, chunk_len, &self.dropout);
        self.finish_normed(x, normed, outputs)
    }

    /// The normalised retention output `normed` (`[batch, time, d_model]`) gated by
    /// the layer input `x` and projected, at the tokens of `outputs`.
    fn gate_and_project(
        &self,
        x: Tensor<B, 3>,
        normed: Tensor<B, 3>,
        outputs: Outputs,
    ) -> Tensor<B, 3> {
        let (x, normed) = (outputs.pick(x), outputs.pick(normed));
        self.out.forward(normed * silu(self.gate.forward(x)))
    }

    fn split_heads(&self, x: Tensor<B, 3>) -> Tensor<B, 4> {
        let [batch, time, _] = x.dims();
        heads_side_by_side(x.reshape([batch, time, self.n_heads, self.head_dim]))
    }

    pub(crate) fn check_input(&self, x_dims: [usize; 3], state: &RetentionState<B>) {
        let [batch, time, width] = x_dims;
        assert!(time > 0, "retention input has no tokens");
        assert!(
            width == self.d_model(),
            "retention input width {width} differs from d_model {}",
            self.d_model()
        );
        state.check_matches(batch, self.n_heads, self.head_dim);
    }
}

/// A `d_in -> d_out` linear layer with Xavier-normal weights (std sqrt(2 / (d_in +
/// d_out))) and a zero bias, PyTorch's `xavier_normal_` and `zeros_`.
pub fn xavier_linear<B: Backend>(d_in: usize, d_out: usize, device: &B::Device) -> Linear<B> {
    let mut linear = LinearConfig::new(d_in, d_out)
        .with_initializer(Initializer::XavierNormal { gain: 1.0 })
        .init(device);
    linear.bias = Some(Param::from_tensor(Tensor::zeros([d_out], device)));
    linear
}

/// `[batch, a, b, head_dim]` -> `[batch, b, a, head_dim]`, heads and tokens swapped
/// (either way). With one head the values keep their order, so the tensor is only
/// reshaped: a swap would be recorded by autodiff and copied back in both passes.
fn heads_side_by_side<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [batch, a, b, head_dim] = x.dims();
    if a == 1 || b == 1 {
        return x.reshape([batch, b, a, head_dim]);
    }
    x.swap_dims(1, 2)
}

/// The keys' scale 1 / sqrt(head_dim), the same f32 on every path.
fn key_scale(head_dim: usize) -> f32 {
    (1.0 / (head_dim as f64).sqrt()) as f32
}

/// `n` evenly spaced values from `start` to `end`, both included (`start` alone when
/// `n` is 1): start + (end - start) * i / (n - 1).
fn linspace(start: f64, end: f64, n: usize) -> impl Iterator<Item = f64> {
    (0..n).map(move |i| {
        let fraction = if n > 1 {
            i as f64 / (n - 1) as f64
        } else {
            0.0
        };
        start + (end - start) * fraction
    })
}

/// GroupNorm with one group per head and no affine: every token's head output is
/// normalised over its own `head_dim` values.
fn normalize_each_head<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let (variance, mean) = x.clone().var_mean_bias(3);
    (x - mean) / variance.add_scalar(GROUP_NORM_EPSILON).sqrt()
}
