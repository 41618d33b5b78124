//! One optimisation step of the tokenizer: AdamW with a global gradient-norm clip. The
//! batch may be split over threads (`threads`), each running its share of the frames.

use burn::module::AutodiffModule;
use burn::module::Module;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::AdamW;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};

use rem_envs::rng::mix_seed;

use super::{frames_to_tensor, grid_rows, Tokenizer, TokenizerError, TokenizerLoss};
use crate::optim::{
    adamw, adamw_steps, apply_gradients, row_shares, sharded_gradients, sum_over_shares,
};
use crate::stream::with_thread_stream;

/// Optimiser settings; `Default` is the REM schedule for the tokenizer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenizerTrainerConfig {
    pub learning_rate: f64,
    pub weight_decay: f32,
    /// Maximum global L2 norm of the gradient (all parameters together).
    pub max_grad_norm: f32,
    /// Threads the batch's frames are split over, each with its own autodiff graph;
    /// the gradients are added in frame order. A run is reproducible for a given
    /// value; different values sum in a different order.
    pub threads: usize,
    /// Every this many steps (0: never, as in REM), the codes that no vector of that
    /// step's frames chose are moved onto the encoder outputs that their own codes fit
    /// worst ([`restart_unused_codes`]).
    pub restart_unused_codes_every: usize,
}

impl Default for TokenizerTrainerConfig {
    fn default() -> Self {
        Self {
            learning_rate: 1e-4,
            weight_decay: 0.01,
            max_grad_norm: 10.0,
            threads: 1,
            restart_unused_codes_every: 0,
        }
    }
}

/// Scalars of one training step, read back from the device.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenizerStepStats {
    pub total: f32,
    pub reconstruction: f32,
    pub codebook: f32,
    pub commitment: f32,
    pub perceptual: Option<f32>,
    /// Global gradient norm before clipping.
    pub grad_norm: f32,
}

pub struct TokenizerTrainer<B: AutodiffBackend> {
    config: TokenizerTrainerConfig,
    pub optimizer: OptimizerAdaptor<AdamW, Tokenizer<B>, B>,
}

impl<B: AutodiffBackend> TokenizerTrainer<B> {
    pub fn new(config: TokenizerTrainerConfig) -> Self {
        // burn's own clipping works per parameter tensor; the reference clips the global
        // norm, which `clip_grad_norm` does before the optimiser sees the gradients.
        let optimizer = adamw(config.weight_decay);
        Self { config, optimizer }
    }

    pub fn config(&self) -> &TokenizerTrainerConfig {
        &self.config
    }

    /// One step on frames given as HWC bytes (`[B, 64, 64, 3]`, see [`frames_to_tensor`]).
    pub fn step(
        &mut self,
        model: Tokenizer<B>,
        frame_bytes: &[u8],
        dropout_seed: u64,
    ) -> Result<(Tokenizer<B>, TokenizerStepStats), TokenizerError> {
        let frames = frames_to_tensor::<B>(frame_bytes, &model.devices()[0])?;
        Ok(self.step_tensor(model, frames, dropout_seed))
    }

