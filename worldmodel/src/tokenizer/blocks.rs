//! Layers shared by the encoder and the decoder.

use crate::norm_silu::group_norm_silu;
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::PaddingConfig2d;
use burn::tensor::{backend::Backend, Tensor};

/// GroupNorm epsilon of the reference autoencoder.
const GROUP_NORM_EPSILON: f64 = 1e-6;

/// GroupNorm followed by SiLU, the pre-activation used before every resampling conv.
#[derive(Module, Debug)]
pub struct NormSilu<B: Backend> {
    gamma: Param<Tensor<B, 1>>,
    beta: Param<Tensor<B, 1>>,
    groups: usize,
}

impl<B: Backend> NormSilu<B> {
    pub fn new(groups: usize, channels: usize, device: &B::Device) -> Self {
        Self {
            gamma: Param::from_tensor(Tensor::ones([channels], device)),
            beta: Param::from_tensor(Tensor::zeros([channels], device)),
            groups,
        }
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        group_norm_silu(
            x,
            self.gamma.val(),
            self.beta.val(),
            self.groups,
            GROUP_NORM_EPSILON,
        )
    }
}

/// 3x3 convolution that keeps the spatial size.
pub fn conv3x3_same<B: Backend>(
    channels_in: usize,
    channels_out: usize,
    device: &B::Device,
) -> Conv2d<B> {
    Conv2dConfig::new([channels_in, channels_out], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device)
}

/// 3x3 stride-2 convolution that halves the spatial size. Padding only the right and
/// bottom edge by one (as the reference does) maps 2n pixels to exactly n.
pub fn conv3x3_down<B: Backend>(
    channels_in: usize,
    channels_out: usize,
    device: &B::Device,
) -> Conv2d<B> {
    Conv2dConfig::new([channels_in, channels_out], [3, 3])
        .with_stride([2, 2])
        // (top, left, bottom, right)
        .with_padding(PaddingConfig2d::Explicit(0, 0, 1, 1))
        .init(device)
}

/// 1x1 convolution (pre- and post-quantisation projections).
pub fn conv1x1<B: Backend>(
    channels_in: usize,
    channels_out: usize,
    device: &B::Device,
) -> Conv2d<B> {
    Conv2dConfig::new([channels_in, channels_out], [1, 1]).init(device)
}

/// Nearest-neighbour x2 upsampling. Written as broadcast + reshape rather than
/// `interpolate` so that every backend repeats pixels exactly, whatever its
/// corner-alignment convention.
pub fn upsample_nearest_x2<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [batch, channels, height, width] = x.dims();
    x.reshape([batch, channels, height, 1, width, 1])
        .expand([batch, channels, height, 2, width, 2])
        .reshape([batch, channels, height * 2, width * 2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::nn::GroupNormConfig;
    use burn::tensor::{Distribution, TensorData};

    #[test]
    fn upsample_repeats_each_pixel_into_a_2x2_block() {
        let device = Default::default();
        let x = Tensor::<Flex, 4>::from_data(
            TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], [1, 1, 2, 3]),
            &device,
        );
        let y: Vec<f32> = upsample_nearest_x2(x).into_data().into_vec().unwrap();
        let expected = [
            1.0, 1.0, 2.0, 2.0, 3.0, 3.0, //
            1.0, 1.0, 2.0, 2.0, 3.0, 3.0, //
            4.0, 4.0, 5.0, 5.0, 6.0, 6.0, //
            4.0, 4.0, 5.0, 5.0, 6.0, 6.0,
        ];
        assert_eq!(y, expected);
    }

    #[test]
    fn strided_conv_halves_the_side_and_pads_only_right_and_bottom() {
        let device = Default::default();
        let mut conv = conv3x3_down::<Flex>(1, 1, &device);
        // An all-ones kernel without bias sums each 3x3 window.
        conv.weight = burn::module::Param::from_tensor(Tensor::ones([1, 1, 3, 3], &device));
        conv.bias = None;
        let y = conv.forward(Tensor::ones([1, 1, 4, 4], &device));
        assert_eq!(y.dims(), [1, 1, 2, 2]);
        let sums: Vec<f32> = y.into_data().into_vec().unwrap();
        // Windows start at (0,0), (0,2), (2,0), (2,2); the last row/column reads padding.
        assert_eq!(sums, vec![9.0, 6.0, 6.0, 4.0]);
    }

    #[test]
    fn group_norm_matches_burns_group_norm() {
        let device = Default::default();
        let x = Tensor::<Flex, 4>::random([3, 16, 5, 7], Distribution::Normal(0.5, 2.0), &device);
        let mut ours = NormSilu::<Flex>::new(4, 16, &device);
        ours.gamma = Param::from_tensor(Tensor::random(
            [16],
            Distribution::Normal(1.0, 0.3),
            &device,
        ));
        ours.beta = Param::from_tensor(Tensor::random(
            [16],
            Distribution::Normal(0.0, 0.3),
            &device,
        ));
        let mut reference = GroupNormConfig::new(4, 16)
            .with_epsilon(GROUP_NORM_EPSILON)
            .init::<Flex>(&device);
        reference.gamma = Some(Param::from_tensor(ours.gamma.val()));
        reference.beta = Some(Param::from_tensor(ours.beta.val()));
        let diff: f32 = (ours.forward(x.clone())
            - burn::tensor::activation::silu(reference.forward(x)))
        .abs()
        .max()
        .into_scalar();
        assert!(diff < 1e-5, "max abs diff {diff}");
    }
}
