//! The RetNet world model of algorithm.md, section 3: token embeddings, the retention stack,
//! learned prediction tokens and the three heads, with the POP training pass and
//! its masked loss.
//!
//! A sequence is a run of blocks of `K + 1` tokens: the `K` observation tokens of a
//! frame followed by the action taken on it. Observation tokens are embedded with
//! the tokenizer's codebook, which the caller passes in detached so that no gradient
//! reaches it from here.

use burn::module::{Module, Param};
use burn::nn::{Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig};
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor};
use serde::{Deserialize, Serialize};

use crate::optim::row_shares;
use crate::retention::Outputs;
use crate::retnet::{RetNet, RetNetConfig, RetNetState};

/// Number of reward classes: the sign of the reward, -1 / 0 / +1.
pub const REWARD_CLASSES: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldModelConfig {
    pub retnet: RetNetConfig,
    /// Observation tokens per frame (K).
    pub tokens_per_frame: usize,
    /// Size of the tokenizer's vocabulary; the codebook width must equal `d_model`.
    pub vocab: usize,
    pub n_actions: usize,
    /// Blocks per chunk of the chunkwise training pass.
    pub chunk_blocks: usize,
    /// Adds the frame before's codebook vectors to the prediction tokens, slot by
    /// slot, so that "nothing moves" is one step from each slot's input (not in REM:
    /// docs/deviations.md, "Options the reference does not have").
    #[serde(default)]
    pub prediction_sees_frame_before: bool,
}

impl WorldModelConfig {
    /// The spec's world model for a game with `n_actions` actions.
    pub fn spec(n_actions: usize) -> Self {
        Self {
            retnet: RetNetConfig::default(),
            tokens_per_frame: 64,
            vocab: 512,
            n_actions,
            chunk_blocks: 3,
            prediction_sees_frame_before: false,
        }
    }

    /// A two-layer, 16-wide world model without dropout, for tests.
    pub fn tiny(tokens_per_frame: usize, vocab: usize, n_actions: usize) -> Self {
        Self {
            retnet: RetNetConfig {
                n_layers: 2,
                d_model: 16,
                n_heads: 2,
                ffn: 32,
                dropout: 0.0,
            },
            tokens_per_frame,
            vocab,
            n_actions,
            chunk_blocks: 2,
            prediction_sees_frame_before: false,
        }
    }

    pub fn block_len(&self) -> usize {
        self.tokens_per_frame + 1
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> WorldModel<B> {
        let d = self.retnet.d_model;
        let head = |classes| Head {
            hidden: LinearConfig::new(d, d).init(device),
            out: LinearConfig::new(d, classes).init(device),
        };
        // N(0, 1) like the action embeddings: PyTorch's `nn.Embedding` default, which
        // the reference uses for both tables.
        let prediction_tokens = Initializer::Normal {
            mean: 0.0,
            std: 1.0,
        }
        .init([self.block_len(), d], device);
        WorldModel {
            retnet: self.retnet.init(device),
            action_embedding: EmbeddingConfig::new(self.n_actions, d).init(device),
            prediction_tokens,
            obs_head: head(self.vocab),
            reward_head: head(REWARD_CLASSES),
            done_head: head(2),
            tokens_per_frame: self.tokens_per_frame,
            chunk_blocks: self.chunk_blocks,
            prediction_sees_frame_before: self.prediction_sees_frame_before,
        }
    }
}

/// A two-layer MLP head.
#[derive(Module, Debug)]
pub struct Head<B: Backend> {
    hidden: Linear<B>,
    out: Linear<B>,
}

impl<B: Backend> Head<B> {
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        self.out.forward(relu(self.hidden.forward(x)))
    }
}

#[derive(Module, Debug)]
pub struct WorldModel<B: Backend> {
    pub retnet: RetNet<B>,
    pub action_embedding: Embedding<B>,
    /// One learned embedding per position of a block (POP).
    pub prediction_tokens: Param<Tensor<B, 2>>,
    pub obs_head: Head<B>,
    pub reward_head: Head<B>,
    pub done_head: Head<B>,
    tokens_per_frame: usize,
    chunk_blocks: usize,
    prediction_sees_frame_before: bool,
}

