//! `rem fit`: the learning check of the world-model half of the agent. Collects
//! real frames with a random policy, trains the tokenizer, then the world model on
//! the tokenized episodes, printing both losses as they fall, and writes a PNG of
//! original frames above their reconstructions.

use std::path::PathBuf;

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;
use indicatif::ProgressBar;
use rand::{Rng, SeedableRng};
use rem_envs::store::{EpisodeStore, Padding};
use rem_envs::vector::EnvPool;
use rem_envs::{make_env, EnvMode, FRAME_BYTES};
use rem_worldmodel::tokenizer::{
    frames_to_tensor, tensor_to_frames, Tokenizer, TokenizerTrainer, TokenizerTrainerConfig,
};
use rem_worldmodel::world_model_trainer::{WorldModelTrainer, WorldModelTrainerConfig};

use crate::batches::{token_batch, TokenCache};
use crate::images::write_frame_grid;
use crate::models::ModelShapes;
use crate::play::progress_style;

/// What `rem fit` collects and trains.
#[derive(Debug, Clone, clap::Args)]
pub struct FitSettings {
    /// A native game or an Atari-100K game.
    #[arg(long, default_value = "catch")]
    pub game: String,
    /// Environments collecting in parallel.
    #[arg(long, default_value_t = 4)]
    pub envs: usize,
    #[arg(long, default_value_t = 4000)]
    pub env_steps: usize,
    #[arg(long, default_value_t = 400)]
    pub tokenizer_steps: usize,
    #[arg(long, default_value_t = 400)]
    pub world_model_steps: usize,
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Blocks per world-model training sequence (the first two are context).
    #[arg(long, default_value_t = 6)]
    pub seq_blocks: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Folder for the outputs (reconstructions.png).
    #[arg(long, default_value = "runs/out/fit")]
    pub out: PathBuf,
}

/// Losses at the start and at the end of each phase.
#[derive(Debug, Clone, Copy)]
pub struct FitReport {
    pub reconstruction_first: f32,
    pub reconstruction_last: f32,
    pub token_ce_first: f32,
    pub token_ce_last: f32,
}

