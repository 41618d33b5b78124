//! One optimisation step of the tokenizer: AdamW with a global gradient-norm clip.

use burn::module::Module;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::AdamW;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Tensor};
use serde::{Deserialize, Serialize};

use super::{frames_to_tensor, Tokenizer, TokenizerError};
use crate::optim::{adamw, descend};

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
        let optimizer = adamw(config.weight_decay);
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
        let c = &self.config;
        let (model, grad_norm) = descend(
            &mut self.optimizer,
            model,
            &loss.total,
            c.learning_rate,
            c.max_grad_norm,
        );
        let scalar = |t: Tensor<B, 1>| t.into_scalar().elem::<f32>();
        let stats = TokenizerStepStats {
            total: scalar(loss.total),
            reconstruction: scalar(loss.reconstruction),
            codebook: scalar(loss.codebook),
            commitment: scalar(loss.commitment),
            perceptual: loss.perceptual.map(scalar),
            grad_norm,
        };
        (model, stats)
    }
}
