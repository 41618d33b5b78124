//! From sampled segments (host bytes) to the tensors the models train on.

use std::collections::HashMap;

use anyhow::Result;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Bool, Int, Tensor, TensorData};
use rem_envs::store::SegmentBatch;
use rem_envs::FRAME_BYTES;
use rem_worldmodel::tokenizer::{frames_to_tensor, Tokenizer};
use rem_worldmodel::world_model::{RewardAdjustment, TokenBatch};

/// Tokens of frames already encoded by one frozen tokenizer. Sampled segments
/// overlap and games repeat frames, so most frames of a training phase are seen
/// more than once; each is encoded once. Keyed by the frame's bytes, so a hit is
/// exactly the frame that was encoded. Build a new cache whenever the tokenizer
/// changes.
#[derive(Default)]
pub struct TokenCache {
    tokens: HashMap<Box<[u8]>, Vec<i64>>,
}

impl TokenCache {
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Forgets every frame once more than `max_frames` are cached: frames of
    /// episodes the store has dropped would otherwise stay for good.
    pub fn forget_beyond(&mut self, max_frames: usize) {
        if self.tokens.len() > max_frames {
            self.tokens.clear();
        }
    }

    /// Tokens `[N, K]` of `frames` (consecutive HWC frames), encoding only the
    /// frames not seen before, in one batch split over `threads` threads (the tokens
    /// do not depend on `threads`).
    pub fn encode<B: Backend>(
        &mut self,
        tokenizer: &Tokenizer<B>,
        frames: &[u8],
        device: &B::Device,
        threads: usize,
    ) -> Result<Tensor<B, 2, Int>> {
        let mut missing: Vec<&[u8]> = Vec::new();
        let mut queued = std::collections::HashSet::new();
        for frame in frames.chunks_exact(FRAME_BYTES) {
            if !self.tokens.contains_key(frame) && queued.insert(frame) {
                missing.push(frame);
            }
        }
        if !missing.is_empty() {
            let pixels = frames_to_tensor::<B>(&missing.concat(), device)?;
            let encoded = tokenizer.encode_tokens_on_threads(pixels, threads);
            let k = encoded.dims()[1];
            let values: Vec<i64> = encoded
                .into_data()
                .convert::<i64>()
                .into_vec()
                .expect("int tokens");
            for (frame, tokens) in missing.iter().zip(values.chunks_exact(k)) {
                self.tokens.insert(Box::from(*frame), tokens.to_vec());
            }
        }
        let rows: Vec<i64> = frames
            .chunks_exact(FRAME_BYTES)
            .flat_map(|f| self.tokens[f].iter().copied())
            .collect();
        let n = frames.len() / FRAME_BYTES;
        let k = rows.len() / n.max(1);
        Ok(Tensor::from_data(TensorData::new(rows, [n, k]), device))
    }
}

/// The frozen tokenizer's tokens of every frame of `segments`: `[N, T, K]`, encoded
/// on `threads` threads.
pub fn encode_segments<B: Backend>(
    tokenizer: &Tokenizer<B>,
    segments: &SegmentBatch,
    cache: &mut TokenCache,
    device: &B::Device,
    threads: usize,
) -> Result<Tensor<B, 3, Int>> {
    let tokens = cache.encode(tokenizer, &segments.frames, device, threads)?;
    let k = tokens.dims()[1];
    Ok(tokens.reshape([segments.batch, segments.len, k]))
}

pub fn actions_tensor<B: Backend>(
    segments: &SegmentBatch,
    device: &B::Device,
) -> Tensor<B, 2, Int> {
    let values = segments.actions.iter().map(|&a| a as i64).collect();
    Tensor::from_data(
        TensorData::new(values, [segments.batch, segments.len]),
        device,
    )
}

pub fn mask_tensor<B: Backend>(segments: &SegmentBatch, device: &B::Device) -> Tensor<B, 2, Bool> {
    Tensor::from_data(
        TensorData::new(segments.mask.clone(), [segments.batch, segments.len]),
        device,
    )
}

/// A world-model batch of `segments` on any backend (a probe's forward passes),
/// its rows as drawn (no reward adjustment); tokens come from the frozen tokenizer,
/// encoded on `threads` threads.
pub fn token_batch_on<B: Backend>(
    tokenizer: &Tokenizer<B>,
    segments: &SegmentBatch,
    cache: &mut TokenCache,
    device: &B::Device,
    threads: usize,
) -> Result<TokenBatch<B>> {
    let shape = [segments.batch, segments.len];
    let ends = segments.ends.iter().map(|&e| e as i64).collect();
    Ok(TokenBatch {
        tokens: encode_segments(tokenizer, segments, cache, device, threads)?,
        actions: actions_tensor(segments, device),
        rewards: Tensor::from_data(TensorData::new(segments.rewards.clone(), shape), device),
        ends: Tensor::from_data(TensorData::new(ends, shape), device),
        mask: mask_tensor(segments, device),
        reward_adjustment: RewardAdjustment::None,
    })
}

/// A world-model training batch: [`token_batch_on`] the autodiff backend's inner
/// backend, where the tokenizer lives, lifted to the autodiff backend.
pub fn token_batch<B: AutodiffBackend>(
    tokenizer: &Tokenizer<B::InnerBackend>,
    segments: &SegmentBatch,
    cache: &mut TokenCache,
    device: &B::Device,
    threads: usize,
) -> Result<TokenBatch<B>> {
    let batch = token_batch_on(tokenizer, segments, cache, device, threads)?;
    Ok(TokenBatch {
        tokens: Tensor::from_inner(batch.tokens),
        actions: Tensor::from_inner(batch.actions),
        rewards: Tensor::from_inner(batch.rewards),
        ends: Tensor::from_inner(batch.ends),
        mask: Tensor::from_inner(batch.mask),
        reward_adjustment: RewardAdjustment::None,
    })
}