pub fn fit<B: AutodiffBackend>(settings: &FitSettings, device: &B::Device) -> Result<FitReport> {
    B::seed(device, settings.seed);
    let mut rng = rand::rngs::StdRng::seed_from_u64(settings.seed);
    let store = collect_random(settings, &mut rng)?;
    let n_actions = make_env(&settings.game, EnvMode::Train, settings.seed)?
        .action_space()
        .n();
    let shapes = ModelShapes::small(n_actions);
    let (tokenizer_config, world_model_config) = (shapes.tokenizer, shapes.world_model);

    // Tokenizer.
    let mut tokenizer = tokenizer_config.init::<B>(device);
    let mut trainer = TokenizerTrainer::<B>::new(TokenizerTrainerConfig {
        learning_rate: 1e-3,
        ..Default::default()
    });
    let bar = ProgressBar::new(settings.tokenizer_steps as u64).with_style(progress_style());
    let mut reconstruction = Vec::new();
    for step in 0..settings.tokenizer_steps {
        let frames = store.sample_segments(&mut rng, settings.batch, 1, Padding::Right, 1)?;
        let (next, stats) = trainer.step(tokenizer, &frames.frames)?;
        tokenizer = next;
        reconstruction.push(stats.reconstruction);
        bar.set_message(format!(
            "tokenizer  reconstruction MSE {:.4}",
            stats.reconstruction
        ));
        bar.inc(1);
        if step % 50 == 0 || step + 1 == settings.tokenizer_steps {
            bar.suspend(|| {
                println!(
                    "tokenizer step {step:>5}  reconstruction MSE {:.5}  total {:.5}",
                    stats.reconstruction, stats.total
                )
            });
        }
    }
    bar.finish_and_clear();
    let tokenizer = tokenizer.valid();
    write_reconstructions::<B>(
        &tokenizer,
        &store,
        &mut rng,
        &settings.out.join("reconstructions.png"),
        device,
    )?;

    // World model on the frozen tokenizer's tokens.
    let mut world_model = world_model_config.init::<B>(device);
    let mut trainer = WorldModelTrainer::<B>::new(WorldModelTrainerConfig {
        learning_rate: 1e-3,
        ..Default::default()
    });
    let codebook = Tensor::<B, 2>::from_inner(tokenizer.codebook());
    let bar = ProgressBar::new(settings.world_model_steps as u64).with_style(progress_style());
    let mut token_cache = TokenCache::default();
    let mut token_ce = Vec::new();
    for step in 0..settings.world_model_steps {
        let segments = store.sample_segments(
            &mut rng,
            settings.batch,
            settings.seq_blocks,
            Padding::Right,
            trainer.config().context_blocks + 1,
        )?;
        let batch = token_batch::<B>(&tokenizer, &segments, &mut token_cache, device)?;
        let (next, stats) = trainer.step(world_model, &codebook, &batch);
        world_model = next;
        token_ce.push(stats.obs);
        bar.set_message(format!("world model  token CE {:.4}", stats.obs));
        bar.inc(1);
        if step % 50 == 0 || step + 1 == settings.world_model_steps {
            bar.suspend(|| {
                println!(
                    "world model step {step:>5}  token CE {:.4}  reward CE {:.4}  done CE {:.4}",
                    stats.obs, stats.reward, stats.done
                )
            });
        }
    }
    bar.finish_and_clear();
    let average = |v: &[f32]| v.iter().sum::<f32>() / v.len().max(1) as f32;
    let window = |v: &Vec<f32>| (v.len() / 10).max(1);
    Ok(FitReport {
        reconstruction_first: average(&reconstruction[..window(&reconstruction)]),
        reconstruction_last: average(
            &reconstruction[reconstruction.len() - window(&reconstruction)..],
        ),
        token_ce_first: average(&token_ce[..window(&token_ce)]),
        token_ce_last: average(&token_ce[token_ce.len() - window(&token_ce)..]),
    })
}

/// Real experience from a random policy on `envs` parallel environments.
fn collect_random(settings: &FitSettings, rng: &mut impl Rng) -> Result<EpisodeStore> {
    let envs = (0..settings.envs)
        .map(|i| make_env(&settings.game, EnvMode::Train, settings.seed + i as u64))
        .collect::<Result<Vec<_>, _>>()?;
    let n_actions = envs[0].action_space().n();
    let mut pool = EnvPool::new(envs, settings.seed);
    let events = pool.record_events();
    let mut store = EpisodeStore::new(1 << 30);
    pool.reset_all()?;
    let rounds = settings.env_steps.div_ceil(settings.envs);
    let bar = ProgressBar::new(rounds as u64).with_style(progress_style());
    bar.set_message(format!(
        "collecting {} random steps of {}",
        rounds * settings.envs,
        settings.game
    ));
    for _ in 0..rounds {
        let actions: Vec<usize> = (0..settings.envs)
            .map(|_| rng.random_range(0..n_actions))
            .collect();
        pool.step(&actions)?;
        events.drain_into(&mut store);
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!(
        "collected {} steps in {} episodes",
        store.num_steps(),
        store.num_episodes()
    );
    Ok(store)
}

fn write_reconstructions<B: AutodiffBackend>(
    tokenizer: &Tokenizer<B::InnerBackend>,
    store: &EpisodeStore,
    rng: &mut impl Rng,
    path: &std::path::Path,
    device: &B::Device,
) -> Result<()> {
    let originals = store.sample_segments(rng, 8, 1, Padding::Right, 1)?.frames;
    let decoded = tokenizer.reconstruct(frames_to_tensor::<B::InnerBackend>(&originals, device)?);
    let decoded = tensor_to_frames(decoded);
    debug_assert_eq!(decoded.len(), 8 * FRAME_BYTES);
    write_frame_grid(path, &[originals, decoded])?;
    println!(
        "wrote {} (top: real frames, bottom: decoded from 64 tokens each)",
        path.display()
    );
    Ok(())
}
