//! `rem fit`: the learning check of the world-model half of the agent. Collects
//! real frames with a random policy, trains the tokenizer, then the world model on
//! the tokenized episodes, printing both losses as they fall, and writes a PNG of
//! original frames above their reconstructions.

use std::path::PathBuf;

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use rand::{Rng, SeedableRng};
use rem_envs::rng::{mix_seed, SplitMix64};
use rem_envs::store::{EpisodeStore, Padding};
use rem_envs::vector::EnvPool;
use rem_envs::{make_envs, EnvMode, FRAME_BYTES};
use rem_worldmodel::tokenizer::{frames_to_tensor, tensor_to_frames, Tokenizer};

use crate::batches::TokenCache;
use crate::config::RunConfig;
use crate::figures::images::write_frame_grid;
use crate::learner::Learner;
use crate::models::ModelShapes;
use crate::terminal::progress::progress_bar;

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
    let (store, n_actions) = collect_random(settings, &mut rng)?;
    let config = fit_config(settings)?;
    let mut learner = Learner::<B>::new(&config, &ModelShapes::small(n_actions), device)?;

    let mut tokenizer_seeds = SplitMix64::new(mix_seed(settings.seed, 1));
    let reconstruction = train_steps("tokenizer", settings.tokenizer_steps, || {
        let dropout_seed = tokenizer_seeds.next_u64();
        let stats = learner.tokenizer_step(&store, &mut rng, dropout_seed)?;
        let line = format!(
            "reconstruction MSE {:.5}  total {:.5}",
            stats.reconstruction, stats.total
        );
        Ok((stats.reconstruction, line))
    })?;
    let tokenizer = learner.models.tokenizer.valid();
    let path = settings.out.join("reconstructions.png");
    write_reconstructions::<B>(&tokenizer, &store, &mut rng, &path, device)?;

    // The world model on the frozen tokenizer's tokens.
    let mut tokens = TokenCache::default();
    let mut dropout_seeds = SplitMix64::new(mix_seed(settings.seed, 3));
    let token_ce = train_steps("world model", settings.world_model_steps, || {
        let dropout_seed = dropout_seeds.next_u64();
        let stats = learner.world_model_step(&store, &mut tokens, &mut rng, dropout_seed)?;
        let line = format!(
            "token CE {:.4}  reward CE {:.4}  done CE {:.4}",
            stats.obs, stats.reward, stats.done
        );
        Ok((stats.obs, line))
    })?;
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

/// The spec's settings with the fit's learning rates (1e-3, for the few steps of a
/// small model), batch and sequence length, and no LPIPS term (the check is of the
/// reconstruction and token losses falling; LPIPS would cost more than the rest).
fn fit_config(settings: &FitSettings) -> Result<RunConfig> {
    let (batch, blocks) = (settings.batch, settings.seq_blocks);
    RunConfig::spec(&[
        "tokenizer.perceptual=none".into(),
        "tokenizer.optim.lr=1e-3".into(),
        format!("tokenizer.optim.batch={batch}"),
        "world_model.optim.lr=1e-3".into(),
        format!("world_model.optim.batch={batch}"),
        format!("world_model.seq_blocks={blocks}"),
        // No actor-critic trains here; its horizon only has to fit the sequences.
        format!("actor_critic.horizon={blocks}"),
    ])
}

/// `steps` steps of one part with a progress bar, a printed line every 50; returns
/// the value each step reports (a loss to watch fall).
fn train_steps(
    part: &str,
    steps: usize,
    mut step: impl FnMut() -> Result<(f32, String)>,
) -> Result<Vec<f32>> {
    let bar = progress_bar(steps as u64);
    let mut values = Vec::with_capacity(steps);
    for i in 0..steps {
        let (value, line) = step()?;
        values.push(value);
        bar.set_message(format!("{part}  {line}"));
        bar.inc(1);
        if i % 50 == 0 || i + 1 == steps {
            bar.suspend(|| crate::outln!("{part} step {i:>5}  {line}"));
        }
    }
    bar.finish_and_clear();
    Ok(values)
}

/// Real experience from a random policy on `envs` parallel environments, and the
/// game's action count.
fn collect_random(settings: &FitSettings, rng: &mut impl Rng) -> Result<(EpisodeStore, usize)> {
    let envs = make_envs(&settings.game, EnvMode::Train, settings.seed, settings.envs)?;
    let n_actions = envs[0].action_space().n();
    let mut pool = EnvPool::new(envs, settings.seed);
    let events = pool.record_events();
    let mut store = EpisodeStore::new(1 << 30);
    pool.reset_all()?;
    let rounds = settings.env_steps.div_ceil(settings.envs);
    let bar = progress_bar(rounds as u64);
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
    crate::outln!(
        "collected {} steps in {} episodes",
        store.num_steps(),
        store.num_episodes()
    );
    Ok((store, n_actions))
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
    crate::outln!(
        "wrote {} (top: real frames, bottom: decoded from 64 tokens each)",
        path.display()
    );
    Ok(())
}
