//! How fast does a fresh actor-critic learn in a run's imagination? Trains a new
//! controller on the frozen tokenizer and world model of a run's checkpoint, starting
//! its imagined rollouts from the checkpoint's episodes, and evaluates it in the real
//! game every `--eval-every` steps. Settings are the run's, changed with `--set`.
//!
//!   cargo run --release -p rem-agent --example actor_critic_probe -- --run runs/out/catch-seed0 \
//!       --set actor_critic.gamma=0.9
//!
//! Compares actor-critic settings on one world model without collecting or training
//! anything else, a fraction of a training run's time.
//!
//! With `--checkpoint DIR --continue-controller` it goes on training the controller of
//! a kept checkpoint (e.g. `RUN/models/epoch-000050`) against that checkpoint's frozen
//! world model: whether the real score holds while the world model stays as it was.

use anyhow::{ensure, Result};
use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::optim::Optimizer;
use burn::prelude::*;
use clap::Parser;
use rand::SeedableRng;
use rem_agent::batches::TokenCache;
use rem_agent::evaluation::{evaluate, Episodes};
use rem_agent::figures::recording::Recording;
use rem_agent::imagination::actor_critic_trainer::ActorCriticTrainer;
use rem_agent::imagination::rollout::FrozenModels;
use rem_agent::models::AgentModels;
use rem_agent::run_folder::SavedRun;

type Train = Autodiff<Flex>;

#[derive(Parser)]
struct Args {
    /// A run folder; its latest checkpoint gives the world model and the start episodes.
    #[arg(long)]
    run: std::path::PathBuf,
    /// Take the models from this checkpoint folder instead (the start episodes still
    /// come from the latest checkpoint when it holds none, as a folder under models/ does).
    #[arg(long)]
    checkpoint: Option<std::path::PathBuf>,
    /// Go on training the checkpoint's controller instead of a fresh one, with its
    /// optimiser state where the folder holds it (kept folders of older runs do not:
    /// Adam's moments then start from zero, which the first line says).
    #[arg(long)]
    continue_controller: bool,
    #[arg(long, default_value_t = 600)]
    steps: usize,
    #[arg(long, default_value_t = 50)]
    eval_every: usize,
    #[arg(long, default_value_t = 32)]
    eval_episodes: usize,
    /// Changes to the run's settings, e.g. `--set actor_critic.gamma=0.9
    /// --set actor_critic.optim.lr=3e-4` (the controller's shape too: `actor_critic.conv1`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let device = Default::default();
    let run = SavedRun::<Train>::open(&args.run, args.checkpoint.as_deref(), &device)?;
    let store = run.episodes()?;
    let (config, shapes) = run.reconfigured(&args.overrides)?;
    ensure!(
        !args.continue_controller
            || format!("{:?}", shapes.actor_critic) == format!("{:?}", run.shapes.actor_critic),
        "--continue-controller goes on with the checkpoint's controller: --set cannot change its shape"
    );
    let settings = config.actor_critic;
    let shape = shapes.actor_critic;
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
    let AgentModels {
        tokenizer,
        world_model,
        actor_critic,
    } = run.models;
    let (tokenizer, world_model) = (tokenizer.valid(), world_model.valid());
    let mut controller = match args.continue_controller {
        true => actor_critic,
        false => shape.init::<Train>(&device)?,
    };
    let mut trainer = ActorCriticTrainer::<Train>::new(&settings)?;
    if args.continue_controller {
        match run.checkpoint.actor_critic_optimizer::<Train>(&device)? {
            Some(record) => {
                trainer.optimizer = trainer.optimizer.load_record(record);
                println!("the controller goes on with its optimiser state");
            }
            None => println!("the folder holds no optimiser state: Adam's moments start from zero"),
        }
    }
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
            let episodes = Episodes {
                game: &run.config.env.game,
                count: args.eval_episodes,
                seed: args.seed + 2,
            };
            let eval = evaluate(
                &acting,
                episodes,
                run.config.eval.temperature,
                &mut eval_rng,
                &mut Recording::none(),
                &mut |_| {},
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
