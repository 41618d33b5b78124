//! Rotary positions: each interleaved pair (2i, 2i+1) of a query or key is rotated by
//! angle = absolute position * theta_i, theta_i = 10000^(-linspace(0, 1, head_dim/2)).
//!
//! Written with burn's tensor operations, which every backend runs and autodiff
//! differentiates; on the CPU backend, with or without autodiff, an f32 rotation runs
//! as the kernel of `kernel.rs` instead, one pass forward and one back, with the
//! same bits. The retention kernel without autodiff rotates with the same table, so
//! training and imagination turn every query and key alike.

mod flex;
mod kernel;

use std::sync::Arc;

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Int, Tensor, TensorData};

use super::linspace;
use crate::flex_kernels::kernels_apply;
pub(super) use kernel::AngleTable;

/// The rotation of one projection call's tokens.
pub(crate) enum Rotary<B: Backend> {
    /// burn's operations: the sines and cosines of every token as tensors.
    Composed(Composed<B>),
    /// The CPU kernel's table of sines and cosines, one row per position.
    Kernel(Arc<AngleTable>),
}

pub(crate) struct Composed<B: Backend> {
    /// `[batch, time, d_model]`: the angles of every head, side by side.
    cos: Tensor<B, 3>,
    sin: Tensor<B, 3>,
    /// `[head_dim, head_dim]`: right-multiplying by it maps each pair (x0, x1) to
    /// (-x1, x0).
    swap_pairs: Tensor<B, 2>,
    head_dim: usize,
}

/// theta_i, each repeated for its pair: `[head_dim]` values.
fn pair_frequencies(head_dim: usize) -> Vec<f64> {
    linspace(0.0, 1.0, head_dim / 2)
        .flat_map(|fraction| {
            let theta = 10000f64.powf(-fraction);
            [theta, theta]
        })
        .collect()
}

/// The pair swap as a matrix: a small matrix product stays on contiguous memory,
/// where picking every other element would not.
fn swap_pairs_matrix(head_dim: usize) -> Vec<f32> {
    let mut matrix = vec![0.0; head_dim * head_dim];
    for pair in 0..head_dim / 2 {
        let (even, odd) = (2 * pair, 2 * pair + 1);
        matrix[odd * head_dim + even] = -1.0;
        matrix[even * head_dim + odd] = 1.0;
    }
    matrix
}

/// `[rows, time, n_heads * head_dim]`: position times theta_i, row `r` starting at
/// `first_positions[r]`.
fn angles<B: Backend>(
    n_heads: usize,
    head_dim: usize,
    first_positions: &[usize],
    time: usize,
    device: &B::Device,
) -> Tensor<B, 3> {
    let (rows, width) = (first_positions.len(), n_heads * head_dim);
    let starts: Vec<f64> = first_positions.iter().map(|&p| p as f64).collect();
    let starts = Tensor::<B, 1>::from_data(TensorData::new(starts, [rows]), device);
    let steps = Tensor::<B, 1, Int>::arange(0..time as i64, device).float();
    let positions = starts.reshape([rows, 1]) + steps.reshape([1, time]);
    let theta: Vec<f64> = pair_frequencies(head_dim).repeat(n_heads);
    let theta = Tensor::<B, 1>::from_data(TensorData::new(theta, [width]), device);
    positions.reshape([rows, time, 1]) * theta.reshape([1, 1, width])
}

impl<B: Backend> Rotary<B> {
    /// Angles for `time` consecutive tokens per row, row `r` starting at
    /// `first_positions[r]`, for `n_heads` heads of `head_dim`.
    /// The kernel's table where it [`flex::applies`] to inputs of `dtype`.
    pub fn new(
        n_heads: usize,
        head_dim: usize,
        first_positions: &[usize],
        time: usize,
        dtype: DType,
        device: &B::Device,
    ) -> Self {
        if kernels_apply::<B>(dtype) {
            return Self::Kernel(Arc::new(AngleTable::new(head_dim, first_positions, time)));
        }
        Self::Composed(Composed::new(
            n_heads,
            head_dim,
            first_positions,
            time,
            device,
        ))
    }

    /// Rotates `x` (`[batch, time, d_model]`, heads side by side).
    pub fn apply(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        self.apply_scaled(x, 1.0)
    }

    /// Rotates `x` and multiplies it by `scale`.
    pub fn apply_scaled(&self, x: Tensor<B, 3>, scale: f32) -> Tensor<B, 3> {
        match self {
            Self::Composed(composed) if scale == 1.0 => composed.apply(x),
            Self::Composed(composed) => composed.apply(x).mul_scalar(scale),
            Self::Kernel(table) => flex::rotate(table, x, scale),
        }
    }
}

impl<B: Backend> Composed<B> {
    fn new(
        n_heads: usize,
        head_dim: usize,
        first_positions: &[usize],
        time: usize,
        device: &B::Device,
    ) -> Self {
        let batch = first_positions.len();
        // Rows that start together (every row of a training batch) have the same
        // angles: one row's sines and cosines, copied, cost a fraction of all rows'.
        let together = batch > 1 && first_positions.iter().all(|&p| p == first_positions[0]);
        let rows = if together {
            &first_positions[..1]
        } else {
            first_positions
        };
        let angle = angles::<B>(n_heads, head_dim, rows, time, device);
        let (mut cos, mut sin) = (angle.clone().cos(), angle.sin());
        if together {
            (cos, sin) = (cos.repeat_dim(0, batch), sin.repeat_dim(0, batch));
        }
        let swap_pairs = Tensor::from_data(
            TensorData::new(swap_pairs_matrix(head_dim), [head_dim, head_dim]),
            device,
        );
        Self {
            cos,
            sin,
            swap_pairs,
            head_dim,
        }
    }

