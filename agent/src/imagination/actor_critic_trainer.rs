//! One optimisation step of the actor-critic in imagination (algorithm.md, section 4):
//! sample real segments, imagine from them with the frozen world model, then
//! policy-gradient, entropy and value losses on lambda-returns.

use anyhow::Result;
use burn::module::Module;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::AdamW;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Bool, Tensor};
use rand::RngCore;
use rem_envs::store::{EpisodeStore, Padding};
use rem_worldmodel::optim::{adamw, apply_gradients, sum_over_shares, try_sharded_gradients};
use serde::Serialize;

use crate::actor_critic::{ActorCritic, ActorCriticLoss};
use crate::batches::{actions_tensor, encode_segments, mask_tensor, TokenCache};
use crate::config::ActorCriticSection;
use crate::imagination::returns::LambdaReturns;
use crate::imagination::rollout::{
    FrozenModels, Generator, Rollout, RolloutSettings, RolloutShare, StartSegments, CONTEXT_FRAMES,
};

#[derive(Debug, Clone, Copy, Serialize)]
pub struct ActorCriticStepStats {
    pub total: f32,
    pub policy: f32,
    pub value: f32,
    pub entropy: f32,
    pub imagined_reward: f32,
    /// The batch's mean advantage G_t - V_t: the critic's bias (0 when unbiased).
    pub advantage: f32,
    /// The advantage's standard deviation over the batch's steps.
    pub advantage_std: f32,
    /// Global gradient norm before clipping.
    pub grad_norm: f32,
}

pub struct ActorCriticTrainer<B: AutodiffBackend> {
    settings: ActorCriticSection,
    returns: LambdaReturns,
    pub optimizer: OptimizerAdaptor<AdamW, ActorCritic<B>, B>,
}

impl<B: AutodiffBackend> ActorCriticTrainer<B> {
    pub fn new(settings: &ActorCriticSection) -> Result<Self> {
        let optimizer = adamw(settings.optim.weight_decay);
        Ok(Self {
            returns: LambdaReturns::new(settings.gamma, settings.lambda)?,
            settings: settings.clone(),
            optimizer,
        })
    }

    // Longer than most: it reads as the algorithm of algorithm.md, section 4, in order
    // (sample start segments, imagine, lambda-returns, losses, one AdamW step).
    pub fn step(
        &mut self,
        model: ActorCritic<B>,
        frozen: &FrozenModels<'_, B>,
        store: &EpisodeStore,
        cache: &mut TokenCache,
        rng: &mut (impl RngCore + Send),
    ) -> Result<(ActorCritic<B>, ActorCriticStepStats)> {
        let s = &self.settings;
        let device = model
            .devices()
            .into_iter()
            .next()
            .expect("a model lives on a device");
        let segments = store.sample_segments(
            rng,
            s.optim.batch,
            s.burn_in + 1,
            Padding::Left,
            CONTEXT_FRAMES,
        )?;
        let start = StartSegments::<B> {
            tokens: encode_segments(frozen.tokenizer, &segments, cache, &device, s.threads)?,
            actions: actions_tensor(&segments, &device),
            mask: mask_tensor(&segments, &device),
        };
        let settings = RolloutSettings {
            horizon: s.horizon,
            generator: Generator::Pop,
            world_temperature: s.world_temperature,
            expected_outcomes: s.expected_outcomes,
            burn_in_feeds_actions: s.burn_in_feeds_actions,
        };
        let (returns, entropy_weight) = (&self.returns, s.entropy_weight);
        let rows = start.tokens.dims()[0];
        let (grads, shares) = try_sharded_gradients(
            &model,
            RolloutShare::split(start, rng, s.threads),
            |model: &ActorCritic<B>, share: RolloutShare<'_, B>| {
                let weight = share.rows() as f64 / rows as f64;
                let rollout = share.roll_out(frozen, model, settings)?;
                let terms = share_terms(rollout, settings, returns, entropy_weight, weight);
                anyhow::Ok((terms.loss.total.clone(), terms))
            },
        )?;
        let (model, grad_norm) = apply_gradients(
            &mut self.optimizer,
            model,
            grads,
            s.optim.lr,
            s.optim.grad_clip,
        );
        let sum = |term: fn(&ShareTerms<B>) -> &Tensor<B, 1>| {
            sum_over_shares(shares.iter().map(term)).expect("at least one share")
        };
        let advantage = sum(|t| &t.loss.advantage);
        let advantage_square = sum(|t| &t.loss.advantage_square);
        let stats = ActorCriticStepStats {
            total: sum(|t| &t.loss.total),
            policy: sum(|t| &t.loss.policy),
            value: sum(|t| &t.loss.value),
            entropy: sum(|t| &t.loss.entropy),
            imagined_reward: sum(|t| &t.imagined_reward),
            advantage,
            advantage_std: (advantage_square - advantage * advantage).max(0.0).sqrt(),
            grad_norm,
        };
        Ok((model, stats))
    }
}

/// A share's loss terms, already weighted, and its mean imagined reward.
struct ShareTerms<B: AutodiffBackend> {
    loss: ActorCriticLoss<B>,
    imagined_reward: Tensor<B, 1>,
}

/// The losses of one share's rollout on its lambda-returns, weighted by the share's
/// part of the batch (`weight` = its rows / the batch's rows).
fn share_terms<B: AutodiffBackend>(
    rollout: Rollout<B>,
    settings: RolloutSettings,
    returns: &LambdaReturns,
    entropy_weight: f32,
    weight: f64,
) -> ShareTerms<B> {
    // H observations give H - 1 transitions; the last value only bootstraps.
    let steps = settings.transitions();
    let returns = returns.compute(
        rollout.rewards.clone(),
        rollout.continues,
        rollout.values.clone().detach(),
    );
    let [batch, _] = returns.dims();
    let device = returns.device();
    let loss = ActorCriticLoss::new(
        rollout.logits.narrow(1, 0, steps),
        rollout.actions.narrow(1, 0, steps),
        rollout.values.narrow(1, 0, steps),
        returns,
        Tensor::<B, 2, Bool>::ones([batch, steps], &device),
        entropy_weight,
    );
    // Times 1 is exact: a whole batch's terms are its plain means.
    ShareTerms {
        loss: loss.weighted(weight),
        imagined_reward: rollout.rewards.mean().mul_scalar(weight),
    }
}
