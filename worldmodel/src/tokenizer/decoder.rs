//! Convolutional decoder, the encoder's mirror: `embed_dim` x 8 x 8 -> 3 x 64 x 64.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::{backend::Backend, Tensor};

use super::blocks::{conv1x1, conv3x3_same, upsample_nearest_x2, NormSilu};
use super::TokenizerConfig;
use crate::conv::conv3x3;

/// One resolution stage: GN -> SiLU -> nearest x2 -> conv3x3 (channels in -> out) -> conv3x3.
#[derive(Module, Debug)]
struct UpStage<B: Backend> {
    pre: NormSilu<B>,
    up_conv: Conv2d<B>,
    conv: Conv2d<B>,
}

impl<B: Backend> UpStage<B> {
    fn new(groups: usize, channels_in: usize, channels_out: usize, device: &B::Device) -> Self {
        Self {
            pre: NormSilu::new(groups, channels_in, device),
            up_conv: conv3x3_same(channels_in, channels_out, device),
            conv: conv3x3_same(channels_out, channels_out, device),
        }
    }

    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let h = upsample_nearest_x2(self.pre.forward(x));
        conv3x3(&self.conv, conv3x3(&self.up_conv, h))
    }
}

#[derive(Module, Debug)]
pub struct Decoder<B: Backend> {
    post_quant: Conv2d<B>,
    conv_in: Conv2d<B>,
    stages: Vec<UpStage<B>>,
    out_pre: NormSilu<B>,
    conv_out: Conv2d<B>,
}

impl<B: Backend> Decoder<B> {
    pub fn new(config: &TokenizerConfig, device: &B::Device) -> Self {
        let channels = &config.channels;
        let deepest = *channels.last().expect("validated: channels is not empty");
        let stages = channels
            .windows(2)
            .rev()
            .map(|pair| UpStage::new(config.groups, pair[1], pair[0], device))
            .collect();
        Self {
            post_quant: conv1x1(config.embed_dim, deepest, device),
            conv_in: conv3x3_same(deepest, deepest, device),
            stages,
            out_pre: NormSilu::new(config.groups, channels[0], device),
            conv_out: conv3x3_same(channels[0], 3, device),
        }
    }

    /// `z_q`: `[B, embed_dim, 8, 8]`. Returns `[B, 3, 64, 64]` in the [-1, 1] pixel space
    /// (unbounded: no squashing, values are clamped only when turned into bytes).
    pub fn forward(&self, z_q: Tensor<B, 4>) -> Tensor<B, 4> {
        let mut h = conv3x3(&self.conv_in, self.post_quant.forward(z_q));
        for stage in &self.stages {
            h = stage.forward(h);
        }
        conv3x3(&self.conv_out, self.out_pre.forward(h))
    }
}
