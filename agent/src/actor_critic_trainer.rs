//! One optimisation step of the actor-critic in imagination (algorithm.md, section 4):
//! sample real segments, imagine from them with the frozen world model, then
//! policy-gradient, entropy and value losses on lambda-returns.

use anyhow::Result;
use burn::module::Module;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::AdamW;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Bool, Tensor};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use rem_envs::store::{EpisodeStore, Padding};
use rem_worldmodel::optim::{adamw, apply_gradients, sum_over_shares, try_sharded_gradients};
use rem_worldmodel::stream::with_thread_stream;
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
        let (returns, entropy_weight) = (&self.returns, s.entropy_weight);
        let (grads, shares) = try_sharded_gradients(
            &model,
            Share::split(start, rng, s.threads),
            |model: &ActorCritic<B>, share: Share<'_, B>| {
                let terms = share.terms(frozen, model, settings, returns, entropy_weight)?;
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
        let stats = ActorCriticStepStats {
            total: sum(|t| &t.loss.total),
            policy: sum(|t| &t.loss.policy),
            value: sum(|t| &t.loss.value),
            entropy: sum(|t| &t.loss.entropy),
            imagined_reward: sum(|t| &t.imagined_reward),
            grad_norm,
        };
        Ok((model, stats))
    }
}

/// One thread's part of a step: a run of consecutive start segments, the random
/// stream its actions are drawn from, the seed of the thread stream its imagined
/// tokens are drawn from (none: the backend's generator, as a step on one thread
/// always did), and its weight in the batch's means (its rows / the batch's rows).
struct Share<'r, B: AutodiffBackend> {
    start: StartSegments<B>,
    rng: Box<dyn RngCore + Send + 'r>,
    token_seed: Option<u64>,
    weight: f64,
}

/// A share's loss terms, already weighted, and its mean imagined reward.
struct ShareTerms<B: AutodiffBackend> {
    loss: ActorCriticLoss<B>,
    imagined_reward: Tensor<B, 1>,
}

impl<'r, B: AutodiffBackend> Share<'r, B> {
    /// `start` as `threads` shares. One share draws from `rng` itself, so that a step
    /// on one thread is the plain step; several draw from streams seeded by `rng`.
    fn split(
        start: StartSegments<B>,
        rng: &'r mut (impl RngCore + Send),
        threads: usize,
    ) -> Vec<Self> {
        if threads <= 1 {
            let rng = Box::new(rng);
            return vec![Self {
                start,
                rng,
                token_seed: None,
                weight: 1.0,
            }];
        }
        let rows = start.tokens.dims()[0];
        start
            .split_rows(threads)
            .into_iter()
            .map(|share| Self {
                weight: share.tokens.dims()[0] as f64 / rows as f64,
                start: share,
                rng: Box::new(StdRng::seed_from_u64(rng.random())),
                token_seed: Some(rng.random()),
            })
            .collect()
    }

    /// Imagines from the share's segments, then its weighted losses on the
    /// lambda-returns.
    fn terms(
        mut self,
        frozen: &FrozenModels<'_, B>,
        model: &ActorCritic<B>,
        settings: RolloutSettings,
        returns: &LambdaReturns,
        entropy_weight: f32,
    ) -> Result<ShareTerms<B>> {
        let (start, rng) = (self.start, &mut self.rng);
        let rollout = match self.token_seed {
            Some(seed) => {
                with_thread_stream(seed, || roll_out(frozen, model, start, settings, rng))
            }
            None => roll_out(frozen, model, start, settings, rng),
        }?;
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
        let imagined_reward = rollout.rewards.mean();
        Ok(if self.weight == 1.0 {
            ShareTerms {
                loss,
                imagined_reward,
            }
        } else {
            ShareTerms {
                loss: loss.weighted(self.weight),
                imagined_reward: imagined_reward.mul_scalar(self.weight),
            }
        })
    }
}
