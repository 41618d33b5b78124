//! Lambda-returns over an imagined rollout (algorithm.md, section 4).
//!
//! For effective steps t = 0..H-1 with rewards r_t, continue flags c_t (1 when the
//! episode goes on after step t, 0 when step t ended it) and values V_0..V_H:
//!
//!   G_H = V_H (bootstrap),
//!   G_t = r_t + gamma * c_t * ((1 - lambda) * V_{t+1} + lambda * G_{t+1}).
//!
//! With lambda = 1 this is the discounted Monte-Carlo return bootstrapped from V_H;
//! with lambda = 0 it is the one-step TD target. For imagination horizon 10 (9
//! observations) pass the 8 transitions (H = 8) and the 9 values; see
//! `crate::actor_critic::ActorCriticLoss`.

use anyhow::ensure;
use burn::prelude::*;

/// Discount of the spec.
pub const GAMMA: f32 = 0.995;
/// Lambda of the spec.
pub const LAMBDA: f32 = 0.95;

/// Discount and lambda of the returns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LambdaReturns {
    /// Discount per step, in [0, 1].
    pub gamma: f32,
    /// Mix between TD(0) (0) and Monte-Carlo (1), in [0, 1].
    pub lambda: f32,
}

impl Default for LambdaReturns {
    fn default() -> Self {
        Self {
            gamma: GAMMA,
            lambda: LAMBDA,
        }
    }
}

impl LambdaReturns {
    /// Checked constructor.
    pub fn new(gamma: f32, lambda: f32) -> anyhow::Result<Self> {
        ensure!(
            (0.0..=1.0).contains(&gamma),
            "gamma must lie in [0, 1], got {gamma}"
        );
        ensure!(
            (0.0..=1.0).contains(&lambda),
            "lambda must lie in [0, 1], got {lambda}"
        );
        Ok(Self { gamma, lambda })
    }

    /// Returns [B, H] from `rewards` [B, H], `continues` [B, H] and `values` [B, H+1].
    /// Gradients flow through the inputs as given; detach them for use as targets.
    ///
    /// # Panics
    /// If H is 0 or the shapes disagree.
    pub fn compute<B: Backend>(
        &self,
        rewards: Tensor<B, 2>,
        continues: Tensor<B, 2>,
        values: Tensor<B, 2>,
    ) -> Tensor<B, 2> {
        let [batch, horizon] = rewards.dims();
        assert!(horizon > 0, "lambda-returns need at least one step");
        assert_eq!(
            continues.dims(),
            [batch, horizon],
            "continues must be [batch, horizon] like rewards"
        );
        assert_eq!(
            values.dims(),
            [batch, horizon + 1],
            "values must be [batch, horizon + 1]: one bootstrap value past the rewards"
        );
        let column = |x: &Tensor<B, 2>, t: usize| x.clone().narrow(1, t, 1);
        let mut next_return = column(&values, horizon);
        let mut columns = Vec::with_capacity(horizon);
        for t in (0..horizon).rev() {
            let blended = column(&values, t + 1).mul_scalar(1.0 - self.lambda)
                + next_return.mul_scalar(self.lambda);
            let g = column(&rewards, t) + column(&continues, t).mul_scalar(self.gamma) * blended;
            columns.push(g.clone());
            next_return = g;
        }
        columns.reverse();
        Tensor::cat(columns, 1)
    }

    /// Host version for one rollout, used as a reference: `rewards` and `continues`
    /// of length H, `values` of length H + 1.
    pub fn compute_host(
        &self,
        rewards: &[f32],
        continues: &[f32],
        values: &[f32],
    ) -> anyhow::Result<Vec<f32>> {
        let horizon = rewards.len();
        ensure!(
            continues.len() == horizon && values.len() == horizon + 1,
            "lambda-returns need H rewards, H continues and H + 1 values, got {}, {}, {}",
            horizon,
            continues.len(),
            values.len()
        );
        let mut returns = vec![0.0; horizon];
        let mut next_return = values[horizon];
        for t in (0..horizon).rev() {
            let blended = (1.0 - self.lambda) * values[t + 1] + self.lambda * next_return;
            returns[t] = rewards[t] + self.gamma * continues[t] * blended;
            next_return = returns[t];
        }
        Ok(returns)
    }
}
