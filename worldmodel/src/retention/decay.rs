//! Per-head decays gamma_h and the decay factors the three forms need.

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

use super::linspace;

/// gamma_h = 1 - exp(linspace(ln(1/32), ln(1/512), n_heads)): short memory for the
/// first head, long memory for the last.
pub fn retention_decays(n_heads: usize) -> Vec<f64> {
    let (shortest, longest) = ((1.0f64 / 32.0).ln(), (1.0f64 / 512.0).ln());
    linspace(shortest, longest, n_heads)
        .map(|exponent| 1.0 - exponent.exp())
        .collect()
}

/// Decay factors as tensors shaped to broadcast against `[batch, heads, time, dim]`.
///
/// Per-token factors are repeated over the batch rather than broadcast along it:
/// CPU backends multiply by a per-row factor much faster when its rows are laid
/// out one after another than through a stride-0 batch dimension.
pub(crate) struct Decay<B: Backend> {
    /// ln(gamma_h), `[heads]`.
    log_gamma: Tensor<B, 1>,
    n_heads: usize,
    batch: usize,
}

impl<B: Backend> Decay<B> {
    pub fn new(n_heads: usize, batch: usize, device: &B::Device) -> Self {
        let logs: Vec<f64> = retention_decays(n_heads).iter().map(|g| g.ln()).collect();
        let log_gamma = Tensor::from_data(TensorData::new(logs, [n_heads]), device);
        Self {
            log_gamma,
            n_heads,
            batch,
        }
    }

    /// gamma^e for each head and exponent: `[heads, n]`.
    fn powers(&self, exponents: Tensor<B, 1>) -> Tensor<B, 2> {
        let [n] = exponents.dims();
        (self.log_gamma.clone().reshape([self.n_heads, 1]) * exponents.reshape([1, n])).exp()
    }

    fn steps(&self, time: usize) -> Tensor<B, 1> {
        Tensor::<B, 1, Int>::arange(0..time as i64, &self.log_gamma.device()).float()
    }

    /// `[1, heads, time, time]`: gamma^(i-j) where j <= i, else 0.
    pub fn causal(&self, time: usize) -> Tensor<B, 4> {
        let steps = self.steps(time);
        let distance = steps.clone().reshape([time, 1]) - steps.reshape([1, time]);
        let is_past = distance.clone().greater_equal_elem(0.0).float();
        let decayed = (self.log_gamma.clone().reshape([self.n_heads, 1, 1])
            * distance.clamp_min(0.0).unsqueeze::<3>())
        .exp();
        (decayed * is_past.unsqueeze::<3>()).unsqueeze::<4>()
    }

    /// `[batch, heads, time, 1]`: gamma^(i+1), how much of the incoming memory token
    /// i sees.
    pub fn incoming(&self, time: usize) -> Tensor<B, 4> {
        self.per_row(self.powers(self.steps(time).add_scalar(1.0)))
    }

    /// `[batch, heads, time, 1]`: gamma^(time-1-j), the weight of token j in the
    /// memory after all `time` tokens.
    pub fn memory_weights(&self, time: usize) -> Tensor<B, 4> {
        let remaining = self.steps(time).neg().add_scalar(time as f64 - 1.0);
        self.per_row(self.powers(remaining))
    }

    /// `[batch, heads, 1, 1]`: gamma^time, the decay of a memory over `time` tokens.
    pub fn over(&self, time: usize) -> Tensor<B, 4> {
        self.per_row(
            self.log_gamma
                .clone()
                .mul_scalar(time as f64)
                .exp()
                .unsqueeze_dim(1),
        )
    }

    /// `[heads, n]` -> `[batch, heads, n, 1]`.
    fn per_row(&self, factors: Tensor<B, 2>) -> Tensor<B, 4> {
        let [heads, n] = factors.dims();
        factors.reshape([1, heads, n, 1]).repeat_dim(0, self.batch)
    }
}
