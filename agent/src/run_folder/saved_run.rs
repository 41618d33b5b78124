//! A run opened at one of its checkpoints: what evaluation, dreams and probes start
//! from.

use std::path::Path;

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use rem_envs::store::EpisodeStore;

use super::{Checkpoint, RunFolder};
use crate::config::RunConfig;
use crate::models::{AgentModels, ModelShapes};

/// A run opened at one of its checkpoints, for evaluation, dreams and probes.
pub struct SavedRun<B: Backend> {
    pub folder: RunFolder,
    pub config: RunConfig,
    pub checkpoint: Checkpoint,
    /// The models' sizes, as the config and the game's action count give them.
    pub shapes: ModelShapes,
    pub models: AgentModels<B>,
}

impl<B: Backend> SavedRun<B> {
    /// The run in `run_dir` at checkpoint folder `checkpoint`, or at its latest.
    pub fn open(run_dir: &Path, checkpoint: Option<&Path>, device: &B::Device) -> Result<Self> {
        let folder = RunFolder::new(run_dir);
        let config = folder.config(&[])?;
        let checkpoint = folder.checkpoint(checkpoint)?;
        let n_actions = match checkpoint.progress()?.n_actions {
            Some(n) => n,
            // An older checkpoint: the game says how many actions it has.
            None => rem_envs::make_env(&config.env.game, rem_envs::EnvMode::Eval, config.seed)?
                .action_space()
                .n(),
        };
        let shapes = ModelShapes::from_config(&config, n_actions)?;
        let models = checkpoint.models(&shapes, device)?;
        Ok(Self {
            folder,
            config,
            checkpoint,
            shapes,
            models,
        })
    }

    /// The run's config with `overrides` applied (a probe's `--set`), and the model
    /// shapes it gives for the run's game.
    pub fn reconfigured(&self, overrides: &[String]) -> Result<(RunConfig, ModelShapes)> {
        let config = self.config.with_overrides(overrides)?;
        let shapes = ModelShapes::from_config(&config, self.shapes.actor_critic.n_actions)?;
        Ok((config, shapes))
    }

    /// The episode store saved with the checkpoint. A model kept under models/ has
    /// none of its own: the latest checkpoint's holds its episodes and those
    /// collected since.
    pub fn episodes(&self) -> Result<EpisodeStore> {
        if self.checkpoint.has_store() {
            return self.checkpoint.store();
        }
        let latest = self.folder.latest_checkpoint()?;
        latest
            .context("the run has no checkpoint with an episode store")?
            .store()
    }
}