/// A training batch of token sequences: `T` blocks per row.
#[derive(Debug, Clone)]
pub struct TokenBatch<B: Backend> {
    /// `[B, T, K]` observation tokens.
    pub tokens: Tensor<B, 3, Int>,
    /// `[B, T]` actions taken on each frame.
    pub actions: Tensor<B, 2, Int>,
    /// `[B, T]` rewards received after each action (only their sign is learned).
    pub rewards: Tensor<B, 2>,
    /// `[B, T]` 1 where the episode ended after the action, else 0.
    pub ends: Tensor<B, 2, Int>,
    /// `[B, T]` true for real steps, false for padding.
    pub mask: Tensor<B, 2, Bool>,
    /// What the reward term corrects for rows not drawn uniformly.
    pub reward_adjustment: RewardAdjustment<B>,
}

/// A correction of the reward term of the loss for a batch whose rows were not drawn
/// uniformly from the store (rem_envs' `RewardedSegments` computes both).
#[derive(Debug, Clone)]
pub enum RewardAdjustment<B: Backend> {
    /// Every row as drawn.
    None,
    /// `[B]`: row `b`'s reward NLL is multiplied by `w_b` (importance weights).
    RowWeights(Tensor<B, 1>),
    /// `[3]`: `δ_c` is added to the reward-sign logit of class `c` in the loss only,
    /// CE(logits + δ, target) (logit adjustment): where the draw makes sign `c`
    /// `e^δ_c` times as frequent, the head's own logits keep the uniform rate.
    SignShift(Tensor<B, 1>),
}

impl<B: Backend> RewardAdjustment<B> {
    fn narrow_rows(&self, start: usize, len: usize) -> Self {
        match self {
            Self::RowWeights(w) => Self::RowWeights(w.clone().narrow(0, start, len)),
            other => other.clone(),
        }
    }

    /// The reward NLL `[B, T']` of `logits` `[B, T', 3]` against sign classes `[B, T']`,
    /// corrected.
    fn reward_nll(&self, logits: Tensor<B, 3>, classes: Tensor<B, 2, Int>) -> Tensor<B, 2> {
        match self {
            Self::None => token_nll(logits, classes),
            Self::RowWeights(w) => token_nll(logits, classes) * w.clone().unsqueeze_dim::<2>(1),
            Self::SignShift(shift) => token_nll(logits + shift.clone().reshape([1, 1, 3]), classes),
        }
    }
}

impl<B: Backend> TokenBatch<B> {
    pub fn rows(&self) -> usize {
        self.tokens.dims()[0]
    }

    /// The batch cut into `shares` runs of consecutive rows ([`row_shares`]).
    pub fn split_rows(&self, shares: usize) -> Vec<Self> {
        row_shares(self.rows(), shares)
            .into_iter()
            .map(|rows| self.narrow_rows(rows.start, rows.len()))
            .collect()
    }

    fn narrow_rows(&self, start: usize, len: usize) -> Self {
        Self {
            tokens: self.tokens.clone().narrow(0, start, len),
            actions: self.actions.clone().narrow(0, start, len),
            rewards: self.rewards.clone().narrow(0, start, len),
            ends: self.ends.clone().narrow(0, start, len),
            mask: self.mask.clone().narrow(0, start, len),
            reward_adjustment: self.reward_adjustment.narrow_rows(start, len),
        }
    }

    /// The real steps of blocks `context..T` over all rows, at least 1: the divisor of
    /// every mean in the loss.
    pub fn loss_steps(&self, context: usize) -> Tensor<B, 1> {
        let [_, blocks] = self.mask.dims();
        self.mask
            .clone()
            .narrow(1, context, blocks - context)
            .float()
            .sum()
            .clamp_min(1.0)
    }
}

/// Outputs of the POP training pass for blocks `context..T`.
#[derive(Debug, Clone)]
pub struct WorldModelOutput<B: Backend> {
    /// `[B, T - context, K, vocab]`: frame `t` predicted from the state before it.
    pub obs_logits: Tensor<B, 4>,
    /// `[B, T - context, 3]` reward-sign logits of the action slots.
    pub reward_logits: Tensor<B, 3>,
    /// `[B, T - context, 2]` termination logits of the action slots.
    pub done_logits: Tensor<B, 3>,
}