    /// Rotates `x` (`[batch, time, d_model]`, heads side by side).
    pub fn apply(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let [batch, time, width] = x.dims();
        let swapped = x
            .clone()
            .reshape([batch * time * width / self.head_dim, self.head_dim])
            .matmul(self.swap_pairs.clone())
            .reshape([batch, time, width]);
        x * self.cos.clone() + swapped * self.sin.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::Distribution;

    fn values<B: Backend>(x: Tensor<B, 3>) -> Vec<f32> {
        x.into_data().into_vec().unwrap()
    }

    #[test]
    fn rows_that_start_together_get_the_angles_each_would_get_alone() {
        let device = Default::default();
        let together = Composed::<Flex>::new(2, 8, &[3, 3, 3], 5, &device);
        // Distinct starts take the path that computes every row.
        let apart = Composed::<Flex>::new(2, 8, &[3, 0], 5, &device);
        let first_row = |x: Tensor<Flex, 3>| values(x.narrow(0, 0, 1));
        for row in 0..3 {
            let pick = |x: &Tensor<Flex, 3>| values(x.clone().narrow(0, row, 1));
            assert_eq!(pick(&together.cos), first_row(apart.cos.clone()));
            assert_eq!(pick(&together.sin), first_row(apart.sin.clone()));
        }
        assert_eq!(together.cos.dims(), [3, 5, 16]);
    }

    /// Rows starting together and apart, positions past 600 (the training
    /// sequence's), two heads.
    const FIRST_POSITIONS: [&[usize]; 2] = [&[0, 0, 0], &[65, 650, 7]];

    /// A scale that rounds (1 / sqrt(6)), where the keys' 1 / sqrt(head_dim) often
    /// does not.
    const SCALE: f32 = 0.408_248_3;

    #[test]
    fn the_kernel_rotates_to_the_composed_forms_bits() {
        let device = Default::default();
        for first in FIRST_POSITIONS {
            let x =
                Tensor::<Flex, 3>::random([first.len(), 40, 16], Distribution::Default, &device);
            let kernel = Rotary::<Flex>::new(2, 8, first, 40, DType::F32, &device);
            assert!(matches!(kernel, Rotary::Kernel(_)));
            let composed = Composed::<Flex>::new(2, 8, first, 40, &device);
            // Transposed input: the kernel reads any layout.
            for x in [x.clone(), x.swap_dims(0, 1).swap_dims(0, 1)] {
                assert_eq!(
                    values(kernel.apply(x.clone())),
                    values(composed.apply(x.clone()))
                );
                assert_eq!(
                    values(kernel.apply_scaled(x.clone(), SCALE)),
                    values(composed.apply(x).mul_scalar(SCALE))
                );
            }
        }
    }

    type AD = Autodiff<Flex>;

    /// The gradient of `sum(w * rotate(x))` with respect to `x`.
    fn gradient(
        rotate: &dyn Fn(Tensor<AD, 3>) -> Tensor<AD, 3>,
        x: &Tensor<AD, 3>,
        w: &Tensor<AD, 3>,
    ) -> Vec<f32> {
        let x = x.clone().detach().require_grad();
        let grads = (rotate(x.clone()) * w.clone()).sum().backward();
        x.grad(&grads).unwrap().into_data().into_vec().unwrap()
    }

    #[test]
    fn its_gradient_has_the_composed_forms_bits() {
        let device = Default::default();
        for first in FIRST_POSITIONS {
            let shape = [first.len(), 30, 16];
            let x = Tensor::<AD, 3>::random(shape, Distribution::Default, &device);
            let w = Tensor::<AD, 3>::random(shape, Distribution::Default, &device);
            let kernel = Rotary::<AD>::new(2, 8, first, 30, DType::F32, &device);
            let composed = Composed::<AD>::new(2, 8, first, 30, &device);
            assert_eq!(
                gradient(&|x| kernel.apply(x), &x, &w),
                gradient(&|x| composed.apply(x), &x, &w)
            );
            assert_eq!(
                gradient(&|x| kernel.apply_scaled(x, SCALE), &x, &w),
                gradient(&|x| composed.apply(x).mul_scalar(SCALE), &x, &w)
            );
        }
    }

    #[test]
    fn its_gradient_matches_central_differences() {
        let device = Default::default();
        let first: &[usize] = &[3, 600];
        let shape = [2, 5, 8];
        let x = Tensor::<AD, 3>::random(shape, Distribution::Default, &device);
        let w = Tensor::<AD, 3>::random(shape, Distribution::Default, &device);
        let kernel = Rotary::<AD>::new(2, 4, first, 5, DType::F32, &device);
        let analytic = gradient(&|x| kernel.apply_scaled(x, SCALE), &x, &w);
        let loss = |x: Vec<f64>| -> f64 {
            let x = Tensor::<Flex, 3>::from_data(TensorData::new(x, shape), &device);
            let rotated =
                Rotary::<Flex>::new(2, 4, first, 5, DType::F32, &device).apply_scaled(x, SCALE);
            let w: Vec<f32> = w.clone().inner().into_data().into_vec().unwrap();
            values(rotated)
                .iter()
                .zip(&w)
                .map(|(&y, &w)| y as f64 * w as f64)
                .sum()
        };
        let x: Vec<f64> = values(x).iter().map(|&v| v as f64).collect();
        let h = 1e-2;
        for (i, &g) in analytic.iter().enumerate() {
            let (mut up, mut down) = (x.clone(), x.clone());
            up[i] += h;
            down[i] -= h;
            let numeric = (loss(up) - loss(down)) / (2.0 * h);
            assert!(
                (numeric - g as f64).abs() < 1e-3,
                "element {i}: {numeric} vs {g}"
            );
        }
    }
}