    /// One step on `frames` (`[B, 3, 64, 64]` in [0, 1]). Each share of the frames
    /// weighs its loss by its share of the batch, so that the shares add up to the
    /// whole batch's mean. Share `i` draws its dropout masks (the LPIPS term's) from a
    /// stream seeded with `mix_seed(dropout_seed, i)`.
    pub fn step_tensor(
        &mut self,
        model: Tokenizer<B>,
        frames: Tensor<B, 4>,
        dropout_seed: u64,
    ) -> (Tokenizer<B>, TokenizerStepStats) {
        let rows = frames.dims()[0];
        let shares = row_shares(rows, self.config.threads)
            .into_iter()
            .map(|share| frames.clone().narrow(0, share.start, share.len()));
        let (grads, shares) = sharded_gradients(
            &model,
            shares.enumerate().collect(),
            |model: &Tokenizer<B>, (i, share): (usize, Tensor<B, 4>)| {
                with_thread_stream(mix_seed(dropout_seed, i as u64), || {
                    let weight = share.dims()[0] as f64 / rows as f64;
                    let loss = model.loss(share).weighted(weight);
                    (loss.total.clone(), loss)
                })
            },
        );
        let c = &self.config;
        let (model, grad_norm) = apply_gradients(
            &mut self.optimizer,
            model,
            grads,
            c.learning_rate,
            c.max_grad_norm,
        );
        let sum = |term: fn(&TokenizerLoss<B>) -> Option<&Tensor<B, 1>>| {
            sum_over_shares(shares.iter().filter_map(term))
        };
        let stats = TokenizerStepStats {
            total: sum(|l| Some(&l.total)).expect("at least one share"),
            reconstruction: sum(|l| Some(&l.reconstruction)).expect("at least one share"),
            codebook: sum(|l| Some(&l.codebook)).expect("at least one share"),
            commitment: sum(|l| Some(&l.commitment)).expect("at least one share"),
            perceptual: sum(|l| l.perceptual.as_ref()),
            grad_norm,
        };
        // The step count is the optimiser's, not a counter of this trainer's: an
        // optimiser loaded from a checkpoint continues the schedule where it was.
        let every = c.restart_unused_codes_every;
        let restart =
            every > 0 && adamw_steps(&self.optimizer, model.codebook_param()).is_multiple_of(every);
        let model = if restart {
            restart_unused_codes(model, frames).0
        } else {
            model
        };
        (model, stats)
    }
}

/// Moves the codes that no encoder output of `frames` chose onto outputs of `frames`,
/// one each, in code order: onto the output that its nearest code fits worst (largest
/// |z - e|^2), then the next worst, and so on. A code that nothing chooses gets no
/// gradient and would stay unused for good, while a rare object merged into a frequent
/// one's code (catch's ball and paddle, docs/experiments.md) is what fits its code
/// worst. The codebook stays the same parameter: a moved code's optimiser moments are
/// those of an unused code, zero gradients decayed. Returns the tokenizer and how many
/// codes moved.
pub fn restart_unused_codes<B: AutodiffBackend>(
    model: Tokenizer<B>,
    frames: Tensor<B, 4>,
) -> (Tokenizer<B>, usize) {
    let quantized = model.valid().quantize(frames.inner());
    let tokens: Vec<i64> = quantized
        .tokens
        .into_data()
        .convert::<i64>()
        .to_vec()
        .expect("i64");
    let (vocab, dim) = (model.vocab(), model.embed_dim());
    let mut used = vec![false; vocab];
    for &token in &tokens {
        used[token as usize] = true;
    }
    let unused: Vec<usize> = (0..vocab).filter(|&code| !used[code]).collect();
    if unused.is_empty() {
        return (model, 0);
    }
    let (z, z_q) = (grid_rows(quantized.z), grid_rows(quantized.z_q));
    let misfit: Vec<f32> = (z.clone() - z_q)
        .powf_scalar(2.0)
        .sum_dim(1)
        .into_data()
        .to_vec()
        .expect("f32");
    let z: Vec<f32> = z.into_data().to_vec().expect("f32");
    let mut worst_first: Vec<usize> = (0..misfit.len()).collect();
    worst_first.sort_by(|&a, &b| misfit[b].total_cmp(&misfit[a]));
    let codebook = model.codebook();
    let device = codebook.device();
    let mut codes: Vec<f32> = codebook.into_data().to_vec().expect("f32");
    for (&code, vector) in unused.iter().zip(&worst_first) {
        codes[code * dim..(code + 1) * dim].copy_from_slice(&z[vector * dim..(vector + 1) * dim]);
    }
    let moved = unused.len().min(worst_first.len());
    let codebook = Tensor::from_data(TensorData::new(codes, [vocab, dim]), &device);
    (model.with_codebook(codebook), moved)
}
