//! One optimisation step of the actor-critic in imagination (algorithm.md, section 4):
//! sample real segments, imagine from them with the frozen world model, then
//! policy-gradient, entropy and value losses on lambda-returns.

use anyhow::Result;
use burn::module::Module;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::AdamW;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Bool, ElementConversion, Tensor};
use rand::Rng;
use rem_envs::store::{EpisodeStore, Padding};
use rem_worldmodel::optim::{adamw, descend};
use serde::Serialize;

use crate::actor_critic::{ActorCritic, ActorCriticLoss};
use crate::batches::{actions_tensor, encode_segments, mask_tensor, TokenCache};
use crate::config::ActorCriticSection;
use crate::returns::LambdaReturns;
use crate::rollout::{
    roll_out, FrozenModels, Generator, RolloutSettings, StartSegments, CONTEXT_FRAMES,
};

#[derive(Debug, Clone, Copy, Serialize)]
pub struct ActorCriticStepStats {
    pub total: f32,
    pub policy: f32,
    pub value: f32,
    pub entropy: f32,
    pub imagined_reward: f32,
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
        rng: &mut impl Rng,
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
            tokens: encode_segments(frozen.tokenizer, &segments, cache, &device)?,
            actions: actions_tensor(&segments, &device),
            mask: mask_tensor(&segments, &device),
        };
        let settings = RolloutSettings {
            horizon: s.horizon,
            generator: Generator::Pop,
            world_temperature: s.world_temperature,
            expected_outcomes: s.expected_outcomes,
        };
        let rollout = roll_out(frozen, &model, start, settings, rng)?;

        // H observations give H - 1 transitions; the last value only bootstraps.
        let steps = settings.transitions();
        let returns = self.returns.compute(
            rollout.rewards.clone(),
            rollout.continues,
            rollout.values.clone().detach(),
        );
        let [batch, _] = returns.dims();
        let loss = ActorCriticLoss::new(
            rollout.logits.narrow(1, 0, steps),
            rollout.actions.narrow(1, 0, steps),
            rollout.values.narrow(1, 0, steps),
            returns,
            Tensor::<B, 2, Bool>::ones([batch, steps], &device),
            s.entropy_weight,
        );
        let (model, grad_norm) = descend(
            &mut self.optimizer,
            model,
            &loss.total,
            s.optim.lr,
            s.optim.grad_clip,
        );
        let scalar = |t: Tensor<B, 1>| t.into_scalar().elem::<f32>();
        let stats = ActorCriticStepStats {
            total: scalar(loss.total),
            policy: scalar(loss.policy),
            value: scalar(loss.value),
            entropy: scalar(loss.entropy),
            imagined_reward: scalar(rollout.rewards.mean()),
            grad_norm,
        };
        Ok((model, stats))
    }
}
