//! The three learned parts of the agent and the factory that sizes them from a
//! run configuration.

use anyhow::Result;
use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use rand::Rng;
use rem_envs::Frame;
use rem_worldmodel::retnet::RetNetConfig;
use rem_worldmodel::tokenizer::frames_to_tensor;
use rem_worldmodel::tokenizer::{Tokenizer, TokenizerConfig};
use rem_worldmodel::world_model::{WorldModel, WorldModelConfig};

use crate::actor_critic::{
    sample_actions_in_rows, ActorCritic, ActorCriticConfig, ActorCriticState, SampledActions,
};
use crate::config::RunConfig;

/// Tokenizer, world model and actor-critic of one agent.
#[derive(Module, Debug)]
pub struct AgentModels<B: Backend> {
    pub tokenizer: Tokenizer<B>,
    pub world_model: WorldModel<B>,
    pub actor_critic: ActorCritic<B>,
}

/// The model shapes a run configuration asks for.
#[derive(Debug, Clone)]
pub struct ModelShapes {
    pub tokenizer: TokenizerConfig,
    pub world_model: WorldModelConfig,
    pub actor_critic: ActorCriticConfig,
}

impl ModelShapes {
    /// The spec's sizes (tokenizer 3.2M, world model 4.6M, actor-critic 4.6M parameters).
    pub fn spec(n_actions: usize) -> Self {
        Self {
            tokenizer: TokenizerConfig::default(),
            world_model: WorldModelConfig::spec(n_actions),
            actor_critic: ActorCriticConfig::new(n_actions),
        }
    }

    /// Small sizes with the same structure, for CPU checks: the tiny tokenizer, a
    /// 2-layer world model as wide as its codes, the tiny actor-critic.
    pub fn small(n_actions: usize) -> Self {
        let tokenizer = TokenizerConfig::tiny();
        let d = tokenizer.embed_dim;
        Self {
            world_model: WorldModelConfig {
                retnet: RetNetConfig {
                    n_layers: 2,
                    d_model: d,
                    n_heads: 2,
                    ffn: 4 * d,
                    dropout: 0.0,
                },
                tokens_per_frame: tokenizer.tokens_per_frame(),
                vocab: tokenizer.vocab,
                n_actions,
                chunk_blocks: 3,
                prediction_sees_frame_before: false,
            },
            actor_critic: ActorCriticConfig::tiny(n_actions)
                .with_embed_dim(d)
                .with_tokens_per_side(tokenizer.tokens_per_side()),
            tokenizer,
        }
    }

    pub fn from_config(config: &RunConfig, n_actions: usize) -> Result<Self> {
        let t = &config.tokenizer;
        let tokenizer = TokenizerConfig {
            vocab: t.vocab,
            embed_dim: t.embed_dim,
            channels: (0..4).map(|level| t.base_channels << level).collect(),
            perceptual: t.perceptual,
            lpips_weights: t.lpips_weights.clone(),
            ..TokenizerConfig::default()
        };
        tokenizer.validate()?;
        let w = &config.world_model;
        let retnet = RetNetConfig {
            n_layers: w.layers,
            // Observation tokens enter the world model as codebook vectors.
            d_model: t.embed_dim,
            n_heads: w.heads,
            ffn: w.ffn,
            dropout: w.dropout,
        };
        retnet.validate()?;
        let world_model = WorldModelConfig {
            retnet,
            tokens_per_frame: tokenizer.tokens_per_frame(),
            vocab: t.vocab,
            n_actions,
            chunk_blocks: w.chunk_blocks,
            prediction_sees_frame_before: w.prediction_sees_frame_before,
        };
        let a = &config.actor_critic;
        let actor_critic = ActorCriticConfig::new(n_actions)
            .with_embed_dim(t.embed_dim)
            .with_tokens_per_side(tokenizer.tokens_per_side())
            .with_conv1(a.conv1)
            .with_conv2(a.conv2)
            .with_hidden(a.hidden)
            .with_lstm(a.lstm)
            .with_standardize_input(a.standardize_input);
        actor_critic.validate()?;
        Ok(Self {
            tokenizer,
            world_model,
            actor_critic,
        })
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> Result<AgentModels<B>> {
        Ok(AgentModels {
            tokenizer: self.tokenizer.init(device),
            world_model: self.world_model.init(device),
            actor_critic: self.actor_critic.init(device)?,
        })
    }
}

impl<B: Backend> AgentModels<B> {
    /// One acting step in real environments: read each frame through the codebook,
    /// sample actions at `temperature` with `epsilon`-random ones, and feed the
    /// actions actually taken to the controller's LSTM, random or not.
    pub fn act(
        &self,
        frames: &[Frame],
        state: ActorCriticState<B>,
        temperature: f32,
        epsilon: f32,
        rng: &mut impl Rng,
    ) -> Result<(SampledActions, ActorCriticState<B>)> {
        let all = vec![true; frames.len()];
        self.act_in_rows(frames, &all, state, temperature, epsilon, rng)
    }

    /// [`Self::act`] for the rows of a batch where `rows` is true: `frames` and `state`
    /// hold those rows alone, and they draw from `rng` what they would in the whole
    /// batch ([`sample_actions_in_rows`]).
    pub fn act_in_rows(
        &self,
        frames: &[Frame],
        rows: &[bool],
        state: ActorCriticState<B>,
        temperature: f32,
        epsilon: f32,
        rng: &mut impl Rng,
    ) -> Result<(SampledActions, ActorCriticState<B>)> {
        let device = self.tokenizer.codebook().device();
        let bytes: Vec<u8> = frames
            .iter()
            .flat_map(|f| f.as_bytes().iter().copied())
            .collect();
        let seen = self.actor_critic.observe(self.latents(&bytes)?, state);
        let sampled = sample_actions_in_rows(seen.logits, rows, temperature, epsilon, rng)?;
        let state = self
            .actor_critic
            .feed_action(sampled.taken_tensor::<B>(&device), seen.state);
        Ok((sampled, state))
    }

    /// What the controller reads of frames: each one's tokens as codebook vectors.
    /// Shapes: `frames` N frames of `[64, 64, 3]` bytes -> `[N, embed_dim, side, side]`.
    pub fn latents(&self, frames: &[u8]) -> Result<Tensor<B, 4>> {
        let device = self.tokenizer.codebook().device();
        let (tokens, _) = self
            .tokenizer
            .encode(frames_to_tensor::<B>(frames, &device)?);
        Ok(self.tokenizer.embed_tokens_grid(tokens))
    }
}
