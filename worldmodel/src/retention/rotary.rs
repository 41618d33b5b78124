//! Rotary positions: each interleaved pair (2i, 2i+1) of a query or key is rotated by
//! angle = absolute position * theta_i, theta_i = 10000^(-linspace(0, 1, head_dim/2)).

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

pub(crate) struct Rotary<B: Backend> {
    /// `[batch, 1, time, head_dim]`.
    cos: Tensor<B, 4>,
    sin: Tensor<B, 4>,
}

/// theta_i, each repeated for its pair: `[head_dim]` values.
fn pair_frequencies(head_dim: usize) -> Vec<f64> {
    let pairs = head_dim / 2;
    (0..pairs)
        .flat_map(|i| {
            let fraction = if pairs > 1 {
                i as f64 / (pairs - 1) as f64
            } else {
                0.0
            };
            let theta = 10000f64.powf(-fraction);
            [theta, theta]
        })
        .collect()
}

impl<B: Backend> Rotary<B> {
    /// Angles for `time` consecutive tokens per row, row `r` starting at
    /// `first_positions[r]`.
    pub fn new(
        head_dim: usize,
        first_positions: &[usize],
        time: usize,
        device: &B::Device,
    ) -> Self {
        let batch = first_positions.len();
        let starts: Vec<f64> = first_positions.iter().map(|&p| p as f64).collect();
        let starts = Tensor::<B, 1>::from_data(TensorData::new(starts, [batch]), device);
        let steps = Tensor::<B, 1, Int>::arange(0..time as i64, device).float();
        let positions = starts.reshape([batch, 1]) + steps.reshape([1, time]);
        let theta = Tensor::<B, 1>::from_data(
            TensorData::new(pair_frequencies(head_dim), [head_dim]),
            device,
        );
        let angle = (positions.reshape([batch, time, 1]) * theta.reshape([1, 1, head_dim]))
            .reshape([batch, 1, time, head_dim]);
        Self {
            cos: angle.clone().cos(),
            sin: angle.sin(),
        }
    }

    /// Rotates `x` (`[batch, heads, time, head_dim]`).
    pub fn apply(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        x.clone() * self.cos.clone() + swap_pairs(x) * self.sin.clone()
    }
}

/// (x0, x1) -> (-x1, x0) for every interleaved pair.
fn swap_pairs<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [batch, heads, time, dim] = x.dims();
    let pairs = x.reshape([batch, heads, time, dim / 2, 2]);
    let first = pairs.clone().narrow(4, 0, 1);
    let second = pairs.narrow(4, 1, 1);
    Tensor::cat(vec![second.neg(), first], 4).reshape([batch, heads, time, dim])
}
