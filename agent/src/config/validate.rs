//! The checks a run configuration passes before anything runs: settings that
//! contradict each other, or that would fail only at their first use.

use anyhow::{bail, Context, Result};

use super::{RewardedRowsCorrection, RunConfig};
use crate::actor_critic::check_sampling;
use crate::imagination::returns::LambdaReturns;
use crate::imagination::rollout::CONTEXT_FRAMES;

impl RunConfig {
    /// Every check, the first failure named.
    pub(super) fn validate(&self) -> Result<()> {
        if self.collect.collect_until_epoch > self.collect.epochs {
            bail!("collect.collect_until_epoch exceeds collect.epochs");
        }
        if self.world_model.context_blocks >= self.world_model.seq_blocks {
            bail!("world_model.context_blocks must be smaller than world_model.seq_blocks");
        }
        if self.world_model.chunk_blocks == 0 {
            bail!("world_model.chunk_blocks must be at least 1");
        }
        for (key, rows) in [
            ("rewarded_rows", self.world_model.rewarded_rows),
            ("recent_rows", self.world_model.recent_rows),
        ] {
            if rows > self.world_model.optim.batch {
                bail!(
                    "world_model.{key} ({rows}) exceeds world_model.optim.batch ({})",
                    self.world_model.optim.batch
                );
            }
        }
        if self.world_model.rewarded_rows_correction == RewardedRowsCorrection::Importance
            && self.world_model.rewarded_rows == self.world_model.optim.batch
        {
            bail!(
                "world_model.rewarded_rows_correction = \"importance\" needs uniform rows: \
                 world_model.rewarded_rows ({}) must be smaller than world_model.optim.batch",
                self.world_model.rewarded_rows
            );
        }
        if self.world_model.recent_rows > 0 && self.world_model.rewarded_rows > 0 {
            bail!(
                "world_model.recent_rows and world_model.rewarded_rows cannot both be set: \
                 the rewarded rows' corrections assume the other rows are uniform"
            );
        }
        for (part, threads) in [
            ("tokenizer", self.tokenizer.threads),
            ("world_model", self.world_model.threads),
            ("actor_critic", self.actor_critic.threads),
        ] {
            if threads == 0 {
                bail!("{part}.threads must be at least 1");
            }
        }
        for (part, optim) in [
            ("tokenizer", &self.tokenizer.optim),
            ("world_model", &self.world_model.optim),
            ("actor_critic", &self.actor_critic.optim),
        ] {
            optim.check().with_context(|| format!("{part}.optim"))?;
        }
        for (key, count) in [
            ("collect.envs", self.collect.envs),
            ("collect.steps_per_epoch", self.collect.steps_per_epoch),
            ("eval.episodes", self.eval.episodes),
            ("eval.final_episodes", self.eval.final_episodes),
            ("store.max_mib", self.store.max_mib),
            ("world_model.recent_steps", self.world_model.recent_steps),
        ] {
            if count == 0 {
                bail!("{key} must be at least 1");
            }
        }
        let entropy_weight = self.actor_critic.entropy_weight;
        if !(entropy_weight.is_finite() && entropy_weight >= 0.0) {
            bail!(
                "actor_critic.entropy_weight must be finite and non-negative, got {entropy_weight}"
            );
        }
        if self.actor_critic.burn_in + 1 < CONTEXT_FRAMES {
            bail!(
                "actor_critic.burn_in must be at least {}: the imagination's context is the \
                 segment's last {CONTEXT_FRAMES} real frames",
                CONTEXT_FRAMES - 1
            );
        }
        let horizon = self.actor_critic.horizon;
        if horizon <= CONTEXT_FRAMES {
            bail!(
                "actor_critic.horizon {horizon} must exceed the {CONTEXT_FRAMES} real context \
                 frames of imagination: it counts the world model's blocks, context included"
            );
        }
        if horizon > self.world_model.seq_blocks {
            bail!(
                "actor_critic.horizon {horizon} exceeds world_model.seq_blocks {}: imagination \
                 would run the world model past the sequence length it is trained on",
                self.world_model.seq_blocks
            );
        }
        let world_temperature = self.actor_critic.world_temperature;
        if world_temperature.is_nan() || world_temperature < 0.0 {
            bail!("actor_critic.world_temperature must be 0 (most likely tokens) or more");
        }
        // Checked here so that a bad value fails at load, not at its first use.
        LambdaReturns::new(self.actor_critic.gamma, self.actor_critic.lambda)
            .context("actor_critic")?;
        check_sampling(self.collect.temperature, self.collect.epsilon).context("collect")?;
        check_sampling(self.eval.temperature, 0.0).context("eval")?;
        Ok(())
    }
}
