//! The discrete autoencoder (VQ tokenizer): a 64x64 RGB frame becomes an 8x8 grid of
//! codebook indices, row-major, and back.
//!
//! Pixel spaces: `encode` and `loss` take frames in [0, 1] (see [`frames_to_tensor`]) and
//! map them to [-1, 1] internally; `decode` and `decode_tokens` return frames in that
//! [-1, 1] space (use [`tensor_to_frames`] to get bytes).

mod blocks;
mod decoder;
mod encoder;
mod frames;
pub mod lpips;
mod perceptual;
mod quantizer;
mod train;

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::ConfigError;
use crate::optim::on_own_threads;
use burn::module::{Module, Param};
use burn::tensor::{backend::Backend, Int, Tensor};
use serde::{Deserialize, Serialize};

pub use decoder::Decoder;
pub use encoder::Encoder;
pub use frames::{frames_to_tensor, tensor_to_frames};
pub use lpips::{LpipsError, LpipsWeights};
pub use perceptual::{gradient_l1, image_gradients, PerceptualLoss};
pub use quantizer::{grid_rows, tokens_grid, Quantized, VectorQuantizer};
pub use train::{
    restart_unused_codes, TokenizerStepStats, TokenizerTrainer, TokenizerTrainerConfig,
};

use rem_envs::FRAME_SIDE;

/// Where `scripts/lpips_weights.py` writes the LPIPS weights, relative to the
/// directory a run starts in.
pub const DEFAULT_LPIPS_WEIGHTS: &str = "weights/lpips_vgg16.safetensors";

/// Sizes of the tokenizer. `Default` is the REM specification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenizerConfig {
    /// Number of codebook vectors.
    pub vocab: usize,
    /// Size of a codebook vector (and of the encoder's output channels).
    pub embed_dim: usize,
    /// Channels per resolution level; each step after the first halves the side, so
    /// four levels take 64x64 frames to an 8x8 token grid.
    pub channels: Vec<usize>,
    /// GroupNorm groups; must divide every entry of `channels`.
    pub groups: usize,
    /// Perceptual term added to the loss.
    pub perceptual: PerceptualLoss,
    /// The LPIPS weights' file (`scripts/lpips_weights.py`), read when `perceptual`
    /// is `Lpips`.
    pub lpips_weights: PathBuf,
}

impl Default for TokenizerConfig {
    fn default() -> Self {
        Self {
            vocab: 512,
            embed_dim: 256,
            channels: vec![32, 64, 128, 256],
            groups: 8,
            perceptual: PerceptualLoss::default(),
            lpips_weights: PathBuf::from(DEFAULT_LPIPS_WEIGHTS),
        }
    }
}

impl TokenizerConfig {
    /// A small tokenizer with the same structure (8x8 tokens) for tests and CPU runs.
    pub fn tiny() -> Self {
        Self {
            vocab: 64,
            embed_dim: 32,
            channels: vec![8, 16, 32, 64],
            ..Self::default()
        }
    }

    /// Side of the token grid.
    pub fn tokens_per_side(&self) -> usize {
        FRAME_SIDE >> self.channels.len().saturating_sub(1)
    }

    /// Tokens per frame (`tokens_per_side()^2`, 64 for the specification).
    pub fn tokens_per_frame(&self) -> usize {
        self.tokens_per_side() * self.tokens_per_side()
    }

    /// Rejects shapes the tokenizer cannot be built with.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |reason: String| Err(ConfigError::new("tokenizer", reason));
        if self.vocab == 0 || self.embed_dim == 0 {
            return bad(format!(
                "vocab ({}) and embed_dim ({}) must be positive",
                self.vocab, self.embed_dim
            ));
        }
        if self.channels.len() < 2 || self.channels.len() > 7 {
            return bad(format!(
                "channels must list 2 to 7 levels (64x64 down to at least 1x1), got {}",
                self.channels.len()
            ));
        }
        if self.groups == 0 {
            return bad("groups must be positive".into());
        }
        if let Some(&c) = self
            .channels
            .iter()
            .find(|&&c| c == 0 || c % self.groups != 0)
        {
            return bad(format!(
                "every channel count must be a positive multiple of groups ({}), got {c}",
                self.groups
            ));
        }
        Ok(())
    }

    /// Reads the LPIPS weights when the perceptual term is LPIPS (once per process):
    /// what training needs beyond the sizes, checked before it starts. Encoding and
    /// decoding never read them.
    pub fn check_training(&self) -> Result<(), ConfigError> {
        self.validate()?;
        lpips_weights(self.perceptual, &self.lpips_weights).map(drop)
    }

    /// Builds a freshly initialised tokenizer; panics with the reason on an invalid config
    /// (call [`validate`](Self::validate) first to handle it).
    pub fn init<B: Backend>(&self, device: &B::Device) -> Tokenizer<B> {
        if let Err(err) = self.validate() {
            panic!("{err}");
        }
        Tokenizer {
            encoder: Encoder::new(self, device),
            quantizer: VectorQuantizer::new(self.vocab, self.embed_dim, device),
            decoder: Decoder::new(self, device),
            tokens_per_side: self.tokens_per_side(),
            perceptual: self.perceptual,
            lpips_weights: self.lpips_weights.clone(),
        }
    }
}

