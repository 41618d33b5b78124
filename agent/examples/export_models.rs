//! Writes a freshly initialised tokenizer and actor-critic at the spec's sizes, the
//! inputs they are run on, and what our code computes from them (outputs, losses,
//! gradients) as NumPy arrays, so that another implementation of the same models
//! (REM's PyTorch code, say) can be loaded with the same weights and compared number
//! for number.
//!
//!   cargo run --release -p rem-agent --example export_models -- --out DIR [--game Breakout]
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
//!   included; algorithm.md, section 7);
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
use rem_agent::returns::LambdaReturns;
use rem_envs::{make_env, EnvMode};
use rem_worldmodel::tokenizer::{frames_to_tensor, TokenizerConfig};
use std::path::{Path, PathBuf};

#[path = "common/npy.rs"]
mod npy;
use npy::{write_gradients, write_npy, write_parameters, write_tensor};

type Train = Autodiff<Flex>;
type Inner = Flex;
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
    export_actor_critic(&args.out.join("actor_critic"), &mut rng, &device)?;
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

/// `[B, T, 64]` uniformly random tokens.
fn random_tokens(rng: &mut StdRng, steps: usize) -> Vec<i64> {
    (0..ROWS * steps * TOKENS)
        .map(|_| rng.random_range(0..VOCAB as i64))
        .collect()
}

/// The latent maps `[B * T, 256, 8, 8]` of `tokens` `[B, T, 64]` in `codebook`.
fn latents<B: Backend>(
    codebook: &Tensor<B, 2>,
    tokens: &[i64],
    device: &B::Device,
) -> Tensor<B, 4> {
    let frames = tokens.len() / TOKENS;
    let ids =
        Tensor::<B, 1, Int>::from_data(TensorData::new(tokens.to_vec(), [tokens.len()]), device);
    let width = codebook.dims()[1];
    let codes = codebook
        .clone()
        .select(0, ids)
        .reshape([frames, TOKENS, width]);
    latent_map(codes, 8)
}

fn int_tensor<B: Backend, const D: usize>(
    values: &[i64],
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D, Int> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
}

fn export_actor_critic(dir: &Path, rng: &mut StdRng, device: &Device) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let model: ActorCritic<Train> = ActorCriticConfig::new(ACTIONS).init(device)?;
    let embed = ActorCriticConfig::new(ACTIONS).embed_dim;
    let codebook_values: Vec<f32> = (0..VOCAB * embed)
        .map(|_| rng.random::<f32>() * 2.0 - 1.0)
        .collect();
    write_npy(
        &dir.join("codebook.npy"),
        &[VOCAB, embed],
        codebook_values.clone(),
    )?;
    let codebook =
        Tensor::<Inner, 2>::from_data(TensorData::new(codebook_values, [VOCAB, embed]), device);

    // Burn-in: real steps, gradient-free, left padding in rows 0 and 1.
    let burn_tokens = random_tokens(rng, BURN_IN);
    let burn_actions: Vec<i64> = (0..ROWS * BURN_IN)
        .map(|_| rng.random_range(0..ACTIONS as i64))
        .collect();
    let padding = |row: usize| match row {
        0 => 5,
        1 => 19,
        _ => 0,
    };
    let mask: Vec<bool> = (0..ROWS * BURN_IN)
        .map(|i| i % BURN_IN >= padding(i / BURN_IN))
        .collect();
    write_npy(
        &dir.join("burn_in_tokens.npy"),
        &[ROWS, BURN_IN, TOKENS],
        burn_tokens.clone(),
    )?;
    write_npy(
        &dir.join("burn_in_actions.npy"),
        &[ROWS, BURN_IN],
        burn_actions.clone(),
    )?;
    write_npy(
        &dir.join("burn_in_mask.npy"),
        &[ROWS, BURN_IN],
        mask.iter().map(|&m| m as u8).collect(),
    )?;
    let burn_latents =
        latents(&codebook, &burn_tokens, device).reshape([ROWS, BURN_IN, embed, 8, 8]);
    let burned = model.valid().burn_in(
        burn_latents,
        int_tensor(&burn_actions, [ROWS, BURN_IN], device),
        Tensor::from_data(TensorData::new(mask, [ROWS, BURN_IN]), device),
    );

    // Imagined steps: the tokens, actions and outcomes a rollout would have drawn.
    let tokens = random_tokens(rng, IMAGINED);
    let actions: Vec<i64> = (0..ROWS * IMAGINED)
        .map(|_| rng.random_range(0..ACTIONS as i64))
        .collect();
    let rewards: Vec<f32> = (0..ROWS * IMAGINED)
        .map(|_| [-1.0, 0.0, 0.0, 1.0][rng.random_range(0..4)])
        .collect();
    let ends: Vec<bool> = (0..ROWS * IMAGINED).map(|_| rng.random_bool(0.1)).collect();
    write_npy(
        &dir.join("imagined_tokens.npy"),
        &[ROWS, IMAGINED, TOKENS],
        tokens.clone(),
    )?;
    write_npy(
        &dir.join("imagined_actions.npy"),
        &[ROWS, IMAGINED],
        actions.clone(),
    )?;
    write_npy(
        &dir.join("imagined_rewards.npy"),
        &[ROWS, IMAGINED],
        rewards.clone(),
    )?;
    write_npy(
        &dir.join("imagined_ends.npy"),
        &[ROWS, IMAGINED],
        ends.iter().map(|&e| e as u8).collect(),
    )?;
    write_parameters(&dir.join("weights"), &model)?;

    let maps = Tensor::<Train, 4>::from_inner(latents(&codebook, &tokens, device))
        .reshape([ROWS, IMAGINED, embed, 8, 8]);
    let actions = int_tensor::<Train, 2>(&actions, [ROWS, IMAGINED], device);
    let mut state = ActorCriticState::from_inner(burned);
    let (mut logits, mut values) = (Vec::new(), Vec::new());
    for step in 0..IMAGINED {
        let map = maps.clone().narrow(1, step, 1).reshape([ROWS, embed, 8, 8]);
        let observed = model.observe(map, state);
        logits.push(observed.logits.unsqueeze_dim::<3>(1));
        values.push(observed.value.unsqueeze_dim::<2>(1));
        let action = actions.clone().narrow(1, step, 1).reshape([ROWS]);
        state = model.feed_action(action, observed.state);
    }
    let logits = Tensor::cat(logits, 1);
    let values = Tensor::cat(values, 1);
    write_tensor(&dir.join("logits.npy"), logits.clone())?;
    write_tensor(&dir.join("values.npy"), values.clone())?;

    // The losses over the 8 transitions; the 9th value only bootstraps.
    let steps = IMAGINED - 1;
    let rewards = Tensor::<Train, 2>::from_data(TensorData::new(rewards, [ROWS, IMAGINED]), device);
    let continues = Tensor::<Train, 2>::from_data(
        TensorData::new(
            ends.iter()
                .map(|&e| if e { 0.0f32 } else { 1.0 })
                .collect::<Vec<_>>(),
            [ROWS, IMAGINED],
        ),
        device,
    );
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
        Tensor::ones([ROWS, steps], device),
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
    write_gradients(&dir.join("gradients"), &model, &grads)?;
    Ok(())
}
