//! How fast does a fresh world model learn a run's game? Trains a new world model on
//! the episodes and with the frozen tokenizer of a run's checkpoint, and reports its
//! losses and how many of its frames' most likely tokens are right
//! (`rem_agent::foresight::frame_scores`) on held-out episodes (fresh ones, played with a
//! uniformly random policy) every `--eval-every` steps, each beside the forecast that
//! nothing moves: its share of right tokens, and its token loss when read as a
//! distribution with one probability of "no change" or one per token slot
//! (`FrameScores::repeated_cross_entropy`). Settings are the run's,
//! changed with `--set`.
//!
//!   cargo run --release -p rem-agent --example world_model_probe -- --run runs/out/catch-seed0
//!
//! Compares world-model settings on identical data in a fraction of a training run's
//! time: the run's tokenizer and store stay fixed, only the world model changes.
//!
//! With `--export DIR` it trains nothing and writes the very batches it would train
//! and score on as NumPy arrays instead, so that another implementation (REM's own
//! PyTorch world model, say) can be trained and scored on identical data:
//! `codebook.npy` `[vocab, d]` f32, and for `train` (`[steps, batch, T]`) and `eval`
//! (`[16, 16, T]`): `{train,eval}_tokens.npy` `[.., T, K]` u16, `_actions` u8,
//! `_rewards` f32, `_ends` u8 (the learner's episode ends), `_mask` u8 (1 = real
//! frame, 0 = padding on the right); and `world_model/PATH.npy`, the initial weights
//! it would train from, one f32 array per parameter named by its module path
//! (`retnet.layers.0.retention.query.weight`; a `Linear` weight is `[in, out]`).

use anyhow::Result;
use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::prelude::*;
use clap::Parser;
use rand::SeedableRng;
use rem_agent::batches::{encode_segments, token_batch, token_batch_on, TokenCache};
use rem_agent::foresight::{teacher_forced, ForesightScores, RealSteps, Repeated};
use rem_agent::run_folder::SavedRun;
use rem_envs::store::{Padding, SegmentBatch};
use rem_worldmodel::tokenizer::Tokenizer;
use rem_worldmodel::world_model::{TokenBatch, WorldModel};
use rem_worldmodel::world_model_trainer::WorldModelTrainer;
use std::path::Path;

#[path = "common/npy.rs"]
mod npy;
use npy::{write_npy, write_parameters};

type Train = Autodiff<Flex>;

