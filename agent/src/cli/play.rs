//! `rem play`: a random policy on any game, episode returns.

use anyhow::Result;
use rem_agent::outln;

#[derive(clap::Args)]
pub struct PlayArgs {
    /// A native game (catch, bricks, dodge) or an Atari-100K game (e.g. Breakout).
    #[arg(long, default_value = "catch")]
    game: String,
    #[arg(long, default_value_t = 20, value_parser = super::at_least_one)]
    episodes: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run(args: PlayArgs) -> Result<()> {
    let PlayArgs {
        game,
        episodes,
        seed,
    } = args;
    let returns = rem_agent::checks::play::play_random(&game, episodes, seed)?;
    let mean = returns.iter().sum::<f32>() / returns.len() as f32;
    outln!(
        "{game}: mean return {mean:.2} over {} episodes (random policy)",
        returns.len()
    );
    Ok(())
}
