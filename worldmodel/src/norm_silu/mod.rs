//! GroupNorm followed by SiLU, the tokenizer's pre-activation, with its own CPU kernel.
//!
//! Written with burn's tensor operations, GroupNorm and SiLU are about ten passes
//! over the activation map forward and more backward, each allocating a map of its
//! own; the tokenizer's maps at 64x64 are tens of megabytes. [`kernel`] does the
//! forward pass in one read for the statistics and one for the output, and the
//! backward pass in two, per (frame, group). On `Flex` and `Autodiff<Flex>` (what
//! the CPU runs train on) [`group_norm_silu`] runs it; every other backend keeps the
//! composed form (`crate::flex_kernels` says how the backend is told apart).

mod flex;
pub mod kernel;

use burn::tensor::{backend::Backend, DType, Tensor};

use crate::activation::silu;
use kernel::GroupShape;

/// silu(GroupNorm(x)) for `x` `[N, C, H, W]`, `groups` groups of consecutive
/// channels, per-channel `gamma` and `beta` `[C]`.
pub fn group_norm_silu<B: Backend>(
    x: Tensor<B, 4>,
    gamma: Tensor<B, 1>,
    beta: Tensor<B, 1>,
    groups: usize,
    epsilon: f64,
) -> Tensor<B, 4> {
    let [frames, channels, height, width] = x.dims();
    assert!(
        groups > 0 && channels.is_multiple_of(groups),
        "{channels} channels do not split into {groups} groups"
    );
    if x.dtype() != DType::F32 {
        return silu(group_norm(x, gamma, beta, groups, epsilon));
    }
    let shape = GroupShape {
        frames,
        channels,
        plane: height * width,
        groups,
        epsilon: epsilon as f32,
    };
    match flex::try_norm_silu(x, gamma.clone(), beta.clone(), shape) {
        Ok(y) => y,
        Err(x) => silu(group_norm(x, gamma, beta, groups, epsilon)),
    }
}

/// GroupNorm written so that every broadcast is one value per row of a contiguous
/// matrix: statistics per (sample, group), then the per-channel scale and shift
/// repeated per sample. The CPU backend runs these as SIMD loops, where
/// broadcasting a `[1, C, 1, 1]` affine over the batch falls back to a strided loop
/// about ten times slower.
pub fn group_norm<B: Backend>(
    x: Tensor<B, 4>,
    gamma: Tensor<B, 1>,
    beta: Tensor<B, 1>,
    groups: usize,
    epsilon: f64,
) -> Tensor<B, 4> {
    let [batch, channels, height, width] = x.dims();
    let grouped = x.reshape([batch, groups, channels / groups * height * width]);
    let (variance, mean) = grouped.clone().var_mean_bias(2);
    let normalized = (grouped - mean) / variance.add_scalar(epsilon).sqrt();
    let per_row = |p: Tensor<B, 1>| {
        p.reshape([1, channels])
            .repeat_dim(0, batch)
            .reshape([batch * channels, 1])
    };
    (normalized.reshape([batch * channels, height * width]) * per_row(gamma) + per_row(beta))
        .reshape([batch, channels, height, width])
}
