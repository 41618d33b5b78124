//! Writes a freshly initialised tokenizer and actor-critic at the spec's sizes, the
//! inputs they are run on, and what our code computes from them (outputs, losses,
//! gradients) as NumPy arrays, so that another implementation of the same models
//! (REM's PyTorch code, say) can be loaded with the same weights and compared number
//! for number.
//!
//!   cargo run --release -p rem-agent --example export_models -- --out DIR [--game Breakout]
//!       [--rem-burn-in]
//!
//! `DIR/tokenizer/`:
//! - `frames.npy` `[N, 3, 64, 64]` f32 in [0, 1]: frames of `--game` under uniformly
//!   random play (the training wrappers);
//! - `weights/PATH.npy`, one array per parameter by module path (a `Linear` weight is
//!   `[in, out]`, a convolution's `[out, in, 3, 3]` as in PyTorch);
//! - `z.npy` (encoder output before quantisation, `[N, 256, 8, 8]`), `tokens.npy`
//!   (`[N, 64]` i64), `reconstruction.npy` (`[N, 3, 64, 64]`, [-1, 1] space);
//! - `losses.npy`: reconstruction, codebook, commitment, total;
//! - `gradients/PATH.npy`: the gradient of the total loss for each parameter.
//!
//! `DIR/actor_critic/`: a batch of `B` = 8 rows, each a burn-in of 20 real steps
//! (rows 0 and 1 left-padded by 5 and 19 steps) and then 9 imagined observations, as
//! one actor-critic training step sees them with horizon 10. Observations are latent
//! maps of tokens looked up in a `[512, 256]` codebook, so the reference can lay them
//! out with its own code.
//! - `codebook.npy`, `burn_in_{tokens,actions,mask}.npy` (`[B, 20, 64]` i64, `[B, 20]`
//!   i64, `[B, 20]` u8), `imagined_{tokens,actions}.npy` (`[B, 9, 64]`, `[B, 9]`),
//!   `imagined_{rewards,ends}.npy` (`[B, 9]` f32 in {-1, 0, 1} and u8; step t's reward
//!   and end follow action t, as a rollout records them);
//! - `weights/PATH.npy`;
//! - `logits.npy` `[B, 9, A]`, `values.npy` `[B, 9]`: each imagined observation after
//!   the burn-in, with every action fed through the LSTM after its observation (burn-in
//!   included; algorithm.md, section 7); with `--rem-burn-in` the burn-in only
//!   observes, as REM's does (`actor_critic.burn_in_feeds_actions = false`);
//! - `returns.npy` `[B, 8]`: lambda-returns (gamma 0.995, lambda 0.95);
//! - `losses.npy`: policy, value, entropy (nats), total (entropy weight 0.001);
//! - `gradients/PATH.npy`: the gradient of the total loss for each parameter.

use anyhow::{ensure, Result};
use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::prelude::*;
use burn::tensor::TensorData;
use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rem_agent::actor_critic::{
    latent_map, ActorCritic, ActorCriticConfig, ActorCriticLoss, ActorCriticState, ENTROPY_WEIGHT,
};
use rem_agent::imagination::returns::LambdaReturns;
use rem_envs::{make_env, EnvMode};
use rem_worldmodel::tokenizer::{frames_to_tensor, TokenizerConfig};
use std::path::{Path, PathBuf};

#[path = "common/npy.rs"]
mod npy;
use npy::{write_gradients, write_npy, write_parameters, write_tensor};

type Train = Autodiff<Flex>;
type Device = burn::backend::flex::FlexDevice;

#[derive(Parser)]
struct Args {
    /// Folder to write into (created).
    #[arg(long)]
    out: PathBuf,
    /// Game whose frames the tokenizer is run on.
    #[arg(long, default_value = "Breakout")]
    game: String,
    /// Frames for the tokenizer, every 5th step of random play.
    #[arg(long, default_value_t = 16)]
    frames: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Burn the actor-critic in as REM does, observing without feeding actions.
    #[arg(long)]
    rem_burn_in: bool,
}

const ROWS: usize = 8;
const BURN_IN: usize = 20;
const IMAGINED: usize = 9;
const ACTIONS: usize = 18;
const VOCAB: usize = 512;
const TOKENS: usize = 64;

fn main() -> Result<()> {
    let args = Args::parse();
    let device = Default::default();
    Train::seed(&device, args.seed);
    let mut rng = StdRng::seed_from_u64(args.seed);
    export_tokenizer(&args.out.join("tokenizer"), &args, &device)?;
    let feed_actions = !args.rem_burn_in;
    export_actor_critic(
        &args.out.join("actor_critic"),
        feed_actions,
        &mut rng,
        &device,
    )?;
    println!("wrote {}", args.out.display());
    Ok(())
}

