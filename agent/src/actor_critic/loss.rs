//! Actor-critic losses over an imagined rollout (algorithm.md, section 4).
//!
//! Indexing. An imagination of horizon 10 spans 10 world-model blocks, the 2 context
//! frames included, so it visits H = 9 observations o_0..o_8 (o_0 is the last real
//! frame of the segment) and has H - 1 = 8 transitions t = 0..7, each with a reward
//! r_t and a successor value V_{t+1}; V_8 only bootstraps. The loss covers exactly
//! those 8 effective steps: logits, actions and values of steps 0..7, and the
//! lambda-returns G_0..G_7 computed from r_0..r_7 and V_0..V_8 (see
//! `crate::imagination::returns`). The means are over those 8 steps, as in the reference.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

/// Weight of the entropy bonus in the total loss.
pub const ENTROPY_WEIGHT: f32 = 0.001;

/// The loss terms, each a one-element tensor. `total` is what to differentiate.
#[derive(Debug, Clone)]
pub struct ActorCriticLoss<B: Backend> {
    /// policy + value - entropy_weight * entropy.
    pub total: Tensor<B, 1>,
    /// -mean(log pi(a_t) * sg(G_t - V_t)).
    pub policy: Tensor<B, 1>,
    /// mean((V_t - sg(G_t))^2).
    pub value: Tensor<B, 1>,
    /// Mean policy entropy in nats (a bonus: it is subtracted in `total`).
    pub entropy: Tensor<B, 1>,
    /// mean(G_t - V_t), detached: the critic's bias, logged, not optimised.
    pub advantage: Tensor<B, 1>,
    /// mean((G_t - V_t)^2), detached: with `advantage`, the advantage's spread.
    pub advantage_square: Tensor<B, 1>,
}

impl<B: Backend> ActorCriticLoss<B> {
    /// Losses over the effective steps. Shapes: `logits` [B, H, A], `actions` [B, H],
    /// `values` [B, H], `returns` [B, H], `mask` [B, H]; means are taken over the
    /// steps where `mask` is true (all terms are zero when none is). `returns` and the
    /// advantage are detached here, so gradients reach the actor only through
    /// log pi and the critic only through V.
    ///
    /// # Panics
    /// If the shapes disagree.
    pub fn new(
        logits: Tensor<B, 3>,
        actions: Tensor<B, 2, Int>,
        values: Tensor<B, 2>,
        returns: Tensor<B, 2>,
        mask: Tensor<B, 2, Bool>,
        entropy_weight: f32,
    ) -> Self {
        let [batch, steps, _] = logits.dims();
        let expected = [batch, steps];
        for (name, dims) in [
            ("actions", actions.dims()),
            ("values", values.dims()),
            ("returns", returns.dims()),
            ("mask", mask.dims()),
        ] {
            assert_eq!(
                dims, expected,
                "actor-critic loss: {name} must be [batch, steps] = {expected:?}, got {dims:?}"
            );
        }
        let weights = mask.float();
        let count = weights.clone().sum().clamp_min(1.0);
        let masked_mean = |x: Tensor<B, 2>| (x * weights.clone()).sum() / count.clone();

        let log_probs = log_softmax(logits, 2);
        let taken_log_prob = log_probs
            .clone()
            .gather(2, actions.unsqueeze_dim(2))
            .reshape(expected);
        let returns = returns.detach();
        let advantage = returns.clone() - values.clone().detach();
        let policy = masked_mean(taken_log_prob * advantage.clone()).neg();

        let step_entropy = (log_probs.clone().exp() * log_probs)
            .sum_dim(2)
            .reshape(expected)
            .neg();
        let entropy = masked_mean(step_entropy);

        let value = masked_mean((values - returns).powi_scalar(2));

        let total = policy.clone() + value.clone() - entropy.clone().mul_scalar(entropy_weight);
        Self {
            total,
            policy,
            value,
            entropy,
            advantage_square: masked_mean(advantage.clone().powi_scalar(2)),
            advantage: masked_mean(advantage),
        }
    }

    /// Every term times `weight`: the share of a larger batch's means that a part of
    /// it contributes (`weight` = its rows / the batch's rows, all steps unmasked).
    pub fn weighted(self, weight: f64) -> Self {
        let scale = |t: Tensor<B, 1>| t.mul_scalar(weight);
        Self {
            total: scale(self.total),
            policy: scale(self.policy),
            value: scale(self.value),
            entropy: scale(self.entropy),
            advantage: scale(self.advantage),
            advantage_square: scale(self.advantage_square),
        }
    }
}
