//! `rem play`: runs a fixed policy (random, for now) on a game and prints episode
//! returns. The quickest check that an environment works end to end.

use anyhow::Result;
use rand::{Rng, SeedableRng};
use rem_envs::{make_env, EnvMode};

use crate::terminal::progress::progress_bar;

/// Plays `episodes` episodes with uniformly random actions; returns their returns.
pub fn play_random(game: &str, episodes: usize, seed: u64) -> Result<Vec<f32>> {
    let mut env = make_env(game, EnvMode::Eval, seed)?;
    let n_actions = env.action_space().n();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let bar = progress_bar(episodes as u64);
    bar.set_message(format!("{game} (random policy)"));
    let mut returns = Vec::with_capacity(episodes);
    for episode in 0..episodes {
        env.reset(Some(seed.wrapping_add(episode as u64)))?;
        let mut total = 0.0;
        loop {
            let step = env.step(rng.random_range(0..n_actions))?;
            total += step.reward;
            if step.done() {
                break;
            }
        }
        bar.suspend(|| crate::outln!("episode {:>4}  return {total:>8.2}", episode + 1));
        returns.push(total);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(returns)
}