/// Frames of uniformly random play, every 5th step, as `[N, 3, 64, 64]` in [0, 1].
fn random_play_frames(args: &Args, device: &Device) -> Result<Tensor<Train, 4>> {
    let mut env = make_env(&args.game, EnvMode::Train, args.seed)?;
    let n_actions = env.action_space().n();
    let mut rng = StdRng::seed_from_u64(args.seed);
    let (mut frame, _) = env.reset(Some(args.seed))?;
    let mut bytes = Vec::new();
    for step in 0..args.frames * 5 {
        if step % 5 == 0 {
            bytes.extend_from_slice(frame.as_bytes());
        }
        let next = env.step(rng.random_range(0..n_actions))?;
        frame = if next.terminated || next.truncated {
            env.reset(None)?.0
        } else {
            next.obs
        };
    }
    Ok(frames_to_tensor(&bytes, device)?)
}

fn export_tokenizer(dir: &Path, args: &Args, device: &Device) -> Result<()> {
    let frames = random_play_frames(args, device)?;
    let tokenizer = TokenizerConfig::default().init::<Train>(device);
    write_parameters(&dir.join("weights"), &tokenizer)?;
    write_tensor(&dir.join("frames.npy"), frames.clone())?;

    let quantized = tokenizer.valid().quantize(frames.clone().inner());
    write_tensor(&dir.join("z.npy"), quantized.z)?;
    let tokens: Vec<i64> = quantized
        .tokens
        .clone()
        .into_data()
        .convert::<i64>()
        .to_vec()
        .expect("i64");
    write_npy(&dir.join("tokens.npy"), &quantized.tokens.dims(), tokens)?;
    write_tensor(
        &dir.join("reconstruction.npy"),
        tokenizer.valid().reconstruct(frames.clone().inner()),
    )?;

    let loss = tokenizer.loss(frames);
    let terms = [
        &loss.reconstruction,
        &loss.codebook,
        &loss.commitment,
        &loss.total,
    ];
    let values: Vec<f32> = terms
        .iter()
        .map(|&t| t.clone().into_scalar().elem())
        .collect();
    write_npy(&dir.join("losses.npy"), &[values.len()], values)?;
    let grads = loss.total.backward();
    write_gradients(&dir.join("gradients"), &tokenizer, &grads)?;
    Ok(())
}

/// What one actor-critic training step reads, drawn at random: a burn-in of real steps
/// and the imagined steps after it (tokens `[B, T, 64]`, actions `[B, T]`).
struct RolloutInputs {
    codebook: Vec<f32>,
    burn_tokens: Vec<i64>,
    burn_actions: Vec<i64>,
    burn_mask: Vec<bool>,
    tokens: Vec<i64>,
    actions: Vec<i64>,
    rewards: Vec<f32>,
    ends: Vec<bool>,
}

impl RolloutInputs {
    fn draw(rng: &mut StdRng, embed: usize) -> Self {
        let mut values = |n: usize, range: std::ops::Range<i64>| -> Vec<i64> {
            (0..n).map(|_| rng.random_range(range.clone())).collect()
        };
        let burn_tokens = values(ROWS * BURN_IN * TOKENS, 0..VOCAB as i64);
        let burn_actions = values(ROWS * BURN_IN, 0..ACTIONS as i64);
        let tokens = values(ROWS * IMAGINED * TOKENS, 0..VOCAB as i64);
        let actions = values(ROWS * IMAGINED, 0..ACTIONS as i64);
        // Left padding in rows 0 and 1, as segments from an episode's start have.
        let padding = |row: usize| [5, 19].get(row).copied().unwrap_or(0);
        Self {
            codebook: (0..VOCAB * embed)
                .map(|_| rng.random::<f32>() * 2.0 - 1.0)
                .collect(),
            burn_tokens,
            burn_actions,
            burn_mask: (0..ROWS * BURN_IN)
                .map(|i| i % BURN_IN >= padding(i / BURN_IN))
                .collect(),
            tokens,
            actions,
            rewards: (0..ROWS * IMAGINED)
                .map(|_| [-1.0, 0.0, 0.0, 1.0][rng.random_range(0..4)])
                .collect(),
            ends: (0..ROWS * IMAGINED).map(|_| rng.random_bool(0.1)).collect(),
        }
    }

    fn write(&self, dir: &Path, embed: usize) -> Result<()> {
        let bytes = |flags: &[bool]| flags.iter().map(|&f| f as u8).collect::<Vec<u8>>();
        let (burn, imagined) = ([ROWS, BURN_IN], [ROWS, IMAGINED]);
        write_npy(
            &dir.join("codebook.npy"),
            &[VOCAB, embed],
            self.codebook.clone(),
        )?;
        write_npy(
            &dir.join("burn_in_tokens.npy"),
            &[ROWS, BURN_IN, TOKENS],
            self.burn_tokens.clone(),
        )?;
        write_npy(
            &dir.join("burn_in_actions.npy"),
            &burn,
            self.burn_actions.clone(),
        )?;
        write_npy(&dir.join("burn_in_mask.npy"), &burn, bytes(&self.burn_mask))?;
        write_npy(
            &dir.join("imagined_tokens.npy"),
            &[ROWS, IMAGINED, TOKENS],
            self.tokens.clone(),
        )?;
        write_npy(
            &dir.join("imagined_actions.npy"),
            &imagined,
            self.actions.clone(),
        )?;
        write_npy(
            &dir.join("imagined_rewards.npy"),
            &imagined,
            self.rewards.clone(),
        )?;
        write_npy(&dir.join("imagined_ends.npy"), &imagined, bytes(&self.ends))
    }
}