#[derive(Parser)]
struct Args {
    /// A run folder; its latest checkpoint gives the tokenizer and the training episodes.
    #[arg(long)]
    run: std::path::PathBuf,
    #[arg(long, default_value_t = 1000)]
    steps: usize,
    #[arg(long, default_value_t = 100)]
    eval_every: usize,
    /// Held-out episodes, played with a uniformly random policy.
    #[arg(long, default_value_t = 20)]
    eval_episodes: usize,
    /// Changes to the run's settings, e.g. `--set world_model.layers=3
    /// --set world_model.optim.lr=1e-3`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write the batches as .npy files to this folder and train nothing.
    #[arg(long)]
    export: Option<std::path::PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let device = Default::default();
    let run = SavedRun::<Flex>::open(&args.run, None, &device)?;
    let store = run.episodes()?;
    let (config, shapes) = run.reconfigured(&args.overrides)?;
    let c = &config.world_model;
    let (batch, seq_blocks) = (c.optim.batch, c.seq_blocks);
    let (context_blocks, lr, threads) = (c.context_blocks, c.optim.lr, c.threads);
    let shape = shapes.world_model;
    <Train as Backend>::seed(&device, args.seed);
    let mut model = shape.init::<Train>(&device);
    let mut trainer = WorldModelTrainer::<Train>::new(c.into());
    println!(
        "{} training steps in {} episodes; world model {:?}, batch {batch} x {seq_blocks} blocks \
         (context {context_blocks}), lr {lr}",
        store.num_steps(),
        store.num_episodes(),
        shape,
    );
    let held_out = rem_agent::training::collect::random_episodes(
        &run.config.env.game,
        args.eval_episodes,
        args.seed + 1,
    )?;
    let mut eval_rng = rand::rngs::StdRng::seed_from_u64(args.seed + 2);
    let tokenizer = run.models.tokenizer;
    let mut probe = Probe {
        codebook: Tensor::from_inner(tokenizer.codebook()),
        tokenizer,
        cache: TokenCache::default(),
        held_out: (0..16)
            .map(|_| {
                let first = context_blocks + 1;
                held_out.sample_segments(&mut eval_rng, 16, seq_blocks, Padding::Right, first)
            })
            .collect::<Result<_, _>>()?,
        context_blocks,
        threads,
        device,
    };

    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let mut next_segments = || {
        let first = context_blocks + 1;
        store.sample_segments(&mut rng, batch, seq_blocks, Padding::Right, first)
    };
    if let Some(dir) = &args.export {
        let train: Vec<SegmentBatch> = (0..args.steps)
            .map(|_| next_segments())
            .collect::<Result<_, _>>()?;
        return probe.export(dir, model, &train);
    }
    let started = std::time::Instant::now();
    let (mut train_obs, mut train_reward, mut count) = (0.0, 0.0, 0);
    for step in 1..=args.steps {
        let segments = next_segments()?;
        let tokens = probe.train_batch(&segments)?;
        let (next, stats) = trainer.step(model, &probe.codebook, &tokens, step as u64);
        model = next;
        train_obs += stats.obs;
        train_reward += stats.reward;
        count += 1;
        if step % args.eval_every == 0 || step == args.steps {
            let scores = probe.score(&model)?;
            let nothing_moves = |per_slot| {
                let frames = &scores.foresight.frames;
                let nats = frames.repeated_cross_entropy(shape.vocab, per_slot);
                nats.unwrap_or(f64::NAN)
            };
            println!(
                "step {step:5}  train obs {:.4} reward {:.4}  held-out obs {:.4} (nothing moves: \
                 {:.4}, per slot {:.4}) reward {:.4} done {:.4}  {:.0} s",
                train_obs / count as f32,
                train_reward / count as f32,
                scores.obs,
                nothing_moves(false),
                nothing_moves(true),
                scores.reward,
                scores.done,
                started.elapsed().as_secs_f64()
            );
            let repeated = "the frame before, repeated";
            println!("{}", scores.foresight.frames.table(repeated));
            (train_obs, train_reward, count) = (0.0, 0.0, 0);
        }
    }
    Ok(())
}

/// What every world model of a probe is trained with and scored on: the run's frozen
/// tokenizer, its token cache and the held-out batches.
struct Probe {
    tokenizer: Tokenizer<Flex>,
    codebook: Tensor<Train, 2>,
    cache: TokenCache,
    /// 16 batches of 16 segments of fresh random-play episodes.
    held_out: Vec<SegmentBatch>,
    context_blocks: usize,
    threads: usize,
    device: burn::tensor::Device<Flex>,
}

/// A world model's mean losses and frame scores over the held-out batches.
struct HeldOutScores {
    obs: f32,
    reward: f32,
    done: f32,
    foresight: ForesightScores,
}

impl Probe {
    fn train_batch(&mut self, segments: &SegmentBatch) -> Result<TokenBatch<Train>> {
        let (tokenizer, cache) = (&self.tokenizer, &mut self.cache);
        token_batch::<Train>(tokenizer, segments, cache, &self.device, self.threads)
    }

