//! Action selection for acting and imagination, on the host with a seedable RNG.
//!
//! The logits are copied to the host (B x A floats, tiny next to the model) so that
//! every random draw comes from the caller's `rand` generator and runs reproduce.

use anyhow::{anyhow, ensure};
use burn::prelude::*;
use rand::Rng;

/// Actions chosen for a batch. `taken` is what the environment receives and what
/// must be fed back through [`super::ActorCritic::feed_action`], also on random steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampledActions {
    /// The action taken in each row.
    pub taken: Vec<usize>,
    /// Whether the row's action was the epsilon-uniform one rather than the policy's.
    pub was_random: Vec<bool>,
}

impl SampledActions {
    /// The taken actions as an Int tensor `[B]`, ready for `feed_action`.
    pub fn taken_tensor<B: Backend>(&self, device: &B::Device) -> Tensor<B, 1, Int> {
        let ids: Vec<i64> = self.taken.iter().map(|&a| a as i64).collect();
        Tensor::from_data(TensorData::new(ids, [self.taken.len()]), device)
    }
}

/// Samples one action per row of `logits` [B, A]: with probability `epsilon` a
/// uniformly random action, otherwise a draw from softmax(logits / temperature).
/// Temperature 0 means greedy (argmax, first index on ties).
pub fn sample_actions<B: Backend, R: Rng + ?Sized>(
    logits: Tensor<B, 2>,
    temperature: f32,
    epsilon: f32,
    rng: &mut R,
) -> anyhow::Result<SampledActions> {
    let rows = vec![true; logits.dims()[0]];
    sample_actions_in_rows(logits, &rows, temperature, epsilon, rng)
}

/// [`sample_actions`] for the rows of a batch where `computed` is true, whose logits
/// alone `logits` holds, in order. Each row left out takes the draws from `rng` that a
/// row of uniform logits would and keeps no action, so every computed row draws what it
/// would in the whole batch: an evaluation that stops computing its ended episodes acts
/// as one that computes them all.
pub fn sample_actions_in_rows<B: Backend, R: Rng + ?Sized>(
    logits: Tensor<B, 2>,
    computed: &[bool],
    temperature: f32,
    epsilon: f32,
    rng: &mut R,
) -> anyhow::Result<SampledActions> {
    check_sampling(temperature, epsilon)?;
    let [batch, n_actions] = logits.dims();
    ensure!(n_actions > 0, "cannot sample from logits with zero actions");
    let rows = computed.iter().filter(|&&c| c).count();
    ensure!(
        rows == batch,
        "{batch} rows of logits for {rows} computed rows of {}",
        computed.len()
    );
    let values = logits
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .map_err(|err| anyhow!("cannot read logits on the host: {err:?}"))?;
    let uniform = vec![0.0; n_actions];
    let mut rows = values.chunks(n_actions);
    let mut taken = Vec::with_capacity(batch);
    let mut was_random = Vec::with_capacity(batch);
    for &is_computed in computed {
        let row = match is_computed {
            true => rows.next().expect("counted above"),
            false => &uniform[..],
        };
        let random = rng.random_bool(f64::from(epsilon));
        let action = if random {
            rng.random_range(0..n_actions)
        } else {
            sample_action_from_logits(row, temperature, rng)?
        };
        if is_computed {
            taken.push(action);
            was_random.push(random);
        }
    }
    Ok(SampledActions { taken, was_random })
}

/// Draws one action from softmax(`logits` / `temperature`); temperature 0 is argmax.
pub fn sample_action_from_logits<R: Rng + ?Sized>(
    logits: &[f32],
    temperature: f32,
    rng: &mut R,
) -> anyhow::Result<usize> {
    check_sampling(temperature, 0.0)?;
    ensure!(!logits.is_empty(), "cannot sample from empty logits");
    ensure!(
        logits.iter().all(|x| x.is_finite()),
        "logits contain NaN or infinity: {logits:?}"
    );
    // First index of the largest logit, so ties resolve to the lowest action id.
    let mut best = 0;
    for (action, &logit) in logits.iter().enumerate() {
        if logit > logits[best] {
            best = action;
        }
    }
    let max = logits[best];
    if temperature == 0.0 {
        return Ok(best);
    }
    // Shift by the max so the largest weight is exactly 1 and nothing overflows.
    let weights: Vec<f64> = logits
        .iter()
        .map(|&x| ((f64::from(x) - f64::from(max)) / f64::from(temperature)).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    let mut threshold = rng.random::<f64>() * total;
    for (action, weight) in weights.iter().enumerate() {
        if threshold < *weight {
            return Ok(action);
        }
        threshold -= weight;
    }
    // Rounding can leave a sliver past the last weight; the argmax is the safe pick.
    Ok(best)
}

/// The rules of [`sample_actions`]' settings: a finite, non-negative temperature
/// and an epsilon in [0, 1].
pub fn check_sampling(temperature: f32, epsilon: f32) -> anyhow::Result<()> {
    ensure!(
        temperature.is_finite() && temperature >= 0.0,
        "temperature must be finite and non-negative, got {temperature}"
    );
    ensure!(
        (0.0..=1.0).contains(&epsilon),
        "epsilon must lie in [0, 1], got {epsilon}"
    );
    Ok(())
}
