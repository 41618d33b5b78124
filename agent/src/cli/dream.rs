//! `rem dream`: imagined rollouts of a checkpoint, decoded to a PNG.

use std::path::PathBuf;

use anyhow::Result;
use burn::backend::Autodiff;
use rem_agent::config::Device;
use rem_agent::outln;
use rem_agent::run_folder::RunFolder;

#[derive(clap::Args)]
pub struct DreamArgs {
    #[arg(long, value_name = "RUN_DIR")]
    run: PathBuf,
    /// A checkpoint folder (default: the run's latest). A folder kept under
    /// RUN_DIR/models/ starts its rollouts from the latest checkpoint's episodes.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    #[arg(long, default_value_t = 8)]
    rollouts: usize,
    /// World-model blocks per rollout, the 2 real context frames included, as
    /// `actor_critic.horizon` counts them (horizon - 1 observations). Past the run's
    /// `world_model.seq_blocks` the model runs beyond its training length.
    #[arg(long, default_value_t = 16)]
    horizon: usize,
    /// Temperature of the world model's token sampling (default: the run's).
    #[arg(long)]
    temperature: Option<f32>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Act with a freshly initialised controller instead of the checkpoint's.
    #[arg(long, conflicts_with = "controller")]
    fresh_controller: bool,
    /// Act with the controller of this checkpoint folder of the run (e.g. one kept
    /// under RUN_DIR/models/) in the dreamt checkpoint's world model: how that world
    /// model rates another policy of the run.
    #[arg(long, value_name = "CHECKPOINT")]
    controller: Option<PathBuf>,
    /// Also act with the controller of this checkpoint folder of the run, from the
    /// same starts with the same seed, and print its imagined return and the
    /// difference rollout by rollout, with a paired interval: whether this world
    /// model rates the two policies apart.
    #[arg(long, value_name = "CHECKPOINT")]
    versus: Option<PathBuf>,
    /// Rewards and ends as the world model's expectations instead of draws, as the
    /// actor-critic trains with `actor_critic.expected_outcomes`: a rare reward still
    /// counts in the imagined return (the rows then show only rewards and ends the
    /// model is sure of).
    #[arg(long)]
    expected_outcomes: bool,
    /// Rollouts drawn in the PNG and listed (the first ones; the reward after each
    /// action counts all).
    #[arg(long, default_value_t = 16)]
    show: usize,
    /// The PNG to write (default: RUN_DIR/dream.png).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, default_value = "cpu")]
    device: Device,
}

pub fn run(args: DreamArgs) -> Result<()> {
    let DreamArgs {
        run,
        checkpoint,
        rollouts,
        horizon,
        temperature,
        seed,
        fresh_controller,
        controller,
        versus,
        expected_outcomes,
        show,
        out,
        device,
    } = args;
    let controller = match (&controller, fresh_controller) {
        (Some(other), _) => rem_agent::dream::Controller::Of(other),
        (None, true) => rem_agent::dream::Controller::Fresh,
        (None, false) => rem_agent::dream::Controller::Own,
    };
    let out = out.unwrap_or_else(|| RunFolder::new(&run).dream_file());
    let settings = rem_agent::dream::DreamSettings {
        rollouts,
        horizon,
        world_temperature: temperature,
        seed,
        controller,
        versus: versus.as_deref().map(rem_agent::dream::Controller::Of),
        expected_outcomes,
        shown: show,
    };
    let dream = with_backend!(device, B => rem_agent::dream::dream_run::<Autodiff<B>>(
        &run, checkpoint.as_deref(), settings, &out, &Default::default()))?;
    for (i, row) in dream.rows.iter().enumerate() {
        outln!("rollout {:>2}  {row}", i + 1);
    }
    outln!("tokenizer codes on the real frames: {}", dream.codes);
    let after: Vec<String> = dream
        .after_action
        .iter()
        .enumerate()
        .map(|(action, a)| format!("{action}: {:+.3} ({} steps)", a.mean, a.steps))
        .collect();
    outln!(
        "imagined reward from each action to the rollout's end: {}",
        after.join(", ")
    );
    outln!(
        "imagined return per rollout ({}): {}",
        if expected_outcomes {
            "expected rewards, each weighted by the chance of getting to it"
        } else {
            "drawn rewards to the first end"
        },
        with_interval(&dream.returns)
    );
    if let (Some(versus), Some(other)) = (&dream.versus, &versus) {
        outln!(
            "with the controller of {} instead, from the same starts and seed: {}",
            other.display(),
            with_interval(&versus.returns)
        );
        outln!(
            "difference (this controller's return minus that one's), paired by rollout: {}",
            with_interval(&versus.difference)
        );
    }
    outln!(
        "wrote {} (each row: {} real frames, then the imagined ones)",
        out.display(),
        rem_agent::dream::REAL_FRAMES_SHOWN
    );
    Ok(())
}

/// `+0.01234 [+0.01000, +0.01500] over 512 rollouts`: five decimals, as rare
/// imagined rewards need.
fn with_interval(returns: &rem_agent::dream::ImaginedReturns) -> String {
    let interval = match returns.interval {
        Some((low, high)) => format!(" [{low:+.5}, {high:+.5}]"),
        None => String::new(),
    };
    format!(
        "{:+.5}{interval} over {} rollouts",
        returns.mean, returns.rollouts
    )
}
