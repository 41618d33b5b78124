//! Does a tokenizer pass on what moves? Trains a fresh tokenizer on a run's stored
//! episodes with the run's settings (changed with `--set`) and, every `--eval-every`
//! steps, reports on held-out episodes (fresh ones, played with a uniformly random
//! policy) its reconstruction loss, how many codes it uses and how its tokens follow
//! the pixels (`rem_agent::foresight::frame_scores::MotionScores`): of the token squares whose
//! pixels changed from one step to the next, the share whose token changed too.
//!
//!   cargo run --release -p rem-agent --example tokenizer_probe -- --run RUN_DIR \
//!       [--set tokenizer.vocab=128 --set tokenizer.base_channels=16]
//!
//! A tokenizer that keeps the same token where a sprite moved hides the sprite from
//! the world model: nothing downstream can learn what the tokens do not carry.

use anyhow::Result;
use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::prelude::*;
use clap::Parser;
use rand::SeedableRng;
use rem_agent::foresight::frame_scores::MotionScores;
use rem_agent::foresight::row_spans;
use rem_agent::run_folder::SavedRun;
use rem_agent::training::collect::random_episodes;
use rem_envs::frame::FRAME_BYTES;
use rem_envs::store::{Padding, SegmentBatch};
use rem_worldmodel::tokenizer::{frames_to_tensor, Tokenizer, TokenizerTrainer};

type Train = Autodiff<Flex>;

#[derive(Parser)]
struct Args {
    /// A run folder; its latest checkpoint gives the training episodes.
    #[arg(long)]
    run: std::path::PathBuf,
    #[arg(long, default_value_t = 600)]
    steps: usize,
    #[arg(long, default_value_t = 100)]
    eval_every: usize,
    /// Held-out episodes, played with a uniformly random policy.
    #[arg(long, default_value_t = 4)]
    eval_episodes: usize,
    /// Changes to the run's settings, e.g. `--set tokenizer.vocab=128`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Reconstruction loss, motion scores and the number of distinct codes of `tokenizer`
/// over held-out pairs of consecutive frames.
fn evaluate(
    tokenizer: &Tokenizer<Flex>,
    pairs: &[SegmentBatch],
) -> Result<(f32, MotionScores, usize)> {
    let device = Default::default();
    let (mut reconstruction, mut motion) = (0.0, MotionScores::default());
    let mut codes = std::collections::BTreeSet::new();
    for batch in pairs {
        let frames = frames_to_tensor::<Flex>(&batch.frames, &device)?;
        reconstruction += tokenizer
            .loss(frames.clone())
            .reconstruction
            .into_scalar()
            .elem::<f32>();
        let tokens: Vec<i64> = tokenizer
            .encode(frames)
            .0
            .into_data()
            .convert::<i64>()
            .to_vec()?;
        codes.extend(tokens.iter().copied());
        let k = tokens.len() / (2 * batch.batch); // tokens per frame
        let real: Vec<bool> = batch.mask.chunks(2).map(|row| row[0] && row[1]).collect();
        motion.add(
            &row_spans(&batch.frames, 2, FRAME_BYTES, 1, 1),
            &row_spans(&batch.frames, 2, FRAME_BYTES, 0, 1),
            &row_spans(&tokens, 2, k, 1, 1),
            &row_spans(&tokens, 2, k, 0, 1),
            &real,
        );
    }
    Ok((reconstruction / pairs.len() as f32, motion, codes.len()))
}

fn main() -> Result<()> {
    let args = Args::parse();
    let device = Default::default();
    let run = SavedRun::<Flex>::open(&args.run, None, &device)?;
    let store = run.episodes()?;
    let (config, shapes) = run.reconfigured(&args.overrides)?;
    let batch = config.tokenizer.optim.batch;
    <Train as Backend>::seed(&device, args.seed);
    let mut model: Tokenizer<Train> = shapes.tokenizer.init(&device);
    let mut trainer = TokenizerTrainer::<Train>::new((&config.tokenizer).into());
    println!(
        "{} training frames in {} episodes; tokenizer {:?}, batch {batch}, lr {}",
        store.num_steps(),
        store.num_episodes(),
        shapes.tokenizer,
        config.tokenizer.optim.lr,
    );
    let held_out = random_episodes(&run.config.env.game, args.eval_episodes, args.seed + 1)?;
    let mut eval_rng = rand::rngs::StdRng::seed_from_u64(args.seed + 2);
    let pairs: Vec<SegmentBatch> = (0..16)
        .map(|_| held_out.sample_segments(&mut eval_rng, 16, 2, Padding::Right, 2))
        .collect::<Result<_, _>>()?;

    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let started = std::time::Instant::now();
    let (mut train_reconstruction, mut count) = (0.0, 0);
    for step in 1..=args.steps {
        let frames = store.sample_segments(&mut rng, batch, 1, Padding::Right, 1)?;
        let (next, stats) = trainer.step(model, &frames.frames, step as u64)?;
        model = next;
        train_reconstruction += stats.reconstruction;
        count += 1;
        if step % args.eval_every == 0 || step == args.steps {
            let (reconstruction, motion, codes) = evaluate(&model.valid(), &pairs)?;
            println!(
                "step {step:5}  train reconstruction {:.5}  held-out reconstruction {:.5}  \
                 codes in use {codes} of {}  {:.0} s",
                train_reconstruction / count as f32,
                reconstruction,
                config.tokenizer.vocab,
                started.elapsed().as_secs_f64()
            );
            println!("{}", motion.line());
            (train_reconstruction, count) = (0.0, 0);
        }
    }
    Ok(())
}
