//! The controller: an actor-critic that reads token latents (algorithm.md, section 4).
//!
//! Input is the current frame's tokens looked up in the tokenizer codebook and laid
//! out as an `[embed_dim, side, side]` map, so no frame is ever decoded. A small conv
//! trunk and a linear layer feed one LSTM cell; the actor and critic heads read its
//! hidden state. After each observation step the action actually taken is fed through
//! the same cell as an extra step, while acting, during burn-in and in imagination
//! alike (algorithm.md, section 7: the reference forgets the actions during burn-in and
//! feeds the policy's action instead of the epsilon-random one).
//!
//! The recurrent state is explicit ([`ActorCriticState`]): every step takes a state
//! and returns the next one, so callers decide when to reset, detach or batch it.
//!
//! Errors: wrong hyperparameters (config sizes, temperature, epsilon) are reported
//! as `anyhow` errors; tensors of the wrong shape are programming errors and panic
//! with a one-line message naming the expected shape.

mod loss;
mod lstm_cell;
mod sampling;

pub use loss::{ActorCriticLoss, ENTROPY_WEIGHT};
pub use lstm_cell::LstmCell;
pub use sampling::{
    check_sampling, sample_action_from_logits, sample_actions, sample_actions_in_rows,
    SampledActions,
};

use anyhow::ensure;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use rem_worldmodel::activation::silu;
use rem_worldmodel::conv::conv3x3;

/// Sizes of the controller. `ActorCriticConfig::new(n_actions)` gives the spec sizes.
#[derive(Config, Debug)]
pub struct ActorCriticConfig {
    /// Number of discrete actions (the game's minimal action set).
    pub n_actions: usize,
    /// Codebook vector width: input channels of the latent map.
    #[config(default = 256)]
    pub embed_dim: usize,
    /// The frame's tokens form a `tokens_per_side x tokens_per_side` grid.
    #[config(default = 8)]
    pub tokens_per_side: usize,
    /// Channels of the first 3x3 convolution.
    #[config(default = 128)]
    pub conv1: usize,
    /// Channels of the second 3x3 convolution.
    #[config(default = 64)]
    pub conv2: usize,
    /// Width of the linear layer between the conv trunk and the LSTM.
    #[config(default = 512)]
    pub hidden: usize,
    /// LSTM state width; action embeddings have this width too.
    #[config(default = 512)]
    pub lstm: usize,
    /// Standardise each frame's latent map before the conv trunk (see
    /// [`standardize_map`]). Off in the spec.
    #[config(default = false)]
    pub standardize_input: bool,
}

impl ActorCriticConfig {
    /// Small sizes for tests and quick CPU runs.
    pub fn tiny(n_actions: usize) -> Self {
        Self {
            n_actions,
            embed_dim: 8,
            tokens_per_side: 4,
            conv1: 8,
            conv2: 4,
            hidden: 16,
            lstm: 16,
            standardize_input: false,
        }
    }

    /// Rejects sizes that cannot build a model.
    pub fn validate(&self) -> anyhow::Result<()> {
        let sizes = [
            ("n_actions", self.n_actions),
            ("embed_dim", self.embed_dim),
            ("tokens_per_side", self.tokens_per_side),
            ("conv1", self.conv1),
            ("conv2", self.conv2),
            ("hidden", self.hidden),
            ("lstm", self.lstm),
        ];
        for (name, size) in sizes {
            ensure!(
                size > 0,
                "actor-critic config: {name} must be positive, got 0"
            );
        }
        Ok(())
    }

