//! Supervised probe of the controller on catch: how many optimiser steps does a fresh
//! actor-critic, reading a run's frozen token latents, need to learn catch's scripted
//! policy (move towards the ball) when it is given the right action as a label?
//!
//! This separates "the controller cannot represent or find the policy quickly" from
//! "imagination gives it too weak a signal": the probe is the easiest version of the
//! actor's task, so an actor-critic phase shorter than the probe's learning time has
//! little chance.
//!
//!   cargo run --release -p rem-agent --example controller_probe -- --run runs/out/catch-seed0
//!
//! Prints the mean cross-entropy and accuracy every 25 steps. The frames come from
//! catch under a uniformly random policy; each is seen once. `--standardize-input
//! true|false` overrides the run's `actor_critic.standardize_input`.

use anyhow::{ensure, Result};
use burn::backend::{Autodiff, Flex};
use burn::optim::{GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use clap::Parser;
use rand::{Rng, SeedableRng};
use rem_agent::run_folder::SavedRun;
use rem_envs::native::Catch;
use rem_envs::Env;
use rem_worldmodel::optim::adamw;
use rem_worldmodel::tokenizer::frames_to_tensor;

type Train = Autodiff<Flex>;

#[derive(Parser)]
struct Args {
    /// A catch run; its latest checkpoint's tokenizer provides the latents.
    #[arg(long)]
    run: std::path::PathBuf,
    #[arg(long, default_value_t = 400)]
    steps: usize,
    #[arg(long, default_value_t = 64)]
    batch: usize,
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Width of the controller's hidden layer and LSTM (default: the run's).
    #[arg(long)]
    width: Option<usize>,
    /// Standardise the latent maps (`actor_critic.standardize_input`; default: the run's).
    #[arg(long)]
    standardize_input: Option<bool>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let device = Default::default();
    let run = SavedRun::<Flex>::open(&args.run, None, &device)?;
    ensure!(
        run.config.env.game == "catch",
        "the probe's labels come from catch's scripted policy; {} is a {} run",
        args.run.display(),
        run.config.env.game
    );
    let tokenizer = run.models.tokenizer;
    let mut controller_config = run.shapes.actor_critic;
    if let Some(width) = args.width {
        controller_config = controller_config.with_hidden(width).with_lstm(width);
    }
    if let Some(standardize) = args.standardize_input {
        controller_config = controller_config.with_standardize_input(standardize);
    }
    <Train as Backend>::seed(&device, args.seed);
    let mut controller = controller_config.init::<Train>(&device)?;
    let mut optimizer = adamw(0.01);

    let mut game = Catch::new();
    game.reset(Some(args.seed))?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let (mut loss_sum, mut accuracy_sum, mut count) = (0.0, 0.0, 0);
    for step in 1..=args.steps {
        let mut frames = Vec::new();
        let mut labels = Vec::new();
        while labels.len() < args.batch {
            let outcome = game.step(rng.random_range(0..3))?;
            if outcome.terminated || outcome.truncated {
                game.reset(None)?;
                continue;
            }
            frames.extend_from_slice(outcome.obs.as_bytes());
            labels.push(game.heuristic_action() as i64);
        }
        let (tokens, _) = tokenizer.encode(frames_to_tensor::<Flex>(&frames, &device)?);
        let latents = Tensor::<Train, 4>::from_inner(tokenizer.embed_tokens_grid(tokens));
        let seen = controller.observe(latents, controller.initial_state(args.batch, &device));
        let labels =
            Tensor::<Train, 1, Int>::from_data(TensorData::new(labels, [args.batch]), &device);
        let log_probs = log_softmax(seen.logits.clone(), 1);
        let loss = log_probs
            .gather(1, labels.clone().unsqueeze_dim(1))
            .mean()
            .neg();
        let correct = seen.logits.argmax(1).reshape([args.batch]).equal(labels);
        accuracy_sum += correct.float().mean().into_scalar().elem::<f32>();
        loss_sum += loss.clone().into_scalar().elem::<f32>();
        count += 1;
        let grads = GradientsParams::from_grads(loss.backward(), &controller);
        controller = optimizer.step(args.lr, controller, grads);
        if step % 25 == 0 || step == args.steps {
            println!(
                "step {step:4}  cross-entropy {:.3}  accuracy {:.3}",
                loss_sum / count as f32,
                accuracy_sum / count as f32
            );
            (loss_sum, accuracy_sum, count) = (0.0, 0.0, 0);
        }
    }
    Ok(())
}
