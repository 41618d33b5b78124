//! How fast does a fresh actor-critic learn in a run's imagination? Trains a new
//! controller on the frozen tokenizer and world model of a run's checkpoint, starting
//! its imagined rollouts from the checkpoint's episodes, and evaluates it in the real
//! game every `--eval-every` steps. Settings not given are the run's.
//!
//!   cargo run --release -p rem-agent --example actor_critic_probe -- --run runs/out/catch-seed0
//!
//! Compares actor-critic settings on one world model without collecting or training
//! anything else, a fraction of a training run's time.

use anyhow::Result;
use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::prelude::*;
use clap::Parser;
use rand::SeedableRng;
use rem_agent::actor_critic_trainer::ActorCriticTrainer;
use rem_agent::batches::TokenCache;
use rem_agent::evaluate::evaluate;
use rem_agent::models::AgentModels;
use rem_agent::rollout::FrozenModels;
use rem_agent::run_folder::SavedRun;

type Train = Autodiff<Flex>;

#[derive(Parser)]
struct Args {
    /// A run folder; its latest checkpoint gives the world model and the start episodes.
    #[arg(long)]
    run: std::path::PathBuf,
    #[arg(long, default_value_t = 600)]
    steps: usize,
    #[arg(long, default_value_t = 50)]
    eval_every: usize,
    #[arg(long, default_value_t = 32)]
    eval_episodes: usize,
    #[arg(long)]
    lr: Option<f64>,
    #[arg(long)]
    batch: Option<usize>,
    #[arg(long)]
    horizon: Option<usize>,
    #[arg(long)]
    gamma: Option<f32>,
    #[arg(long)]
    lambda: Option<f32>,
    #[arg(long)]
    entropy_weight: Option<f32>,
    #[arg(long)]
    world_temperature: Option<f32>,
    /// Expected rewards and ends in imagination (`actor_critic.expected_outcomes`).
    #[arg(long)]
    expected_outcomes: Option<bool>,
    /// Channels of the controller's convolutions (default: the run's).
    #[arg(long)]
    conv1: Option<usize>,
    #[arg(long)]
    conv2: Option<usize>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let device = Default::default();
    let run = SavedRun::<Flex>::open(&args.run, None, &device)?;
    let store = run.episodes()?;
    let mut settings = run.config.actor_critic.clone();
    settings.optim.lr = args.lr.unwrap_or(settings.optim.lr);
    settings.optim.batch = args.batch.unwrap_or(settings.optim.batch);
    settings.horizon = args.horizon.unwrap_or(settings.horizon);
    settings.gamma = args.gamma.unwrap_or(settings.gamma);
    settings.lambda = args.lambda.unwrap_or(settings.lambda);
    settings.entropy_weight = args.entropy_weight.unwrap_or(settings.entropy_weight);
    settings.world_temperature = args.world_temperature.unwrap_or(settings.world_temperature);
    settings.expected_outcomes = args.expected_outcomes.unwrap_or(settings.expected_outcomes);
    let mut shape = run.shapes.actor_critic.clone();
    shape.conv1 = args.conv1.unwrap_or(shape.conv1);
    shape.conv2 = args.conv2.unwrap_or(shape.conv2);
    println!(
        "{} start steps in {} episodes; conv {}-{}, lr {} batch {} horizon {} gamma {} lambda {} entropy {} \
         world temperature {} expected outcomes {}",
        store.num_steps(),
        store.num_episodes(),
        shape.conv1,
        shape.conv2,
        settings.optim.lr,
        settings.optim.batch,
        settings.horizon,
        settings.gamma,
        settings.lambda,
        settings.entropy_weight,
        settings.world_temperature,
        settings.expected_outcomes
    );

    <Train as Backend>::seed(&device, args.seed);
    let mut controller = shape.init::<Train>(&device)?;
    let mut trainer = ActorCriticTrainer::<Train>::new(&settings)?;
    let AgentModels {
        tokenizer,
        world_model,
        ..
    } = run.models;
    let frozen = FrozenModels::<Train> {
        tokenizer: &tokenizer,
        world_model: &world_model,
    };
    let mut cache = TokenCache::default();
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let mut eval_rng = rand::rngs::StdRng::seed_from_u64(args.seed + 1);
    let started = std::time::Instant::now();
    let (mut reward, mut entropy, mut count) = (0.0, 0.0, 0);
    for step in 1..=args.steps {
        let (next, stats) = trainer.step(controller, &frozen, &store, &mut cache, &mut rng)?;
        controller = next;
        reward += stats.imagined_reward;
        entropy += stats.entropy;
        count += 1;
        if step % args.eval_every == 0 || step == args.steps {
            let acting = AgentModels {
                tokenizer: tokenizer.clone(),
                world_model: world_model.clone(),
                actor_critic: controller.valid(),
            };
            let eval = evaluate(
                &acting,
                &run.config.env.game,
                args.eval_episodes,
                run.config.eval.temperature,
                args.seed + 2,
                &mut eval_rng,
            )?;
            println!(
                "step {step:5}  imagined reward {:.4}  entropy {:.3}  eval {:.2}  {:.0} s",
                reward / count as f32,
                entropy / count as f32,
                eval.mean_return,
                started.elapsed().as_secs_f64()
            );
            (reward, entropy, count) = (0.0, 0.0, 0);
        }
    }
    Ok(())
}