    /// Builds the model with freshly initialised weights on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> anyhow::Result<ActorCritic<B>> {
        self.validate()?;
        // Padding 1 keeps the token grid size, as in the reference.
        let conv3x3 = |input: usize, output: usize| {
            Conv2dConfig::new([input, output], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        let flat = self.conv2 * self.tokens_per_side * self.tokens_per_side;
        Ok(ActorCritic {
            conv1: conv3x3(self.embed_dim, self.conv1),
            conv2: conv3x3(self.conv1, self.conv2),
            project: LinearConfig::new(flat, self.hidden).init(device),
            lstm: LstmCell::new(self.hidden, self.lstm, device),
            action_embedding: EmbeddingConfig::new(self.n_actions, self.lstm).init(device),
            actor: LinearConfig::new(self.lstm, self.n_actions).init(device),
            critic: LinearConfig::new(self.lstm, 1).init(device),
            embed_dim: self.embed_dim,
            tokens_per_side: self.tokens_per_side,
            n_actions: self.n_actions,
            standardize_input: self.standardize_input,
        })
    }
}

/// Recurrent state of the controller's LSTM cell: hidden `h` and cell `c`, [B, lstm].
#[derive(Debug, Clone)]
pub struct ActorCriticState<B: Backend> {
    /// Hidden state, read by the actor and critic heads.
    pub h: Tensor<B, 2>,
    /// Cell state.
    pub c: Tensor<B, 2>,
}

impl<B: Backend> ActorCriticState<B> {
    /// All-zero state, the start of every episode.
    pub fn zeros(batch: usize, width: usize, device: &B::Device) -> Self {
        Self {
            h: Tensor::zeros([batch, width], device),
            c: Tensor::zeros([batch, width], device),
        }
    }

    /// Number of parallel states.
    pub fn batch_size(&self) -> usize {
        self.h.dims()[0]
    }

    /// The same values cut from the autodiff graph.
    pub fn detach(self) -> Self {
        Self {
            h: self.h.detach(),
            c: self.c.detach(),
        }
    }

    /// The rows `rows` of the state, in that order: `[B, lstm]` -> `[rows.len(), lstm]`.
    pub fn keep_rows(self, rows: &[usize]) -> Self {
        let device = self.h.device();
        let ids: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
        let ids = Tensor::<B, 1, Int>::from_data(TensorData::new(ids, [rows.len()]), &device);
        Self {
            h: self.h.select(0, ids.clone()),
            c: self.c.select(0, ids),
        }
    }

    /// Rows where `take_new` `[B]` is true come from `new`, the others from `self`.
    pub fn select_rows(self, take_new: Tensor<B, 1, Bool>, new: Self) -> Self {
        let [batch, width] = self.h.dims();
        let mask = take_new.unsqueeze_dim::<2>(1).expand([batch, width]);
        Self {
            h: self.h.mask_where(mask.clone(), new.h),
            c: self.c.mask_where(mask, new.c),
        }
    }

    /// Zeroes the rows where `reset` `[B]` is true (episodes that just ended).
    pub fn reset_rows(self, reset: Tensor<B, 1, Bool>) -> Self {
        let [batch, width] = self.h.dims();
        let zeros = Self::zeros(batch, width, &self.h.device());
        self.select_rows(reset, zeros)
    }
}

impl<B: AutodiffBackend> ActorCriticState<B> {
    /// Lifts a state computed on the inner backend (e.g. by a gradient-free
    /// burn-in on `model.valid()`) into the autodiff backend as a graph leaf.
    pub fn from_inner(state: ActorCriticState<B::InnerBackend>) -> Self {
        Self {
            h: Tensor::from_inner(state.h),
            c: Tensor::from_inner(state.c),
        }
    }
}

/// One observation step's outputs.
#[derive(Debug, Clone)]
pub struct Observation<B: Backend> {
    /// Unnormalised action scores, [B, n_actions].
    pub logits: Tensor<B, 2>,
    /// Critic estimate, `[B]`.
    pub value: Tensor<B, 1>,
    /// State after the observation, before the action is fed.
    pub state: ActorCriticState<B>,
}

/// The actor-critic module. Build it with [`ActorCriticConfig::init`].
#[derive(Module, Debug)]
pub struct ActorCritic<B: Backend> {
    conv1: Conv2d<B>,
    conv2: Conv2d<B>,
    project: Linear<B>,
    lstm: LstmCell<B>,
    action_embedding: Embedding<B>,
    actor: Linear<B>,
    critic: Linear<B>,
    embed_dim: usize,
    tokens_per_side: usize,
    n_actions: usize,
    standardize_input: bool,
}

impl<B: Backend> ActorCritic<B> {
    /// Number of discrete actions.
    pub fn n_actions(&self) -> usize {
        self.n_actions
    }

