//! The RetNet stack of the world model (algorithm.md, section 3): pre-LayerNorm residual
//! blocks of multi-scale retention and a SiLU feed-forward, no final norm.
//!
//! Each form of [`MultiScaleRetention`] has its counterpart through the stack, with
//! one [`RetentionState`] per layer gathered in a [`RetNetState`]. A chunkwise pass
//! may return some tokens' outputs only ([`Outputs`]): its last layer, whose output
//! feeds nothing else, then runs its gate, projection and feed-forward on those alone.

use crate::activation::silu;
use crate::dropout::Dropout;
use crate::error::ConfigError;
use crate::layer_norm::layer_norm;
use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::nn::{LayerNorm, LayerNormConfig, Linear};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::retention::{
    xavier_linear, MultiScaleRetention, MultiScaleRetentionConfig, Outputs, RetentionState,
};

/// Epsilon of the pre-norms.
pub const LAYER_NORM_EPSILON: f64 = 1e-6;

/// Shape of the RetNet stack; the default is the spec's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetNetConfig {
    pub n_layers: usize,
    pub d_model: usize,
    pub n_heads: usize,
    /// Hidden width of the feed-forward.
    pub ffn: usize,
    /// Dropout probability in the four places of algorithm.md, section 3: on the retention output
    /// before the head-wise group norm, after the retention block, inside and after the
    /// feed-forward.
    pub dropout: f64,
}

impl Default for RetNetConfig {
    fn default() -> Self {
        Self {
            n_layers: 5,
            d_model: 256,
            n_heads: 4,
            ffn: 1024,
            dropout: 0.1,
        }
    }
}

impl RetNetConfig {
    pub fn retention(&self) -> MultiScaleRetentionConfig {
        MultiScaleRetentionConfig::new(self.d_model, self.n_heads).with_dropout(self.dropout)
    }

    /// Rejects shapes the stack cannot be built with.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |reason: String| Err(ConfigError::new("RetNet", reason));
        if self.n_layers == 0 || self.ffn == 0 {
            return bad(format!(
                "n_layers and ffn must be positive, got n_layers {} and ffn {}",
                self.n_layers, self.ffn
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("dropout {} is outside [0, 1)", self.dropout));
        }
        self.retention().validate()
    }

    /// Builds the stack as the reference does (algorithm.md, section 3): one layer initialised
    /// (Xavier-normal weights, zero biases), and every layer a copy of it with its own
    /// parameters. Panics with the message of [`Self::validate`] on a bad shape.
    pub fn init<B: Backend>(&self, device: &B::Device) -> RetNet<B> {
        if let Err(err) = self.validate() {
            panic!("{err}");
        }
        let first = RetNetLayer {
            retention_norm: self.layer_norm(device),
            retention: self.retention().init(device),
            ffn_norm: self.layer_norm(device),
            ffn_in: xavier_linear(self.d_model, self.ffn, device),
            ffn_out: xavier_linear(self.ffn, self.d_model, device),
            dropout: Dropout::new(self.dropout),
        }
        // burn initialises parameters lazily, and a clone of a lazy parameter draws
        // its own values: materialise them once before copying.
        .map(&mut FreshParamIds);
        let layers = (0..self.n_layers)
            .map(|_| first.clone().map(&mut FreshParamIds))
            .collect();
        RetNet { layers }
    }

    fn layer_norm<B: Backend>(&self, device: &B::Device) -> LayerNorm<B> {
        LayerNormConfig::new(self.d_model)
            .with_epsilon(LAYER_NORM_EPSILON)
            .init(device)
    }
}

/// Gives every float parameter a new id and a tensor of its own, so that copies of a
/// module train as separate parameters: the optimiser keys its state and gradients by
/// id, and autodiff sums the gradients of all uses of one tensor into one.
struct FreshParamIds;

impl<B: Backend> ModuleMapper<B> for FreshParamIds {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (_, tensor, mapper) = param.consume();
        let tracked = tensor.is_require_grad();
        // A detached tensor is a new autodiff leaf over the same values.
        let own = tensor.detach();
        let own = if tracked { own.require_grad() } else { own };
        Param::from_mapped_value(ParamId::new(), own, mapper)
    }
}

/// One residual block: x + retention(LN(x)), then h + FFN(LN(h)).
#[derive(Module, Debug)]
pub struct RetNetLayer<B: Backend> {
    pub retention_norm: LayerNorm<B>,
    pub retention: MultiScaleRetention<B>,
    pub ffn_norm: LayerNorm<B>,
    pub ffn_in: Linear<B>,
    pub ffn_out: Linear<B>,
    pub dropout: Dropout,
}