/// Input the tokenizer cannot take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenizerError {
    #[error("frame bytes must be a non-empty multiple of {frame_bytes} (64x64x3 HWC), got {len}")]
    FrameBytes { len: usize, frame_bytes: usize },
}

/// The tokenizer loss and its parts (each a one-element tensor; all weights are 1).
#[derive(Debug, Clone)]
pub struct TokenizerLoss<B: Backend> {
    pub total: Tensor<B, 1>,
    /// MSE between input and reconstruction in the [-1, 1] pixel space.
    pub reconstruction: Tensor<B, 1>,
    /// mean((sg(z) - z_q)^2): moves the codebook towards the encoder outputs.
    pub codebook: Tensor<B, 1>,
    /// mean((z - sg(z_q))^2): keeps the encoder close to its chosen codes.
    pub commitment: Tensor<B, 1>,
    /// The configured perceptual term, if any.
    pub perceptual: Option<Tensor<B, 1>>,
}

impl<B: Backend> TokenizerLoss<B> {
    /// Every term times `weight`: the share of a larger batch's mean that a part of
    /// it contributes (`weight` = its frames / the batch's frames).
    pub fn weighted(self, weight: f64) -> Self {
        let scale = |t: Tensor<B, 1>| t.mul_scalar(weight);
        Self {
            total: scale(self.total),
            reconstruction: scale(self.reconstruction),
            codebook: scale(self.codebook),
            commitment: scale(self.commitment),
            perceptual: self.perceptual.map(scale),
        }
    }
}

#[derive(Module, Debug)]
pub struct Tokenizer<B: Backend> {
    encoder: Encoder<B>,
    quantizer: VectorQuantizer<B>,
    decoder: Decoder<B>,
    tokens_per_side: usize,
    #[module(skip)]
    perceptual: PerceptualLoss,
    /// Where the frozen LPIPS network's weights are, read by the loss when
    /// `perceptual` is `Lpips`.
    #[module(skip)]
    lpips_weights: PathBuf,
}

/// The LPIPS weights at `path` when `perceptual` is LPIPS (read once per process).
fn lpips_weights(
    perceptual: PerceptualLoss,
    path: &std::path::Path,
) -> Result<Option<Arc<LpipsWeights>>, ConfigError> {
    if perceptual != PerceptualLoss::Lpips {
        return Ok(None);
    }
    LpipsWeights::shared(path)
        .map(Some)
        .map_err(|err| ConfigError::new("tokenizer", err.to_string()))
}

impl<B: Backend> Tokenizer<B> {
    /// Maps frames from [0, 1] to the model's [-1, 1] pixel space.
    pub fn to_model_space(frames: Tensor<B, 4>) -> Tensor<B, 4> {
        frames.mul_scalar(2.0).sub_scalar(1.0)
    }

    pub fn tokens_per_side(&self) -> usize {
        self.tokens_per_side
    }

    pub fn vocab(&self) -> usize {
        self.quantizer.codebook().dims()[0]
    }

    pub fn embed_dim(&self) -> usize {
        self.quantizer.codebook().dims()[1]
    }

    pub fn perceptual(&self) -> PerceptualLoss {
        self.perceptual
    }

    /// The codebook, `[vocab, embed_dim]`.
    pub fn codebook(&self) -> Tensor<B, 2> {
        self.quantizer.codebook()
    }

    /// The codebook as the parameter an optimiser knows it by.
    pub fn codebook_param(&self) -> &Param<Tensor<B, 2>> {
        self.quantizer.codebook_param()
    }

    /// The tokenizer with `codebook` in place of its own (see
    /// [`VectorQuantizer::with_codebook`]).
    pub fn with_codebook(self, codebook: Tensor<B, 2>) -> Self {
        Self {
            quantizer: self.quantizer.with_codebook(codebook),
            ..self
        }
    }

    /// Runs the encoder and the quantiser on `frames` (`[B, 3, 64, 64]` in [0, 1]).
    pub fn quantize(&self, frames: Tensor<B, 4>) -> Quantized<B> {
        self.quantizer
            .quantize(self.encoder.forward(Self::to_model_space(frames)))
    }

