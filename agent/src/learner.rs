//! The three learned parts with their optimisers, and one optimisation step of each as
//! an epoch takes it (algorithm.md, section 5):
//!
//! - tokenizer: `tokenizer.optim.batch` single frames from the store;
//! - world model: `world_model.optim.batch` sequences of `world_model.seq_blocks`
//!   blocks, tokens from the frozen tokenizer;
//! - actor-critic: `actor_critic.optim.batch` start segments, imagined with the frozen
//!   tokenizer and world model.
//!
//! The trainer's epoch and `rem bench phases` both step through here.

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::optim::Optimizer;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;
use rand::Rng;
use rem_envs::store::{EpisodeStore, Padding, RewardedSegments};
use rem_worldmodel::tokenizer::{TokenizerStepStats, TokenizerTrainer};
use rem_worldmodel::world_model::RewardAdjustment;
use rem_worldmodel::world_model_trainer::{WorldModelStepStats, WorldModelTrainer};

use crate::batches::{token_batch, TokenCache};
use crate::config::{RewardedRowsCorrection, RunConfig};
use crate::imagination::actor_critic_trainer::{ActorCriticStepStats, ActorCriticTrainer};
use crate::imagination::rollout::FrozenModels;
use crate::models::{AgentModels, ModelShapes};
use crate::run_folder::{Checkpoint, OptimizerRecords};

pub struct Learner<B: AutodiffBackend> {
    pub models: AgentModels<B>,
    tokenizer: TokenizerTrainer<B>,
    world_model: WorldModelTrainer<B>,
    actor_critic: ActorCriticTrainer<B>,
    config: RunConfig,
    device: B::Device,
}

impl<B: AutodiffBackend> Learner<B> {
    /// Fresh models shaped by `shapes` and fresh optimisers, as `config` sets them;
    /// refused when what training needs beyond the sizes is missing (LPIPS weights).
    pub fn new(config: &RunConfig, shapes: &ModelShapes, device: &B::Device) -> Result<Self> {
        shapes.tokenizer.check_training()?;
        Ok(Self {
            models: shapes.init::<B>(device)?,
            tokenizer: TokenizerTrainer::new((&config.tokenizer).into()),
            world_model: WorldModelTrainer::new((&config.world_model).into()),
            actor_critic: ActorCriticTrainer::new(&config.actor_critic)?,
            config: config.clone(),
            device: device.clone(),
        })
    }

    /// The models without autodiff, for acting and evaluation.
    pub fn acting_models(&self) -> AgentModels<B::InnerBackend> {
        self.models.valid()
    }

    /// One tokenizer step on single frames; `dropout_seed` seeds the dropout masks
    /// of its LPIPS term.
    pub fn tokenizer_step(
        &mut self,
        store: &EpisodeStore,
        rng: &mut impl Rng,
        dropout_seed: u64,
    ) -> Result<TokenizerStepStats> {
        let batch = self.config.tokenizer.optim.batch;
        let frames = store.sample_segments(rng, batch, 1, Padding::Right, 1)?;
        let (model, stats) =
            self.tokenizer
                .step(self.models.tokenizer.clone(), &frames.frames, dropout_seed)?;
        self.models.tokenizer = model;
        Ok(stats)
    }

    /// One world-model step on block sequences, read through the frozen tokenizer;
    /// `dropout_seed` seeds its dropout masks.
    pub fn world_model_step(
        &mut self,
        store: &EpisodeStore,
        tokens: &mut TokenCache,
        rng: &mut impl Rng,
        dropout_seed: u64,
    ) -> Result<WorldModelStepStats> {
        let drawn = self.world_model_rows(store, rng)?;
        let tokenizer = self.models.tokenizer.valid();
        let mut batch = token_batch::<B>(
            &tokenizer,
            &drawn.segments,
            tokens,
            &self.device,
            self.config.world_model.threads,
        )?;
        batch.reward_adjustment = self.reward_adjustment(&drawn);
        let codebook = Tensor::<B, 2>::from_inner(tokenizer.codebook());
        let (model, stats) = self.world_model.step(
            self.models.world_model.clone(),
            &codebook,
            &batch,
            dropout_seed,
        );
        self.models.world_model = model;
        Ok(stats)
    }

    /// A world-model batch's segments: uniform, or with rewarded or recent rows as
    /// configured (the two are not combined: the config refuses it).
    fn world_model_rows(
        &self,
        store: &EpisodeStore,
        rng: &mut impl Rng,
    ) -> Result<RewardedSegments> {
        let w = &self.config.world_model;
        let (batch, len, min_real) = (w.optim.batch, w.seq_blocks, w.context_blocks + 1);
        if w.recent_rows == 0 {
            let drawn = store.sample_segments_with_rewarded(
                rng,
                batch,
                len,
                min_real,
                w.rewarded_rows,
                w.context_blocks,
            )?;
            return Ok(drawn);
        }
        let segments = store.sample_segments_with_recent(
            rng,
            batch,
            len,
            min_real,
            w.recent_rows,
            w.recent_steps,
        )?;
        Ok(RewardedSegments {
            segments,
            row_weights: vec![1.0; batch],
            sign_shift: [0.0; 3],
        })
    }

    /// The reward loss's correction for `drawn`'s rewarded rows, as configured.
    fn reward_adjustment(&self, drawn: &RewardedSegments) -> RewardAdjustment<B> {
        let vector = |values: &[f32]| Tensor::from_floats(values, &self.device);
        match self.config.world_model.rewarded_rows_correction {
            _ if self.config.world_model.rewarded_rows == 0 => RewardAdjustment::None,
            RewardedRowsCorrection::None => RewardAdjustment::None,
            RewardedRowsCorrection::Importance => {
                RewardAdjustment::RowWeights(vector(&drawn.row_weights))
            }
            RewardedRowsCorrection::SignShift => {
                RewardAdjustment::SignShift(vector(&drawn.sign_shift))
            }
        }
    }

    /// One actor-critic step in the imagination of the frozen tokenizer and world model.
    pub fn actor_critic_step(
        &mut self,
        store: &EpisodeStore,
        tokens: &mut TokenCache,
        rng: &mut (impl Rng + Send),
    ) -> Result<ActorCriticStepStats> {
        let tokenizer = self.models.tokenizer.valid();
        let world_model = self.models.world_model.valid();
        let frozen = FrozenModels::<B> {
            tokenizer: &tokenizer,
            world_model: &world_model,
        };
        let (model, stats) = self.actor_critic.step(
            self.models.actor_critic.clone(),
            &frozen,
            store,
            tokens,
            rng,
        )?;
        self.models.actor_critic = model;
        Ok(stats)
    }

    /// The optimisers' states, for a checkpoint.
    pub fn optimizer_records(&self) -> OptimizerRecords<B> {
        OptimizerRecords {
            tokenizer: self.tokenizer.optimizer.to_record(),
            world_model: self.world_model.optimizer.to_record(),
            actor_critic: self.actor_critic.optimizer.to_record(),
        }
    }

    /// Models and optimiser states from `checkpoint`.
    pub fn load(&mut self, checkpoint: &Checkpoint, shapes: &ModelShapes) -> Result<()> {
        self.models = checkpoint.models(shapes, &self.device)?;
        let records = checkpoint.optimizers::<B>(&self.device)?;
        let o = &mut self.tokenizer.optimizer;
        *o = o.clone().load_record(records.tokenizer);
        let o = &mut self.world_model.optimizer;
        *o = o.clone().load_record(records.world_model);
        let o = &mut self.actor_critic.optimizer;
        *o = o.clone().load_record(records.actor_critic);
        Ok(())
    }
}