    /// Width of the recurrent state.
    pub fn state_width(&self) -> usize {
        self.lstm.hidden_size()
    }

    /// Zero state for `batch` parallel episodes.
    pub fn initial_state(&self, batch: usize, device: &B::Device) -> ActorCriticState<B> {
        ActorCriticState::zeros(batch, self.state_width(), device)
    }

    /// Observation step: `latents` [B, embed_dim, side, side] -> logits, value, state.
    ///
    /// # Panics
    /// If `latents` does not have the configured channel and grid sizes, or its
    /// batch differs from the state's.
    pub fn observe(&self, latents: Tensor<B, 4>, state: ActorCriticState<B>) -> Observation<B> {
        let [batch, ..] = self.check_latents(&latents.dims());
        check_batch("latents", batch, &state);
        let features = self.encode(latents);
        let state = self.lstm_step(features, state);
        let logits = self.actor.forward(state.h.clone());
        let value = self.critic.forward(state.h.clone()).reshape([batch]);
        Observation {
            logits,
            value,
            state,
        }
    }

    /// Action step: feeds the embedding of the action taken, `actions` `[B]`, through
    /// the LSTM cell.
    ///
    /// # Panics
    /// If the batch differs from the state's. Action ids must be below `n_actions`.
    pub fn feed_action(
        &self,
        actions: Tensor<B, 1, Int>,
        state: ActorCriticState<B>,
    ) -> ActorCriticState<B> {
        check_batch("actions", actions.dims()[0], &state);
        let embedded = self.action_embedding.weight.val().select(0, actions);
        self.lstm_step(embedded, state)
    }

    /// Runs a real segment through the LSTM exactly as acting does: for each step t,
    /// observe `latents[:, t]` then feed `actions[:, t]`. With `actions` `None` it
    /// only observes, as REM's burn-in does (docs/deviations.md). Steps where
    /// `mask[:, t]` is false (padding; segments are left-padded) leave the state
    /// unchanged, so a left-padded row starts from the zero state at its first real
    /// frame.
    ///
    /// Shapes: `latents` [B, T, embed_dim, side, side], `actions` [B, T], `mask` [B, T].
    /// For a 21-frame training segment pass the first 20 frames with their actions;
    /// the returned state then observes frame 21 as the first imagined step.
    ///
    /// Burn-in carries no gradient (algorithm.md, section 4). On an autodiff backend call
    /// it on `model.valid()` with inner-backend tensors and lift the result with
    /// [`ActorCriticState::from_inner`], or at least [`ActorCriticState::detach`] it.
    ///
    /// # Panics
    /// If the shapes disagree with each other or with the model.
    pub fn burn_in(
        &self,
        latents: Tensor<B, 5>,
        actions: Option<Tensor<B, 2, Int>>,
        mask: Tensor<B, 2, Bool>,
    ) -> ActorCriticState<B> {
        let [batch, steps, channels, rows, cols] = latents.dims();
        self.check_latents(&[batch, channels, rows, cols]);
        if let Some(actions) = &actions {
            assert_eq!(
                actions.dims(),
                [batch, steps],
                "burn-in actions must be [batch, steps] = [{batch}, {steps}]"
            );
        }
        assert_eq!(
            mask.dims(),
            [batch, steps],
            "burn-in mask must be [batch, steps] = [{batch}, {steps}]"
        );
        let device = latents.device();
        let mut state = self.initial_state(batch, &device);
        if steps == 0 {
            return state;
        }
        // The conv trunk has no recurrence: encode all frames in one batched call.
        let features = self.encode(latents.reshape([batch * steps, channels, rows, cols]));
        let width = features.dims()[1];
        let features = features.reshape([batch, steps, width]);
        for step in 0..steps {
            let frame = features.clone().narrow(1, step, 1).reshape([batch, width]);
            let real = mask.clone().narrow(1, step, 1).reshape([batch]);
            let observed = self.lstm_step(frame, state.clone());
            let stepped = match &actions {
                Some(actions) => {
                    let action = actions.clone().narrow(1, step, 1).reshape([batch]);
                    self.feed_action(action, observed)
                }
                None => observed,
            };
            state = state.select_rows(real, stepped);
        }
        state
    }