    /// Scores `model` without autodiff (no dropout, no graph): its losses, and its
    /// frames' most likely tokens against the real ones.
    fn score(&mut self, model: &WorldModel<Train>) -> Result<HeldOutScores> {
        let (model, codebook) = (model.valid(), self.codebook.clone().inner());
        let context = self.context_blocks;
        let (mut obs, mut reward, mut done) = (0.0, 0.0, 0.0);
        let mut foresight = ForesightScores::default();
        for segments in &self.held_out {
            let (tokenizer, cache) = (&self.tokenizer, &mut self.cache);
            let tokens = token_batch_on(tokenizer, segments, cache, &self.device, self.threads)?;
            let truth = RealSteps::of(&tokens, context)?;
            let forecast = teacher_forced(&model, &codebook, &tokens, context, 0.0);
            foresight.add(&forecast.to_host()?, &truth, Repeated::Before, None);
            let loss = model.loss(&codebook, &tokens, context);
            let scalar = |t: Tensor<Flex, 1>| t.into_scalar().elem::<f32>();
            obs += scalar(loss.obs);
            reward += scalar(loss.reward);
            done += scalar(loss.done);
        }
        let n = self.held_out.len() as f32;
        Ok(HeldOutScores {
            obs: obs / n,
            reward: reward / n,
            done: done / n,
            foresight,
        })
    }

    /// Writes the codebook, the `train` batches and the held-out ones, and the
    /// weights `model` would start training from, to `dir` (the module docs' layout).
    fn export(
        &mut self,
        dir: &Path,
        model: WorldModel<Train>,
        train: &[SegmentBatch],
    ) -> Result<()> {
        let vocab = self.tokenizer.vocab();
        anyhow::ensure!(vocab <= 1 << 16, "tokens are written as u16");
        std::fs::create_dir_all(dir.join("world_model"))?;
        let codes: Vec<f32> = self.tokenizer.codebook().into_data().to_vec()?;
        write_npy(
            &dir.join("codebook.npy"),
            &[vocab, codes.len() / vocab],
            codes,
        )?;
        for (name, batches) in [("train", train), ("eval", &self.held_out)] {
            export_batches(dir, name, batches, &self.tokenizer, &mut self.cache)?;
        }
        // Parameters are drawn at their first use: a forward pass draws them in the
        // order the first training step would, so these are the weights it starts from.
        let first = self.train_batch(&train[0])?;
        model.forward_train(
            &self.codebook,
            first.tokens,
            first.actions,
            self.context_blocks,
        );
        write_parameters(&dir.join("world_model"), &model)?;
        println!(
            "wrote {} training and {} held-out batches to {}",
            train.len(),
            self.held_out.len(),
            dir.display()
        );
        Ok(())
    }
}

/// `DIR/{name}_{tokens,actions,rewards,ends,mask}.npy` of equally shaped `batches`.
fn export_batches(
    dir: &Path,
    name: &str,
    batches: &[SegmentBatch],
    tokenizer: &Tokenizer<Flex>,
    cache: &mut TokenCache,
) -> Result<()> {
    let (n, first) = (batches.len(), &batches[0]);
    let steps = [n, first.batch, first.len];
    let mut tokens: Vec<u16> = Vec::new();
    for segments in batches {
        let encoded = encode_segments(tokenizer, segments, cache, &Default::default(), 1)?;
        let codes = encoded.into_data().convert::<i64>().into_vec::<i64>()?;
        tokens.extend(codes.into_iter().map(|code| code as u16));
    }
    let k = tokens.len() / steps.iter().product::<usize>();
    let path = |field: &str| dir.join(format!("{name}_{field}.npy"));
    let bytes = |field: fn(&SegmentBatch) -> Vec<u8>| batches.iter().flat_map(field).collect();
    let rewards: Vec<f32> = batches.iter().flat_map(|s| s.rewards.clone()).collect();
    write_npy(&path("tokens"), &[n, first.batch, first.len, k], tokens)?;
    write_npy(
        &path("actions"),
        &steps,
        bytes(|s| s.actions.iter().map(|&a| a as u8).collect()),
    )?;
    write_npy(&path("rewards"), &steps, rewards)?;
    write_npy(
        &path("ends"),
        &steps,
        bytes(|s| s.ends.iter().map(|&e| e as u8).collect()),
    )?;
    write_npy(
        &path("mask"),
        &steps,
        bytes(|s| s.mask.iter().map(|&m| m as u8).collect()),
    )?;
    Ok(())
}