/// The latent maps `[B, T, embed, 8, 8]` of `tokens` `[B, T, 64]` in `codebook`.
fn latents<B: Backend>(codebook: &[f32], tokens: &[i64], device: &B::Device) -> Tensor<B, 5> {
    let width = codebook.len() / VOCAB;
    let codebook =
        Tensor::<B, 2>::from_data(TensorData::new(codebook.to_vec(), [VOCAB, width]), device);
    let ids =
        Tensor::<B, 1, Int>::from_data(TensorData::new(tokens.to_vec(), [tokens.len()]), device);
    let frames = tokens.len() / TOKENS;
    let codes = codebook.select(0, ids).reshape([frames, TOKENS, width]);
    latent_map(codes, 8).reshape([ROWS, frames / ROWS, width, 8, 8])
}

fn int_tensor<B: Backend, const D: usize>(
    values: &[i64],
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D, Int> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
}

fn float_tensor<B: Backend, const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

fn export_actor_critic(
    dir: &Path,
    feed_actions: bool,
    rng: &mut StdRng,
    device: &Device,
) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let config = ActorCriticConfig::new(ACTIONS);
    let model: ActorCritic<Train> = config.init(device)?;
    let inputs = RolloutInputs::draw(rng, config.embed_dim);
    inputs.write(dir, config.embed_dim)?;
    write_parameters(&dir.join("weights"), &model)?;

    // Burn-in without gradient (feeding its actions unless REM's), then the imagined
    // observations, each action fed after its observation.
    let burn_in_actions =
        feed_actions.then(|| int_tensor(&inputs.burn_actions, [ROWS, BURN_IN], device));
    let burned = model.valid().burn_in(
        latents(&inputs.codebook, &inputs.burn_tokens, device),
        burn_in_actions,
        Tensor::from_data(
            TensorData::new(inputs.burn_mask.clone(), [ROWS, BURN_IN]),
            device,
        ),
    );
    let maps = Tensor::<Train, 5>::from_inner(latents(&inputs.codebook, &inputs.tokens, device));
    let actions = int_tensor::<Train, 2>(&inputs.actions, [ROWS, IMAGINED], device);
    let mut state = ActorCriticState::from_inner(burned);
    let (mut logits, mut values) = (Vec::new(), Vec::new());
    for step in 0..IMAGINED {
        let [_, _, embed, side, _] = maps.dims();
        let map = maps
            .clone()
            .narrow(1, step, 1)
            .reshape([ROWS, embed, side, side]);
        let observed = model.observe(map, state);
        logits.push(observed.logits.unsqueeze_dim::<3>(1));
        values.push(observed.value.unsqueeze_dim::<2>(1));
        let action = actions.clone().narrow(1, step, 1).reshape([ROWS]);
        state = model.feed_action(action, observed.state);
    }
    let (logits, values) = (Tensor::cat(logits, 1), Tensor::cat(values, 1));
    write_tensor(&dir.join("logits.npy"), logits.clone())?;
    write_tensor(&dir.join("values.npy"), values.clone())?;
    write_losses(dir, &model, &inputs, logits, actions, values)
}

/// Lambda-returns and losses over the 8 transitions (the 9th value only bootstraps),
/// and the gradients of the total loss.
fn write_losses(
    dir: &Path,
    model: &ActorCritic<Train>,
    inputs: &RolloutInputs,
    logits: Tensor<Train, 3>,
    actions: Tensor<Train, 2, Int>,
    values: Tensor<Train, 2>,
) -> Result<()> {
    let (steps, device) = (IMAGINED - 1, values.device());
    let rewards = float_tensor::<Train, 2>(inputs.rewards.clone(), [ROWS, IMAGINED], &device);
    let continues: Vec<f32> = inputs
        .ends
        .iter()
        .map(|&e| if e { 0.0 } else { 1.0 })
        .collect();
    let continues = float_tensor::<Train, 2>(continues, [ROWS, IMAGINED], &device);
    let returns = LambdaReturns::default().compute(
        rewards.narrow(1, 0, steps),
        continues.narrow(1, 0, steps),
        values.clone().detach(),
    );
    write_tensor(&dir.join("returns.npy"), returns.clone())?;
    let loss = ActorCriticLoss::new(
        logits.narrow(1, 0, steps),
        actions.narrow(1, 0, steps),
        values.narrow(1, 0, steps),
        returns,
        Tensor::ones([ROWS, steps], &device),
        ENTROPY_WEIGHT,
    );
    let terms = [&loss.policy, &loss.value, &loss.entropy, &loss.total];
    let scalars: Vec<f32> = terms
        .iter()
        .map(|&t| t.clone().into_scalar().elem())
        .collect();
    ensure!(
        scalars.iter().all(|v| v.is_finite()),
        "non-finite loss {scalars:?}"
    );
    write_npy(&dir.join("losses.npy"), &[scalars.len()], scalars)?;
    let grads = loss.total.backward();
    write_gradients(&dir.join("gradients"), model, &grads)?;
    Ok(())
}
