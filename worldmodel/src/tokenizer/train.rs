//! One optimisation step of the tokenizer: AdamW with a global gradient-norm clip.

use burn::module::{AutodiffModule, Module, ModuleVisitor, Param};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamW, AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Tensor};
use serde::{Deserialize, Serialize};

use super::{frames_to_tensor, Tokenizer, TokenizerError};

/// Optimiser settings; `Default` is the REM schedule for the tokenizer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenizerTrainerConfig {
    pub learning_rate: f64,
    pub weight_decay: f32,
    /// Maximum global L2 norm of the gradient (all parameters together).
    pub max_grad_norm: f32,
}

impl Default for TokenizerTrainerConfig {
    fn default() -> Self {
        Self {
            learning_rate: 1e-4,
            weight_decay: 0.01,
            max_grad_norm: 10.0,
        }
    }
}

/// Scalars of one training step, read back from the device.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenizerStepStats {
    pub total: f32,
    pub reconstruction: f32,
    pub codebook: f32,
    pub commitment: f32,
    pub perceptual: Option<f32>,
    /// Global gradient norm before clipping.
    pub grad_norm: f32,
}

pub struct TokenizerTrainer<B: AutodiffBackend> {
    config: TokenizerTrainerConfig,
    pub optimizer: OptimizerAdaptor<AdamW, Tokenizer<B>, B>,
}

impl<B: AutodiffBackend> TokenizerTrainer<B> {
    pub fn new(config: TokenizerTrainerConfig) -> Self {
        // burn's own clipping works per parameter tensor; the reference clips the global
        // norm, which `clip_grad_norm` does before the optimiser sees the gradients.
        // epsilon 1e-8 as in PyTorch's AdamW (burn defaults to 1e-5).
        let optimizer = AdamWConfig::new()
            .with_weight_decay(config.weight_decay)
            .with_epsilon(1e-8)
            .init();
        Self { config, optimizer }
    }

    pub fn config(&self) -> &TokenizerTrainerConfig {
        &self.config
    }

    /// One step on frames given as HWC bytes (`[B, 64, 64, 3]`, see [`frames_to_tensor`]).
    pub fn step(
        &mut self,
        model: Tokenizer<B>,
        frame_bytes: &[u8],
    ) -> Result<(Tokenizer<B>, TokenizerStepStats), TokenizerError> {
        let frames = frames_to_tensor::<B>(frame_bytes, &model.devices()[0])?;
        Ok(self.step_tensor(model, frames))
    }

    /// One step on `frames` (`[B, 3, 64, 64]` in [0, 1]).
    pub fn step_tensor(
        &mut self,
        model: Tokenizer<B>,
        frames: Tensor<B, 4>,
    ) -> (Tokenizer<B>, TokenizerStepStats) {
        let loss = model.loss(frames);
        let grads = GradientsParams::from_grads(loss.total.backward(), &model);
        let (grads, grad_norm) = clip_grad_norm(&model, grads, self.config.max_grad_norm);
        let model = self.optimizer.step(self.config.learning_rate, model, grads);
        let scalar = |t: Tensor<B, 1>| t.into_scalar().elem::<f32>();
        let stats = TokenizerStepStats {
            total: scalar(loss.total),
            reconstruction: scalar(loss.reconstruction),
            codebook: scalar(loss.codebook),
            commitment: scalar(loss.commitment),
            perceptual: loss.perceptual.map(scalar),
            grad_norm: grad_norm.into_scalar().elem::<f32>(),
        };
        (model, stats)
    }
}

/// Scales all gradients of `module` by min(1, max_norm / (norm + 1e-6)), where `norm` is
/// the L2 norm of all of them together (PyTorch's `clip_grad_norm_`). Returns the
/// clipped gradients and the norm before clipping (a one-element tensor).
pub fn clip_grad_norm<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    grads: GradientsParams,
    max_norm: f32,
) -> (GradientsParams, Tensor<B::InnerBackend, 1>) {
    let mut summer = SquaredNormSum::<B> {
        grads: &grads,
        sum: None,
    };
    module.visit(&mut summer);
    let Some(sum) = summer.sum else {
        let device = module
            .devices()
            .into_iter()
            .next()
            .expect("module has a device");
        return (grads, Tensor::zeros([1], &device));
    };
    let norm = sum.sqrt();
    let scale = norm
        .clone()
        .add_scalar(1e-6)
        .recip()
        .mul_scalar(max_norm)
        .clamp_max(1.0);
    let mut scaler = GradScaler::<B> { grads, scale };
    module.visit(&mut scaler);
    (scaler.grads, norm)
}

struct SquaredNormSum<'a, B: AutodiffBackend> {
    grads: &'a GradientsParams,
    sum: Option<Tensor<B::InnerBackend, 1>>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for SquaredNormSum<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(grad) = self.grads.get::<B::InnerBackend, D>(param.id) {
            let squared = grad.powf_scalar(2.0).sum();
            self.sum = Some(match self.sum.take() {
                Some(sum) => sum + squared,
                None => squared,
            });
        }
    }
}

struct GradScaler<B: AutodiffBackend> {
    grads: GradientsParams,
    scale: Tensor<B::InnerBackend, 1>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for GradScaler<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(grad) = self.grads.remove::<B::InnerBackend, D>(param.id) {
            let scale = self.scale.clone().reshape([1; D]);
            self.grads.register(param.id, grad * scale);
        }
    }
}