impl<B: Backend> RetNetLayer<B> {
    /// Runs the block with `retain` standing for whichever form of retention the
    /// caller uses; `retain` also returns whatever that form produces besides its
    /// output (a state, checkpoints, or nothing).
    fn apply<const D: usize, R>(
        &self,
        x: Tensor<B, D>,
        retain: impl FnOnce(Tensor<B, D>) -> (Tensor<B, D>, R),
    ) -> (Tensor<B, D>, R) {
        let (retained, extra) = retain(self.retention_input(x.clone()));
        (self.feed_forward(x + self.dropout.forward(retained)), extra)
    }

    /// [`Self::apply`] with outputs at the tokens of `outputs` only: `retain` returns
    /// the retention's output at those tokens, and the residual and the feed-forward
    /// run on them alone.
    fn apply_at<R>(
        &self,
        x: Tensor<B, 3>,
        outputs: Outputs,
        retain: impl FnOnce(Tensor<B, 3>) -> (Tensor<B, 3>, R),
    ) -> (Tensor<B, 3>, R) {
        let (retained, extra) = retain(self.retention_input(x.clone()));
        let h = outputs.pick(x) + self.dropout.forward(retained);
        (self.feed_forward(h), extra)
    }

    fn retention_input<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        layer_norm(&self.retention_norm, x, LAYER_NORM_EPSILON)
    }

    /// h + FFN(LN(h)), with the block's dropout inside and after the feed-forward.
    fn feed_forward<const D: usize>(&self, h: Tensor<B, D>) -> Tensor<B, D> {
        let normed = layer_norm(&self.ffn_norm, h.clone(), LAYER_NORM_EPSILON);
        let hidden = self.dropout.forward(silu(self.ffn_in.forward(normed)));
        h + self.dropout.forward(self.ffn_out.forward(hidden))
    }
}

/// The recurrent state of the whole stack: one [`RetentionState`] per layer.
#[derive(Debug, Clone)]
pub struct RetNetState<B: Backend> {
    pub layers: Vec<RetentionState<B>>,
}

impl<B: Backend> RetNetState<B> {
    pub fn batch_size(&self) -> usize {
        self.layers.first().map_or(0, RetentionState::batch_size)
    }

    /// Absolute position of the next token, per batch row.
    pub fn next_positions(&self) -> &[usize] {
        self.layers
            .first()
            .map_or(&[], |layer| layer.next_positions.as_slice())
    }

    /// The same memories with every row's next token placed at `position`.
    pub fn starting_at(self, position: usize) -> Self {
        Self {
            layers: self
                .layers
                .into_iter()
                .map(|layer| layer.starting_at(position))
                .collect(),
        }
    }

    /// Stacks states along the batch dimension, layer by layer.
    pub fn cat(states: Vec<Self>) -> Self {
        assert!(
            !states.is_empty(),
            "cannot stack an empty list of RetNet states"
        );
        let n_layers = states[0].layers.len();
        assert!(
            states.iter().all(|s| s.layers.len() == n_layers),
            "cannot stack RetNet states with different numbers of layers"
        );
        let mut per_layer: Vec<Vec<RetentionState<B>>> = (0..n_layers)
            .map(|_| Vec::with_capacity(states.len()))
            .collect();
        for state in states {
            for (layer, s) in per_layer.iter_mut().zip(state.layers) {
                layer.push(s);
            }
        }
        Self {
            layers: per_layer.into_iter().map(RetentionState::cat).collect(),
        }
    }

    /// Cuts every memory from the autodiff graph.
    pub fn detach(self) -> Self {
        Self {
            layers: self
                .layers
                .into_iter()
                .map(RetentionState::detach)
                .collect(),
        }
    }
}

/// The RetNet stack.
#[derive(Module, Debug)]
pub struct RetNet<B: Backend> {
    pub layers: Vec<RetNetLayer<B>>,
}

impl<B: Backend> RetNet<B> {
    pub fn d_model(&self) -> usize {
        self.layers[0].retention.d_model()
    }

    /// The empty state for `batch` rows whose next token sits at position 0.
    pub fn zero_state(&self, batch: usize, device: &B::Device) -> RetNetState<B> {
        RetNetState {
            layers: self
                .layers
                .iter()
                .map(|layer| layer.retention.zero_state(batch, device))
                .collect(),
        }
    }

