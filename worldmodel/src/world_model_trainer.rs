//! One optimisation step of the world model (algorithm.md, section 5): AdamW with decoupled
//! weight decay on `Linear` weights only, and global gradient-norm clipping.

use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::AdamW;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Tensor};
use serde::{Deserialize, Serialize};

use crate::optim::{adamw, descend, DecayLinearWeights};
use crate::world_model::{TokenBatch, WorldModel};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldModelTrainerConfig {
    pub learning_rate: f64,
    /// Applied to `Linear` weights only.
    pub weight_decay: f64,
    pub max_grad_norm: f32,
    /// Leading blocks of each sequence that only build context (no loss).
    pub context_blocks: usize,
}

impl Default for WorldModelTrainerConfig {
    fn default() -> Self {
        Self {
            learning_rate: 2e-4,
            weight_decay: 0.05,
            max_grad_norm: 100.0,
            context_blocks: 2,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorldModelStepStats {
    pub total: f32,
    pub obs: f32,
    pub reward: f32,
    pub done: f32,
    pub grad_norm: f32,
}

pub struct WorldModelTrainer<B: AutodiffBackend> {
    config: WorldModelTrainerConfig,
    pub optimizer: OptimizerAdaptor<AdamW, WorldModel<B>, B>,
}

impl<B: AutodiffBackend> WorldModelTrainer<B> {
    pub fn new(config: WorldModelTrainerConfig) -> Self {
        // AdamW's own decay would reach every parameter; ours is applied after the step.
        let optimizer = adamw(0.0);
        Self { config, optimizer }
    }

    pub fn config(&self) -> &WorldModelTrainerConfig {
        &self.config
    }

    /// One step on `batch`; the codebook is the tokenizer's, detached.
    pub fn step(
        &mut self,
        model: WorldModel<B>,
        codebook: &Tensor<B, 2>,
        batch: &TokenBatch<B>,
    ) -> (WorldModel<B>, WorldModelStepStats) {
        let loss = model.loss(codebook, batch, self.config.context_blocks);
        let lr = self.config.learning_rate;
        let (model, grad_norm) = descend(
            &mut self.optimizer,
            model,
            &loss.total,
            lr,
            self.config.max_grad_norm,
        );
        let model = burn::module::Module::map(
            model,
            &mut DecayLinearWeights::new(lr, self.config.weight_decay),
        );
        let scalar = |t: Tensor<B, 1>| t.into_scalar().elem::<f32>();
        let stats = WorldModelStepStats {
            total: scalar(loss.total),
            obs: scalar(loss.obs),
            reward: scalar(loss.reward),
            done: scalar(loss.done),
            grad_norm,
        };
        (model, stats)
    }
}