#[derive(Debug, Clone)]
pub struct WorldModelLoss<B: Backend> {
    pub total: Tensor<B, 1>,
    pub obs: Tensor<B, 1>,
    pub reward: Tensor<B, 1>,
    pub done: Tensor<B, 1>,
}

impl<B: Backend> WorldModel<B> {
    pub fn tokens_per_frame(&self) -> usize {
        self.tokens_per_frame
    }

    pub fn block_len(&self) -> usize {
        self.tokens_per_frame + 1
    }

    pub fn d_model(&self) -> usize {
        self.retnet.d_model()
    }

    pub fn zero_state(&self, batch: usize, device: &B::Device) -> RetNetState<B> {
        self.retnet.zero_state(batch, device)
    }

    /// Embeds `[B, T, K]` tokens and `[B, T]` actions as `[B, T * (K + 1), d]`,
    /// each frame's tokens followed by its action.
    pub fn embed_blocks(
        &self,
        codebook: &Tensor<B, 2>,
        tokens: Tensor<B, 3, Int>,
        actions: Tensor<B, 2, Int>,
    ) -> Tensor<B, 3> {
        let [batch, blocks, k] = tokens.dims();
        let d = self.d_model();
        let obs = codebook
            .clone()
            .select(0, tokens.reshape([batch * blocks * k]))
            .reshape([batch, blocks, k, d]);
        let act = self
            .action_embedding
            .forward(actions)
            .reshape([batch, blocks, 1, d]);
        Tensor::cat(vec![obs, act], 2).reshape([batch, blocks * (k + 1), d])
    }

    /// POP's input for a frame's `K` observation slots, `[B, K, d]`: the learned
    /// prediction token p_k of each slot, plus, with `prediction_sees_frame_before`,
    /// the codebook vector of the same slot's token in the frame before,
    /// x_k = p_k + e(o_{t-1,k}). `frame_before`: `[B, K]` tokens.
    pub fn prediction_block(
        &self,
        codebook: &Tensor<B, 2>,
        frame_before: Tensor<B, 2, Int>,
    ) -> Tensor<B, 3> {
        let [batch, k] = frame_before.dims();
        let d = self.d_model();
        let learned = self
            .prediction_tokens
            .val()
            .narrow(0, 0, k)
            .unsqueeze_dim::<3>(0)
            .expand([batch, k, d]);
        if !self.prediction_sees_frame_before {
            return learned;
        }
        let before = codebook
            .clone()
            .select(0, frame_before.reshape([batch * k]))
            .reshape([batch, k, d]);
        learned + before
    }

    /// POP: predicts a whole frame from the state before it with one read-only pass
    /// of the prediction tokens. `frame_before`: `[B, K]` tokens of the frame the
    /// state ends on. Returns `[B, K, vocab]` logits.
    pub fn predict_frame(
        &self,
        codebook: &Tensor<B, 2>,
        state: &RetNetState<B>,
        frame_before: Tensor<B, 2, Int>,
    ) -> Tensor<B, 3> {
        let x = self.prediction_block(codebook, frame_before);
        self.obs_head
            .forward(self.retnet.forward_readonly(x, state))
    }

    /// Reward-sign and termination logits of action-slot outputs `[.., d]`.
    pub fn outcome_heads<const D: usize>(
        &self,
        slots: Tensor<B, D>,
    ) -> (Tensor<B, D>, Tensor<B, D>) {
        (
            self.reward_head.forward(slots.clone()),
            self.done_head.forward(slots),
        )
    }