    /// Conv trunk and projection: [N, E, S, S] -> [N, hidden].
    fn encode(&self, latents: Tensor<B, 4>) -> Tensor<B, 2> {
        let latents = if self.standardize_input {
            standardize_map(latents)
        } else {
            latents
        };
        let x = silu(conv3x3(&self.conv1, latents));
        let x = silu(conv3x3(&self.conv2, x));
        let [n, channels, rows, cols] = x.dims();
        silu(self.project.forward(x.reshape([n, channels * rows * cols])))
    }

    fn lstm_step(&self, input: Tensor<B, 2>, state: ActorCriticState<B>) -> ActorCriticState<B> {
        let (h, c) = self.lstm.step(input, state.h, state.c);
        ActorCriticState { h, c }
    }

    /// Checks `[B, E, S, S]` against the config and returns it.
    fn check_latents(&self, dims: &[usize; 4]) -> [usize; 4] {
        let [_, channels, rows, cols] = *dims;
        let (e, s) = (self.embed_dim, self.tokens_per_side);
        assert!(
            channels == e && rows == s && cols == s,
            "actor-critic latents must be [batch, {e}, {s}, {s}], got {dims:?}"
        );
        *dims
    }
}

fn check_batch<B: Backend>(what: &str, batch: usize, state: &ActorCriticState<B>) {
    let expected = state.batch_size();
    assert_eq!(
        batch, expected,
        "actor-critic {what} batch {batch} differs from the state batch {expected}"
    );
}

/// Standardises each frame's latent map `[B, E, S, S]` on its own: every channel minus
/// its mean over the frame's cells, then the whole map divided by its standard
/// deviation. Codebook vectors are small (their scale follows the tokenizer's training)
/// and most cells of a frame share one background code, so the raw map shows the
/// objects as small differences on a large common offset; a fresh controller then sits
/// at chance for hundreds of steps before it finds them (`examples/controller_probe.rs`).
/// No parameters, and each frame is treated alone, so acting does not depend on the
/// batch. A frame whose cells all hold one code maps to zeros.
pub fn standardize_map<B: Backend>(latents: Tensor<B, 4>) -> Tensor<B, 4> {
    let [batch, channels, rows, cols] = latents.dims();
    let cells = latents.reshape([batch, channels, rows * cols]);
    let centred = cells.clone() - cells.mean_dim(2);
    let std = centred
        .clone()
        .reshape([batch, channels * rows * cols])
        .powi_scalar(2)
        .mean_dim(1)
        .add_scalar(1e-6)
        .sqrt()
        .reshape([batch, 1, 1]);
    (centred / std).reshape([batch, channels, rows, cols])
}

/// Lays out a frame's codebook vectors `codes` [B, K, E] (tokens row-major over a
/// `side x side` grid, K = side^2) as the controller's input map [B, E, side, side].
///
/// # Panics
/// If K is not `tokens_per_side^2`.
pub fn latent_map<B: Backend>(codes: Tensor<B, 3>, tokens_per_side: usize) -> Tensor<B, 4> {
    let [batch, tokens, width] = codes.dims();
    assert_eq!(
        tokens,
        tokens_per_side * tokens_per_side,
        "latent_map: {tokens} tokens do not form a {tokens_per_side}x{tokens_per_side} grid"
    );
    codes
        .swap_dims(1, 2)
        .reshape([batch, width, tokens_per_side, tokens_per_side])
}
