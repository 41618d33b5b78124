//! Imagination: a frozen world model used as a batched environment.
//!
//! [`PopImagination`] costs exactly two network calls per step whatever the number
//! of tokens per frame: the prediction tokens read the state and yield all `K`
//! next tokens at once, then the `K + 1` real tokens `[o_hat, a]` run as one chunk
//! and write the next state. [`TokenByToken`] is the IRIS-style generator kept as the
//! speed baseline and correctness oracle: `K + 1` sequential recurrent calls a step.
//!
//! Sampling stays on the model's backend: no host round trip per token.

use burn::tensor::activation::softmax;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

use crate::retention::Outputs;
use crate::retnet::RetNetState;
use crate::stream::draw_from_thread_stream;
use crate::world_model::WorldModel;

/// What the world model says about the step that an action just finished.
#[derive(Debug, Clone)]
pub struct Outcome<B: Backend> {
    /// `[B, 3]` reward-sign logits.
    pub reward_logits: Tensor<B, 2>,
    /// `[B, 2]` termination logits.
    pub done_logits: Tensor<B, 2>,
}

impl<B: Backend> Outcome<B> {
    /// A reward sign drawn from the predicted distribution, as -1.0 / 0.0 / +1.0:
    /// `[B]`. Drawn rather than the most likely, so that rare rewards still reach
    /// the actor-critic while the model is unsure of them.
    pub fn sample_reward(&self) -> Tensor<B, 1> {
        sample_logits(self.reward_logits.clone(), 1.0)
            .float()
            .sub_scalar(1.0)
    }

    /// 1.0 where the episode ended, drawn from the predicted distribution: `[B]`.
    pub fn sample_done(&self) -> Tensor<B, 1> {
        sample_logits(self.done_logits.clone(), 1.0).float()
    }

    /// The expected reward sign, P(+1) - P(-1): `[B]`. No sampling noise, so the
    /// actor-critic's returns vary only with what the policy and the frames do.
    pub fn expected_reward(&self) -> Tensor<B, 1> {
        let p = softmax(self.reward_logits.clone(), 1);
        let [batch, _] = p.dims();
        (p.clone().narrow(1, 2, 1) - p.narrow(1, 0, 1)).reshape([batch])
    }

    /// The probability that the episode ended: `[B]`.
    pub fn done_probability(&self) -> Tensor<B, 1> {
        let p = softmax(self.done_logits.clone(), 1);
        let [batch, _] = p.dims();
        p.narrow(1, 1, 1).reshape([batch])
    }
}

/// A batch of imagined worlds: sample a frame, then step it with the chosen actions.
/// Both generators share the contract so that rollouts and benchmarks can swap them.
pub trait Imagine<B: Backend> {
    /// The next frame's `K` tokens, `[B, K]`.
    fn predict_frame(&mut self) -> Tensor<B, 2, Int>;
    /// Takes `actions` (`[B]`) on the frame `tokens` (`[B, K]`) just predicted.
    fn step(&mut self, tokens: Tensor<B, 2, Int>, actions: Tensor<B, 1, Int>) -> Outcome<B>;
    /// One past the last sequence position any call so far ran the model at, over all
    /// rows: the length of sequence the world model has been asked to handle.
    fn furthest_position(&self) -> usize;
}

impl<B: Backend> Imagine<B> for PopImagination<'_, B> {
    fn predict_frame(&mut self) -> Tensor<B, 2, Int> {
        PopImagination::predict_frame(self)
    }

    fn step(&mut self, tokens: Tensor<B, 2, Int>, actions: Tensor<B, 1, Int>) -> Outcome<B> {
        PopImagination::step(self, tokens, actions)
    }

    fn furthest_position(&self) -> usize {
        PopImagination::furthest_position(self)
    }
}

impl<B: Backend> Imagine<B> for TokenByToken<'_, B> {
    fn predict_frame(&mut self) -> Tensor<B, 2, Int> {
        TokenByToken::predict_frame(self)
    }

    /// The frame's tokens were already fed one by one while predicting it.
    fn step(&mut self, _tokens: Tensor<B, 2, Int>, actions: Tensor<B, 1, Int>) -> Outcome<B> {
        TokenByToken::step(self, actions)
    }

    /// Every position it runs at is fed into the state.
    fn furthest_position(&self) -> usize {
        furthest_next_position(&self.state)
    }
}

/// The largest next position over the state's rows.
fn furthest_next_position<B: Backend>(state: &RetNetState<B>) -> usize {
    state.next_positions().iter().copied().max().unwrap_or(0)
}

