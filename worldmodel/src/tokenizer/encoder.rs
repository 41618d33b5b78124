//! Convolutional encoder: 64x64 RGB in [-1, 1] -> `embed_dim` x 8 x 8 latents.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::{backend::Backend, Tensor};

use super::blocks::{conv1x1, conv3x3_down, conv3x3_same, NormSilu};
use super::TokenizerConfig;
use crate::conv::conv3x3;

/// One resolution stage: GN -> SiLU -> stride-2 conv (channels in -> out) -> conv3x3.
#[derive(Module, Debug)]
struct DownStage<B: Backend> {
    pre: NormSilu<B>,
    down: Conv2d<B>,
    conv: Conv2d<B>,
}

impl<B: Backend> DownStage<B> {
    fn new(groups: usize, channels_in: usize, channels_out: usize, device: &B::Device) -> Self {
        Self {
            pre: NormSilu::new(groups, channels_in, device),
            down: conv3x3_down(channels_in, channels_out, device),
            conv: conv3x3_same(channels_out, channels_out, device),
        }
    }

    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        conv3x3(&self.conv, conv3x3(&self.down, self.pre.forward(x)))
    }
}

/// Frames the encoder takes in one pass. On the CPU backend, passes of a couple of
/// dozen frames keep each activation small enough for the allocator to reuse
/// (168 frames at spec size: 1.25 s in passes of 24 against 1.65 s at once); a GPU
/// wants everything at once.
pub(super) fn frames_per_pass<B: Backend>() -> usize {
    let on_cpu = std::any::TypeId::of::<B::Device>()
        == std::any::TypeId::of::<burn::backend::flex::FlexDevice>();
    if on_cpu {
        24
    } else {
        usize::MAX
    }
}

#[derive(Module, Debug)]
pub struct Encoder<B: Backend> {
    conv_in: Conv2d<B>,
    stages: Vec<DownStage<B>>,
    out_pre: NormSilu<B>,
    conv_out: Conv2d<B>,
    pre_quant: Conv2d<B>,
}

impl<B: Backend> Encoder<B> {
    pub fn new(config: &TokenizerConfig, device: &B::Device) -> Self {
        let channels = &config.channels;
        let deepest = *channels.last().expect("validated: channels is not empty");
        let stages = channels
            .windows(2)
            .map(|pair| DownStage::new(config.groups, pair[0], pair[1], device))
            .collect();
        Self {
            conv_in: conv3x3_same(3, channels[0], device),
            stages,
            out_pre: NormSilu::new(config.groups, deepest, device),
            conv_out: conv3x3_same(deepest, deepest, device),
            pre_quant: conv1x1(deepest, config.embed_dim, device),
        }
    }

    /// `x`: `[B, 3, 64, 64]` in [-1, 1]. Returns `[B, embed_dim, 8, 8]` (continuous).
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let frames = x.dims()[0];
        let per_pass = frames_per_pass::<B>();
        if frames <= per_pass {
            return self.forward_pass(x);
        }
        let passes = (0..frames)
            .step_by(per_pass)
            .map(|start| {
                self.forward_pass(x.clone().narrow(0, start, per_pass.min(frames - start)))
            })
            .collect();
        Tensor::cat(passes, 0)
    }

    fn forward_pass(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let mut h = conv3x3(&self.conv_in, x);
        for stage in &self.stages {
            h = stage.forward(h);
        }
        let h = conv3x3(&self.conv_out, self.out_pre.forward(h));
        self.pre_quant.forward(h)
    }
}