    /// Parallel form: `x` (`[batch, time, d_model]`) after `state`; returns the
    /// output and the state after `x`.
    pub fn forward_parallel(
        &self,
        x: Tensor<B, 3>,
        state: &RetNetState<B>,
    ) -> (Tensor<B, 3>, RetNetState<B>) {
        self.check_state(state);
        let mut x = x;
        let mut next = Vec::with_capacity(self.layers.len());
        for (layer, s) in self.layers.iter().zip(&state.layers) {
            let (y, s) = layer.apply(x, |n| layer.retention.forward_parallel(n, s));
            x = y;
            next.push(s);
        }
        (x, RetNetState { layers: next })
    }

    /// Read-only form: `x` after `state`, causal among themselves, no new state.
    pub fn forward_readonly(&self, x: Tensor<B, 3>, state: &RetNetState<B>) -> Tensor<B, 3> {
        self.check_state(state);
        self.layers
            .iter()
            .zip(&state.layers)
            .fold(x, |x, (layer, s)| {
                layer
                    .apply(x, |n| (layer.retention.forward_readonly(n, s), ()))
                    .0
            })
    }

    /// Recurrent form: one token per row (`x`: `[batch, d_model]`) after `state`.
    pub fn forward_recurrent(
        &self,
        x: Tensor<B, 2>,
        state: &RetNetState<B>,
    ) -> (Tensor<B, 2>, RetNetState<B>) {
        self.check_state(state);
        let mut x = x;
        let mut next = Vec::with_capacity(self.layers.len());
        for (layer, s) in self.layers.iter().zip(&state.layers) {
            let (y, s) = layer.apply(x, |n| layer.retention.forward_recurrent(n, s));
            x = y;
            next.push(s);
        }
        (x, RetNetState { layers: next })
    }

    /// Chunkwise form: `x` after `state` in chunks of `chunk_len` tokens.
    pub fn forward_chunkwise(
        &self,
        x: Tensor<B, 3>,
        state: &RetNetState<B>,
        chunk_len: usize,
    ) -> (Tensor<B, 3>, RetNetState<B>) {
        let (y, state, _) = self.forward_chunkwise_at(x, state, chunk_len, None, Outputs::All);
        (y, state)
    }

    /// Chunkwise form that also returns the stack's state after every
    /// `checkpoint_every` tokens: entry i is the state after (i+1)*checkpoint_every
    /// tokens of `x`.
    pub fn forward_chunkwise_with_checkpoints(
        &self,
        x: Tensor<B, 3>,
        state: &RetNetState<B>,
        chunk_len: usize,
        checkpoint_every: usize,
    ) -> (Tensor<B, 3>, RetNetState<B>, Vec<RetNetState<B>>) {
        self.forward_chunkwise_at(x, state, chunk_len, Some(checkpoint_every), Outputs::All)
    }

    /// The chunkwise form returning the outputs of the tokens of `outputs` only, and
    /// the states after every `checkpoint_every` tokens when given. The last layer's
    /// output feeds no later layer, so its gate, output projection and feed-forward
    /// run at those tokens alone (a world model's action slots: 1 token of 65); every
    /// layer's state still takes in every token.
    pub fn forward_chunkwise_at(
        &self,
        x: Tensor<B, 3>,
        state: &RetNetState<B>,
        chunk_len: usize,
        checkpoint_every: Option<usize>,
        outputs: Outputs,
    ) -> (Tensor<B, 3>, RetNetState<B>, Vec<RetNetState<B>>) {
        self.check_state(state);
        let last = self.layers.len() - 1;
        let mut x = x;
        let mut next = Vec::with_capacity(self.layers.len());
        let mut checkpoints: Vec<RetNetState<B>> = Vec::new();
        for (i, (layer, s)) in self.layers.iter().zip(&state.layers).enumerate() {
            let kept = if i == last { outputs } else { Outputs::All };
            let (y, (s, layer_checkpoints)) = layer.apply_at(x, kept, |n| {
                let (y, s, c) =
                    layer
                        .retention
                        .forward_chunkwise_at(n, s, chunk_len, checkpoint_every, kept);
                (y, (s, c))
            });
            x = y;
            next.push(s);
            if checkpoints.is_empty() {
                checkpoints = layer_checkpoints
                    .into_iter()
                    .map(|c| RetNetState { layers: vec![c] })
                    .collect();
            } else {
                for (stack, c) in checkpoints.iter_mut().zip(layer_checkpoints) {
                    stack.layers.push(c);
                }
            }
        }
        (x, RetNetState { layers: next }, checkpoints)
    }

    fn check_state(&self, state: &RetNetState<B>) {
        assert!(
            state.layers.len() == self.layers.len(),
            "RetNet state has {} layers but the stack has {}",
            state.layers.len(),
            self.layers.len()
        );
    }
}