/// Samples one class per row of `[N, C]` logits at `temperature` (0 = argmax), from
/// this thread's stream when one is open ([`crate::stream`]), else from the
/// backend's generator.
pub fn sample_logits<B: Backend>(logits: Tensor<B, 2>, temperature: f32) -> Tensor<B, 1, Int> {
    if temperature <= 0.0 {
        return logits.argmax(1).squeeze_dim(1);
    }
    let probs = softmax(logits.div_scalar(temperature), 1);
    let [rows, classes] = probs.dims();
    let device = probs.device();
    let drawn = draw_from_thread_stream(|stream| {
        let host: Vec<f32> = probs
            .clone()
            .into_data()
            .convert::<f32>()
            .into_vec()
            .expect("f32 data");
        host.chunks(classes)
            .map(|row| inverse_cdf(row, stream.unit()) as i64)
            .collect::<Vec<_>>()
    });
    match drawn {
        Some(drawn) => Tensor::from_data(TensorData::new(drawn, [rows]), &device),
        None => probs.categorical(1).squeeze_dim(1),
    }
}

/// The class whose cumulative probability first exceeds `unit` (in [0, 1)) times
/// the row's total; the last class with a non-zero probability when rounding leaves
/// the total short.
fn inverse_cdf(probs: &[f32], unit: f64) -> usize {
    let target = unit * probs.iter().map(|&p| f64::from(p)).sum::<f64>();
    let mut cumulative = 0.0;
    let mut last_possible = 0;
    for (class, &p) in probs.iter().enumerate() {
        if p > 0.0 {
            last_possible = class;
        }
        cumulative += f64::from(p);
        if cumulative > target {
            return class;
        }
    }
    last_possible
}

/// Runs whole context blocks through the model as one chunk: `tokens` `[B, C, K]`,
/// `actions` `[B, C]`. Returns the state after them, the outcome of the last action
/// and the output at the last action slot.
fn run_context<B: Backend>(
    model: &WorldModel<B>,
    codebook: &Tensor<B, 2>,
    tokens: Tensor<B, 3, Int>,
    actions: Tensor<B, 2, Int>,
) -> (RetNetState<B>, Outcome<B>, Tensor<B, 2>) {
    let batch = tokens.dims()[0];
    let x = model.embed_blocks(codebook, tokens.clone(), actions);
    let len = x.dims()[1];
    let (y, state, _) = model.retnet.forward_chunkwise_at(
        x,
        &model.zero_state(batch, &tokens.device()),
        len,
        None,
        Outputs::LastOfEvery(len),
    );
    let last = y.squeeze_dim::<2>(1);
    (state, outcome_of(model, last.clone()), last)
}

/// The outcome read from the output `[B, d]` at an action slot.
fn outcome_of<B: Backend>(model: &WorldModel<B>, slot_output: Tensor<B, 2>) -> Outcome<B> {
    let (reward_logits, done_logits) = model.outcome_heads(slot_output);
    Outcome {
        reward_logits,
        done_logits,
    }
}

/// POP imagination over a batch of worlds.
pub struct PopImagination<'m, B: Backend> {
    model: &'m WorldModel<B>,
    codebook: Tensor<B, 2>,
    state: RetNetState<B>,
    /// `[B, K]` tokens of the last frame fed into the state.
    frame: Tensor<B, 2, Int>,
    temperature: f32,
    /// Whether the prediction tokens have run ahead of the state since the last step.
    predicted_ahead: bool,
}

impl<'m, B: Backend> PopImagination<'m, B> {
    /// Builds the state from context blocks `[o_{T-2}, a_{T-2}], [o_{T-1}, a_{T-1}]`
    /// (`tokens` `[B, C, K]`, `actions` `[B, C]`, the last action chosen by the
    /// policy) and returns the outcome of the last action.
    pub fn start(
        model: &'m WorldModel<B>,
        codebook: Tensor<B, 2>,
        tokens: Tensor<B, 3, Int>,
        actions: Tensor<B, 2, Int>,
        temperature: f32,
    ) -> (Self, Outcome<B>) {
        let context = tokens.dims()[1];
        let frame = tokens.clone().narrow(1, context - 1, 1).squeeze_dim(1);
        let (state, outcome, _) = run_context(model, &codebook, tokens, actions);
        (
            Self {
                model,
                codebook,
                state,
                frame,
                temperature,
                predicted_ahead: false,
            },
            outcome,
        )
    }

