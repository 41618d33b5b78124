//! From sampled segments (host bytes) to the tensors the models train on.

use anyhow::Result;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Bool, Int, Tensor, TensorData};
use rem_envs::store::SegmentBatch;
use rem_worldmodel::tokenizer::{frames_to_tensor, Tokenizer};
use rem_worldmodel::world_model::TokenBatch;

/// The frozen tokenizer's tokens of every frame of `segments`: `[N, T, K]`.
pub fn encode_segments<B: Backend>(
    tokenizer: &Tokenizer<B>,
    segments: &SegmentBatch,
    device: &B::Device,
) -> Result<Tensor<B, 3, Int>> {
    let (tokens, _) = tokenizer.encode(frames_to_tensor::<B>(&segments.frames, device)?);
    let k = tokens.dims()[1];
    Ok(tokens.reshape([segments.batch, segments.len, k]))
}

pub fn actions_tensor<B: Backend>(segments: &SegmentBatch, device: &B::Device) -> Tensor<B, 2, Int> {
    let values = segments.actions.iter().map(|&a| a as i64).collect();
    Tensor::from_data(TensorData::new(values, [segments.batch, segments.len]), device)
}

pub fn mask_tensor<B: Backend>(segments: &SegmentBatch, device: &B::Device) -> Tensor<B, 2, Bool> {
    Tensor::from_data(TensorData::new(segments.mask.clone(), [segments.batch, segments.len]), device)
}

/// A world-model training batch; tokens come from the frozen tokenizer.
pub fn token_batch<B: AutodiffBackend>(
    tokenizer: &Tokenizer<B::InnerBackend>,
    segments: &SegmentBatch,
    device: &B::Device,
) -> Result<TokenBatch<B>> {
    let shape = [segments.batch, segments.len];
    let ends = segments.ends.iter().map(|&e| e as i64).collect();
    Ok(TokenBatch {
        tokens: Tensor::from_inner(encode_segments(tokenizer, segments, device)?),
        actions: actions_tensor(segments, device),
        rewards: Tensor::from_data(TensorData::new(segments.rewards.clone(), shape), device),
        ends: Tensor::from_data(TensorData::new(ends, shape), device),
        mask: mask_tensor(segments, device),
    })
}