    /// `frames`: `[B, 3, 64, 64]` in [0, 1]. Returns the tokens `[B, K]` (row-major grid)
    /// and the quantised latents `[B, embed_dim, side, side]`, whose gradient passes
    /// straight through to the encoder.
    pub fn encode(&self, frames: Tensor<B, 4>) -> (Tensor<B, 2, Int>, Tensor<B, 4>) {
        let quantized = self.quantize(frames);
        (quantized.tokens, quantized.z_straight_through)
    }

    /// The tokens `[B, K]` of `frames`, as [`encode`](Self::encode) gives them, with
    /// the frames cut into up to `threads` runs that are encoded at once, each on a
    /// thread of its own (encoding has no randomness and needs no gradient). Every run
    /// but the last is a whole number of the encoder's passes, so that each pass sees
    /// the frames it sees in one call: the tokens do not depend on `threads`.
    pub fn encode_tokens_on_threads(
        &self,
        frames: Tensor<B, 4>,
        threads: usize,
    ) -> Tensor<B, 2, Int> {
        let n = frames.dims()[0];
        let runs = pass_aligned_runs(n, encoder::frames_per_pass::<B>(), threads);
        if runs.len() <= 1 {
            return self.encode(frames).0;
        }
        let runs = runs
            .into_iter()
            .map(|run| frames.clone().narrow(0, run.start, run.len()))
            .collect();
        Tensor::cat(on_own_threads(runs, |run| self.encode(run).0), 0)
    }

    /// `z_q`: `[B, embed_dim, side, side]`. Returns `[B, 3, 64, 64]` in [-1, 1] space.
    pub fn decode(&self, z_q: Tensor<B, 4>) -> Tensor<B, 4> {
        self.decoder.forward(z_q)
    }

    /// `tokens`: `[B, K]`. Returns `[B, 3, 64, 64]` in [-1, 1] space.
    pub fn decode_tokens(&self, tokens: Tensor<B, 2, Int>) -> Tensor<B, 4> {
        let grid = tokens_grid(
            self.quantizer.lookup(tokens),
            self.tokens_per_side,
            self.tokens_per_side,
        );
        self.decode(grid)
    }

    /// Codebook vectors of `tokens` (`[B, K]`) as `[B, K, embed_dim]`. Detached: models
    /// that read observations through the codebook never train it.
    pub fn embed_tokens(&self, tokens: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        self.quantizer.lookup(tokens).detach()
    }

    /// [`embed_tokens`](Self::embed_tokens) laid out as a `[B, embed_dim, side, side]` map.
    pub fn embed_tokens_grid(&self, tokens: Tensor<B, 2, Int>) -> Tensor<B, 4> {
        tokens_grid(
            self.embed_tokens(tokens),
            self.tokens_per_side,
            self.tokens_per_side,
        )
    }

    /// Encode then decode; `frames` in [0, 1], result in [-1, 1] space.
    pub fn reconstruct(&self, frames: Tensor<B, 4>) -> Tensor<B, 4> {
        let (_, z_q) = self.encode(frames);
        self.decode(z_q)
    }

    /// The training loss on `frames` (`[B, 3, 64, 64]` in [0, 1]). With the LPIPS
    /// term under autodiff, its dropout draws from the thread's stream
    /// ([`crate::stream::with_thread_stream`], which the trainer opens per share).
    pub fn loss(&self, frames: Tensor<B, 4>) -> TokenizerLoss<B> {
        let target = Self::to_model_space(frames);
        let quantized = self
            .quantizer
            .quantize(self.encoder.forward(target.clone()));
        let reconstruction = self.decode(quantized.z_straight_through);

        let codebook = (quantized.z.clone().detach() - quantized.z_q.clone())
            .powf_scalar(2.0)
            .mean();
        let commitment = (quantized.z - quantized.z_q.detach())
            .powf_scalar(2.0)
            .mean();
        let lpips = lpips_weights(self.perceptual, &self.lpips_weights)
            .unwrap_or_else(|err| panic!("{err} (TokenizerConfig::check_training tells before)"));
        let perceptual =
            self.perceptual
                .compute(lpips.as_deref(), target.clone(), reconstruction.clone());
        let reconstruction = (target - reconstruction).powf_scalar(2.0).mean();

        let mut total = reconstruction.clone() + codebook.clone() + commitment.clone();
        if let Some(term) = &perceptual {
            total = total + term.clone();
        }
        TokenizerLoss {
            total,
            reconstruction,
            codebook,
            commitment,
            perceptual,
        }
    }
}

/// `frames` cut into at most `threads` runs of consecutive frames, each but the last a
/// whole number of passes of `per_pass` frames, as even as that allows.
fn pass_aligned_runs(
    frames: usize,
    per_pass: usize,
    threads: usize,
) -> Vec<std::ops::Range<usize>> {
    let passes = frames.div_ceil(per_pass.max(1));
    crate::optim::row_shares(passes, threads)
        .into_iter()
        .map(|run| run.start * per_pass..(run.end * per_pass).min(frames))
        .collect()
}