    /// Network call 1: logits of all `K` tokens of the next frame, `[B, K, vocab]`.
    pub fn next_frame_logits(&self) -> Tensor<B, 3> {
        self.model
            .predict_frame(&self.codebook, &self.state, self.frame.clone())
    }

    /// One past the last position run so far: the state's next position, or the end
    /// of the frame just predicted, whose prediction tokens sit at the `K` positions
    /// after it (read-only).
    pub fn furthest_position(&self) -> usize {
        let next = furthest_next_position(&self.state);
        next + if self.predicted_ahead {
            self.model.tokens_per_frame()
        } else {
            0
        }
    }

    /// Samples the next frame's `K` tokens at once: `[B, K]`.
    pub fn predict_frame(&mut self) -> Tensor<B, 2, Int> {
        self.predicted_ahead = true;
        let logits = self.next_frame_logits();
        let [batch, k, vocab] = logits.dims();
        sample_logits(logits.reshape([batch * k, vocab]), self.temperature).reshape([batch, k])
    }

    /// Network call 2: the frame's tokens `[B, K]` and the chosen actions `[B]` as
    /// one chunk of `K + 1` tokens; returns the action's outcome.
    pub fn step(&mut self, tokens: Tensor<B, 2, Int>, actions: Tensor<B, 1, Int>) -> Outcome<B> {
        let x = self.model.embed_blocks(
            &self.codebook,
            tokens.clone().unsqueeze_dim(1),
            actions.unsqueeze_dim(1),
        );
        let len = x.dims()[1];
        let (y, state, _) = self.model.retnet.forward_chunkwise_at(
            x,
            &self.state,
            len,
            None,
            Outputs::LastOfEvery(len),
        );
        self.state = state;
        self.frame = tokens;
        self.predicted_ahead = false;
        outcome_of(self.model, y.squeeze_dim(1))
    }

    pub fn state(&self) -> &RetNetState<B> {
        &self.state
    }
}

/// IRIS-style generation with the same network: each token's output predicts the
/// next token, so a step costs `K` recurrent calls for the frame plus one for the
/// action.
pub struct TokenByToken<'m, B: Backend> {
    model: &'m WorldModel<B>,
    codebook: Tensor<B, 2>,
    state: RetNetState<B>,
    /// Output `[B, d]` at the last token fed, which predicts the next token.
    last_output: Tensor<B, 2>,
    temperature: f32,
}

impl<'m, B: Backend> TokenByToken<'m, B> {
    /// Same context contract as [`PopImagination::start`].
    pub fn start(
        model: &'m WorldModel<B>,
        codebook: Tensor<B, 2>,
        tokens: Tensor<B, 3, Int>,
        actions: Tensor<B, 2, Int>,
        temperature: f32,
    ) -> (Self, Outcome<B>) {
        let (state, outcome, last_output) = run_context(model, &codebook, tokens, actions);
        (
            Self {
                model,
                codebook,
                state,
                last_output,
                temperature,
            },
            outcome,
        )
    }

    /// `K` sequential calls, each sampling one token and feeding it back: `[B, K]`.
    pub fn predict_frame(&mut self) -> Tensor<B, 2, Int> {
        let k = self.model.tokens_per_frame();
        let mut tokens = Vec::with_capacity(k);
        for _ in 0..k {
            let logits = self.model.obs_head.forward(self.last_output.clone());
            let token = sample_logits(logits, self.temperature);
            let embedded = self.codebook.clone().select(0, token.clone());
            self.feed(embedded);
            tokens.push(token.unsqueeze_dim::<2>(1));
        }
        Tensor::cat(tokens, 1)
    }

    /// One more call: the action token `[B]`; returns its outcome.
    pub fn step(&mut self, actions: Tensor<B, 1, Int>) -> Outcome<B> {
        let embedded = self
            .model
            .action_embedding
            .forward(actions.unsqueeze_dim(1))
            .squeeze_dim(1);
        self.feed(embedded);
        outcome_of(self.model, self.last_output.clone())
    }

    /// Feeds one embedded token `[B, d]` through the recurrent form.
    pub fn feed(&mut self, embedded: Tensor<B, 2>) {
        let (y, state) = self.model.retnet.forward_recurrent(embedded, &self.state);
        self.state = state;
        self.last_output = y;
    }

    pub fn state(&self) -> &RetNetState<B> {
        &self.state
    }

    pub fn last_output(&self) -> &Tensor<B, 2> {
        &self.last_output
    }
}
