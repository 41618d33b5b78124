//! One optimisation step of the world model (algorithm.md, section 5): AdamW with decoupled
//! weight decay on `Linear` weights only, and global gradient-norm clipping. The batch
//! may be split over threads (`threads`), each running its share of the rows.

use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::AdamW;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use rem_envs::rng::mix_seed;

use crate::optim::{
    adamw, apply_gradients, sharded_gradients, sum_over_shares, DecayLinearWeights,
};
use crate::stream::with_thread_stream;
use crate::world_model::{TokenBatch, WorldModel, WorldModelLoss};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldModelTrainerConfig {
    pub learning_rate: f64,
    /// Applied to `Linear` weights only.
    pub weight_decay: f64,
    pub max_grad_norm: f32,
    /// Leading blocks of each sequence that only build context (no loss).
    pub context_blocks: usize,
    /// Threads the batch's rows are split over, each with its own autodiff graph and
    /// dropout stream; the gradients are added in row order. A run is reproducible
    /// for a given value; different values differ in summation order and masks.
    #[serde(default = "one_thread")]
    pub threads: usize,
}

fn one_thread() -> usize {
    1
}

impl Default for WorldModelTrainerConfig {
    fn default() -> Self {
        Self {
            learning_rate: 2e-4,
            weight_decay: 0.05,
            max_grad_norm: 100.0,
            context_blocks: 2,
            threads: 1,
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
        // AdamW's own decay would reach every parameter; ours decays Linear weights only.
        let optimizer = adamw(0.0);
        Self { config, optimizer }
    }

    pub fn config(&self) -> &WorldModelTrainerConfig {
        &self.config
    }

    /// One step on `batch`; the codebook is the tokenizer's, detached. Share `i` of
    /// the batch draws its dropout masks from a stream seeded with
    /// `mix_seed(dropout_seed, i)`.
    pub fn step(
        &mut self,
        model: WorldModel<B>,
        codebook: &Tensor<B, 2>,
        batch: &TokenBatch<B>,
        dropout_seed: u64,
    ) -> (WorldModel<B>, WorldModelStepStats) {
        let context = self.config.context_blocks;
        let steps = batch.loss_steps(context);
        let shares = batch
            .split_rows(self.config.threads)
            .into_iter()
            .enumerate();
        let (grads, shares) = sharded_gradients(
            &model,
            shares.collect(),
            |model: &WorldModel<B>, (i, rows): (usize, TokenBatch<B>)| {
                with_thread_stream(mix_seed(dropout_seed, i as u64), || {
                    let share = model.loss_share(codebook, &rows, context, steps.clone());
                    (share.total.clone(), share)
                })
            },
        );
        let lr = self.config.learning_rate;
        // PyTorch's AdamW decays before its update, which reads only the gradients
        // and moments: decaying first and then stepping is the same step.
        let model = burn::module::Module::map(
            model,
            &mut DecayLinearWeights::new(lr, self.config.weight_decay),
        );
        let (model, grad_norm) = apply_gradients(
            &mut self.optimizer,
            model,
            grads,
            lr,
            self.config.max_grad_norm,
        );
        let sum = |term: fn(&WorldModelLoss<B>) -> &Tensor<B, 1>| {
            sum_over_shares(shares.iter().map(term)).expect("at least one share")
        };
        let stats = WorldModelStepStats {
            total: sum(|l| &l.total),
            obs: sum(|l| &l.obs),
            reward: sum(|l| &l.reward),
            done: sum(|l| &l.done),
            grad_norm,
        };
        (model, stats)
    }
}
