//! Does a run's world model see rewards coming, and the frames? Scores the reward head
//! and the predicted frames of a run's checkpoint against the rewards and frames of
//! its own episodes (or fresh ones), teacher-forced (real tokens throughout, as in
//! training) and imagined (from two real blocks on, every frame imagined and stepped
//! with the action really taken); see `rem_agent::foresight`. Frames are set against
//! the forecast that nothing moves (`rem_agent::foresight::frame_scores`).
//!
//!   cargo run --release -p rem-agent --example reward_probe -- --run RUN_DIR [--held-out 3] [--per-step]
//!
//! A head that scores well teacher-forced and poorly imagined sees rewards on real
//! frames that imagination does not draw: the frames, not the head, lose them.

use anyhow::Result;
use burn::backend::Flex;
use burn::tensor::Tensor;
use clap::Parser;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rem_agent::batches::{token_batch_on, TokenCache};
use rem_agent::config::WorldModelSection;
use rem_agent::foresight::frame_scores::MotionScores;
use rem_agent::foresight::{imagined, teacher_forced, ForesightScores, RealSteps, Repeated};
use rem_agent::run_folder::SavedRun;
use rem_agent::terminal::progress::progress_bar;
use rem_agent::training::collect::random_episodes;
use rem_envs::store::EpisodeStore;
use rem_worldmodel::stream::with_thread_stream;

#[derive(Parser)]
struct Args {
    /// A run folder; its latest checkpoint gives the models and the episodes.
    #[arg(long)]
    run: std::path::PathBuf,
    /// One of the run's checkpoint folders instead of its latest.
    #[arg(long)]
    checkpoint: Option<std::path::PathBuf>,
    /// Score on this many fresh episodes of the run's game, played with a uniformly
    /// random policy, instead of the run's own episodes (which the model trained on).
    #[arg(long, default_value_t = 0)]
    held_out: usize,
    /// The imagined frames' sampling temperature instead of the run's
    /// `actor_critic.world_temperature` (0: the most likely tokens).
    #[arg(long)]
    temperature: Option<f32>,
    /// Also score each imagined step on its own (1: the first imagined frame).
    #[arg(long)]
    per_step: bool,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let device = Default::default();
    let run = SavedRun::<Flex>::open(&args.run, args.checkpoint.as_deref(), &device)?;
    let store = match args.held_out {
        0 => run.episodes()?,
        n => random_episodes(&run.config.env.game, n, args.seed.wrapping_add(1))?,
    };
    let c = &run.config.world_model;
    let (rows, blocks, context) = (c.optim.batch, c.seq_blocks, c.context_blocks);
    let scored = blocks - context;
    let temperature = args
        .temperature
        .unwrap_or(run.config.actor_critic.world_temperature);
    let (tokenizer, world_model) = (&run.models.tokenizer, &run.models.world_model);
    let codebook: Tensor<Flex, 2> = tokenizer.codebook();
    let mut cache = TokenCache::default();
    let (mut forced, mut open_loop) = (ForesightScores::default(), ForesightScores::default());
    let mut motion = MotionScores::default();
    // Per imagined step only when asked: each costs a pass over the batch's values.
    let mut by_step = vec![ForesightScores::default(); if args.per_step { scored } else { 0 }];
    // Segments of the world model's length whose scored blocks tile every episode.
    let tiles = store.tile_segments(blocks, scored, context + 1, rows)?;
    let bar = progress_bar(tiles.len() as u64);
    for (i, segments) in tiles.iter().enumerate() {
        bar.inc(1);
        let batch = token_batch_on(tokenizer, segments, &mut cache, &device, 1)?;
        let truth = RealSteps::of(&batch, context)?;
        motion += truth.motion(segments, context);
        // Each way draws its frames from a stream of its own.
        let seed = args.seed.wrapping_add(i as u64);
        let forecast = with_thread_stream(!seed, || {
            teacher_forced(world_model, &codebook, &batch, context, temperature)
        });
        forced.add(&forecast.to_host()?, &truth, Repeated::Before, None);
        let forecast = with_thread_stream(seed, || {
            imagined(world_model, &codebook, &batch, context, temperature)
        })
        .to_host()?;
        open_loop.add(&forecast, &truth, Repeated::LastSeen, None);
        for (step, scores) in by_step.iter_mut().enumerate() {
            scores.add(&forecast, &truth, Repeated::LastSeen, Some(step));
        }
    }
    let episodes = if args.held_out > 0 {
        "fresh random-policy episodes"
    } else {
        "the run's episodes"
    };
    bar.finish_and_clear();
    println!(
        "{} on {episodes} ({} steps in {} episodes), every step after an episode's first \
         {context} scored once, in segments of {blocks} blocks",
        run.checkpoint.dir().display(),
        store.num_steps(),
        store.num_episodes(),
    );
    if c.rewarded_rows > 0 && args.held_out == 0 {
        println!("{}", rewarded_rows_line(&store, c)?);
    }
    println!("{}", motion.line());
    println!(
        "teacher-forced (every block's real tokens; frames drawn at temperature {temperature}):\n{}",
        forced.table(Repeated::Before)
    );
    println!(
        "imagined from {context} real blocks at temperature {temperature}, with the real actions:\n{}",
        open_loop.table(Repeated::LastSeen)
    );
    for (step, scores) in by_step.iter().enumerate() {
        println!(
            "imagined step {}:\n{}",
            step + 1,
            scores.table(Repeated::LastSeen)
        );
    }
    Ok(())
}

/// What undoes the run's rewarded rows on `store`, from one draw of a batch
/// (`rem_envs::store::RewardedSegments`): the importance weights inside and outside the
/// rewarded segments and the shift of each reward sign's logit.
fn rewarded_rows_line(store: &EpisodeStore, c: &WorldModelSection) -> Result<String> {
    let drawn = store.sample_segments_with_rewarded(
        &mut StdRng::seed_from_u64(0),
        c.optim.batch,
        c.seq_blocks,
        c.context_blocks + 1,
        c.rewarded_rows,
        c.context_blocks,
    )?;
    let outside = drawn.row_weights.iter().copied().fold(0.0, f32::max);
    let [negative, zero, positive] = drawn.sign_shift;
    Ok(format!(
        "rewarded rows ({} of {}, correction {:?}) on this store: importance weights {:.4} \
         in the rewarded segments and {outside:.4} outside; sign shifts -1: {negative:+.3}, \
         0: {zero:+.3}, +1: {positive:+.3}",
        c.rewarded_rows, c.optim.batch, c.rewarded_rows_correction, drawn.row_weights[0],
    ))
}