    /// The POP training pass. Real tokens run chunkwise, keeping the state at the
    /// end of every block; then the prediction tokens of all blocks `context..T` run
    /// in one batched read-only call, block `t` reading the state after block `t-1`.
    pub fn forward_train(
        &self,
        codebook: &Tensor<B, 2>,
        tokens: Tensor<B, 3, Int>,
        actions: Tensor<B, 2, Int>,
        context: usize,
    ) -> WorldModelOutput<B> {
        let [batch, blocks, k] = tokens.dims();
        assert!(
            context >= 1 && context < blocks,
            "POP needs 1 <= context ({context}) < blocks ({blocks})"
        );
        assert_eq!(
            k, self.tokens_per_frame,
            "token batch has {k} tokens per frame"
        );
        let device = tokens.device();
        let predicted = blocks - context;
        // Rows ordered (block, batch row), as the states below: the frames before
        // blocks context..T.
        let frames_before = tokens
            .clone()
            .narrow(1, context - 1, predicted)
            .swap_dims(0, 1)
            .reshape([predicted * batch, k]);
        let x = self.embed_blocks(codebook, tokens, actions);
        // Outputs at the action slots only: the losses read nothing else.
        let (slots, _, block_states) = self.retnet.forward_chunkwise_at(
            x,
            &self.zero_state(batch, &device),
            self.chunk_blocks * self.block_len(),
            Some(self.block_len()),
            Outputs::LastOfEvery(self.block_len()),
        );
        let (reward_logits, done_logits) = self.outcome_heads(slots);

        // Rows ordered (block, batch row): block t reads the state after block t-1.
        let states = RetNetState::cat(block_states[context - 1..blocks - 1].to_vec());
        let obs_logits = self.predict_frame(codebook, &states, frames_before);
        let vocab = obs_logits.dims()[2];
        let obs_logits = obs_logits
            .reshape([predicted, batch, k, vocab])
            .swap_dims(0, 1);
        WorldModelOutput {
            obs_logits,
            reward_logits: reward_logits.narrow(1, context, predicted),
            done_logits: done_logits.narrow(1, context, predicted),
        }
    }

    /// The spec's loss: CE(observation tokens) + CE(reward sign) + CE(termination),
    /// over blocks `context..T` and real (unpadded) steps only; the reward term
    /// corrected as `batch.reward_adjustment` says (the spec's batches: `None`).
    pub fn loss(
        &self,
        codebook: &Tensor<B, 2>,
        batch: &TokenBatch<B>,
        context: usize,
    ) -> WorldModelLoss<B> {
        self.loss_share(codebook, batch, context, batch.loss_steps(context))
    }

    /// The terms of [`Self::loss`] that rows `batch` contribute to a larger batch
    /// with `steps` real steps ([`TokenBatch::loss_steps`] of the whole): sums over
    /// these rows divided by `steps`, so that the shares of all rows add up to the
    /// whole batch's loss.
    pub fn loss_share(
        &self,
        codebook: &Tensor<B, 2>,
        batch: &TokenBatch<B>,
        context: usize,
        steps: Tensor<B, 1>,
    ) -> WorldModelLoss<B> {
        let out = self.forward_train(
            codebook,
            batch.tokens.clone(),
            batch.actions.clone(),
            context,
        );
        let [_, blocks, _] = batch.tokens.dims();
        let predicted = blocks - context;
        let mask = batch.mask.clone().narrow(1, context, predicted).float();

        let target_tokens = batch.tokens.clone().narrow(1, context, predicted);
        let obs_nll = token_nll(out.obs_logits, target_tokens)
            .mean_dim(2)
            .squeeze_dim::<2>(2);
        let reward_class = batch.rewards.clone().sign().add_scalar(1.0).int();
        let reward_nll = batch.reward_adjustment.reward_nll(
            out.reward_logits,
            reward_class.narrow(1, context, predicted),
        );
        let done_nll = token_nll(
            out.done_logits,
            batch.ends.clone().narrow(1, context, predicted),
        );

        let masked_share = |nll: Tensor<B, 2>| (nll * mask.clone()).sum() / steps.clone();
        let obs = masked_share(obs_nll);
        let reward = masked_share(reward_nll);
        let done = masked_share(done_nll);
        WorldModelLoss {
            total: obs.clone() + reward.clone() + done.clone(),
            obs,
            reward,
            done,
        }
    }
}

/// Negative log-likelihood of integer targets under logits whose last dimension
/// holds the classes: `[.., C]` logits with `[..]` targets -> `[..]`.
pub fn token_nll<B: Backend, const D: usize, const DT: usize>(
    logits: Tensor<B, D>,
    targets: Tensor<B, DT, Int>,
) -> Tensor<B, DT> {
    let log_probs = log_softmax(logits, D - 1);
    log_probs
        .gather(D - 1, targets.unsqueeze_dim::<D>(DT))
        .neg()
        .squeeze_dim::<DT>(D - 1)
}
