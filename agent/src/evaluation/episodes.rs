//! Playing evaluation episodes (algorithm.md, section 6): whole episodes with the
//! evaluation wrappers, the policy sampling at temperature 0.5 without epsilon, all
//! episodes stepped together so that the policy runs batched. Only the episodes still
//! running are stepped and computed; they draw the random numbers they would draw if
//! the ended ones were computed too, so an episode's actions do not depend on when the
//! others end.

use anyhow::{ensure, Result};
use burn::tensor::backend::Backend;
use rand::{Rng, SeedableRng};
use rem_envs::vector::EnvPool;
use rem_envs::{make_envs, ActionSpace, EnvMode, Frame};
use serde::{Deserialize, Serialize};

use crate::figures::recording::Recording;
use crate::models::AgentModels;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EvalStats {
    pub episodes: usize,
    pub returns: Vec<f32>,
    pub mean_return: f32,
}

/// Where an evaluation stands when one of its episodes ends.
#[derive(Debug, Clone, Copy)]
pub struct EvalProgress {
    /// Episodes ended so far, of `episodes`.
    pub ended: usize,
    pub episodes: usize,
    /// The mean return of the ended episodes (none before the first ends).
    pub mean_return: Option<f32>,
}

/// Told when the episodes start and each time one ends (a progress bar's update).
pub type OnEpisodeEnd<'a> = &'a mut dyn FnMut(EvalProgress);

/// Which evaluation episodes to play: `count` episodes of `game` at once, the
/// environments seeded from `seed`.
#[derive(Debug, Clone, Copy)]
pub struct Episodes<'a> {
    pub game: &'a str,
    pub count: usize,
    pub seed: u64,
}

/// Plays `episodes` with the policy of `models` at `temperature`; `record` keeps the
/// frames of the episodes it asks for.
pub fn evaluate<B: Backend>(
    models: &AgentModels<B>,
    episodes: Episodes<'_>,
    temperature: f32,
    rng: &mut impl Rng,
    record: &mut Recording,
    on_episode_end: OnEpisodeEnd<'_>,
) -> Result<EvalStats> {
    let device = models.tokenizer.codebook().device();
    let mut state = models.actor_critic.initial_state(episodes.count, &device);
    // The episodes whose rows `state` holds: those that ran at the step before.
    let mut state_rows: Vec<usize> = (0..episodes.count).collect();
    play_episodes(episodes, record, on_episode_end, |_| {
        Ok(move |observations: &[Frame], running: &[bool]| {
            if observations.len() < state_rows.len() {
                let kept: Vec<usize> = (0..running.len()).filter(|&e| running[e]).collect();
                let rows: Vec<usize> = kept
                    .iter()
                    .map(|e| {
                        state_rows
                            .binary_search(e)
                            .expect("episodes end, none start")
                    })
                    .collect();
                state = state.clone().keep_rows(&rows);
                state_rows = kept;
            }
            // Tensors are reference-counted: the clone copies no data.
            let (sampled, next) =
                models.act_in_rows(observations, running, state.clone(), temperature, 0.0, rng)?;
            state = next;
            Ok(sampled.taken)
        })
    })
}

/// The same protocol with uniformly random actions: the random-policy score that a
/// run's evaluation is compared with. `actions` names the actions to draw from (all
/// of the game's when empty): a policy that only prefers some actions, with no eye
/// for the screen, scored the same way.
pub fn evaluate_random(
    episodes: Episodes<'_>,
    actions: &[String],
    record: &mut Recording,
    on_episode_end: OnEpisodeEnd<'_>,
) -> Result<EvalStats> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(episodes.seed ^ 0x5A4D);
    play_episodes(episodes, record, on_episode_end, |space| {
        let allowed = action_indices(episodes.game, space, actions)?;
        Ok(move |_: &[Frame], running: &[bool]| {
            // A draw for every episode, ended or not, so that each episode's actions
            // do not depend on when the others end.
            let draws: Vec<usize> = running
                .iter()
                .map(|_| allowed[rng.random_range(0..allowed.len())])
                .collect();
            Ok(draws
                .into_iter()
                .zip(running)
                .filter(|(_, &r)| r)
                .map(|(a, _)| a)
                .collect())
        })
    })
}

/// The indices of the named actions in `space`, or every index when `names` is empty.
fn action_indices(game: &str, space: &ActionSpace, names: &[String]) -> Result<Vec<usize>> {
    if names.is_empty() {
        return Ok((0..space.n()).collect());
    }
    let mut indices = Vec::with_capacity(names.len());
    for name in names {
        let index = space.names.iter().position(|known| known == name);
        let Some(index) = index else {
            anyhow::bail!(
                "{game} has no action {name:?}; its actions are {}",
                space.names.join(", ")
            );
        };
        ensure!(!indices.contains(&index), "action {name} is named twice");
        indices.push(index);
    }
    Ok(indices)
}

/// Steps one evaluation environment per episode, all together, until each has
/// finished one episode; an environment whose episode has ended waits. `policy` is
/// made from the game's actions once the first environment is up. At each step it
/// gets the observations of the episodes still running and which episodes those are
/// (`running`, one flag per episode), and returns one action per observation.
fn play_episodes<Choose>(
    Episodes {
        game,
        count: episodes,
        seed,
    }: Episodes<'_>,
    record: &mut Recording,
    on_episode_end: OnEpisodeEnd<'_>,
    policy: impl FnOnce(&ActionSpace) -> Result<Choose>,
) -> Result<EvalStats>
where
    Choose: FnMut(&[Frame], &[bool]) -> Result<Vec<usize>>,
{
    anyhow::ensure!(episodes > 0, "evaluation needs at least one episode");
    ensure!(
        record.wanted() <= episodes,
        "cannot record {} episodes of {episodes}",
        record.wanted()
    );
    // The first environment alone, so that a bad request fails before the others start.
    let mut envs = make_envs(game, EnvMode::Eval, seed, 1)?;
    let mut choose = policy(envs[0].action_space())?;
    let others = make_envs(game, EnvMode::Eval, seed.wrapping_add(1), episodes - 1)?;
    envs.extend(others);
    let mut pool = EnvPool::new(envs, seed);
    let mut observations = pool.reset_all()?;
    let mut returns = vec![0.0f32; episodes];
    let mut running = vec![true; episodes];
    // The ended episodes' count and summed return, for the progress reports.
    let (mut ended, mut ended_sum) = (0usize, 0.0f32);
    on_episode_end(EvalProgress {
        ended,
        episodes,
        mean_return: None,
    });
    while ended < episodes {
        record.observe(&observations, &running);
        let stepped: Vec<usize> = (0..episodes).filter(|&i| running[i]).collect();
        let seen: Vec<Frame> = stepped.iter().map(|&i| observations[i].clone()).collect();
        let actions = choose(&seen, &running)?;
        ensure!(
            actions.len() == stepped.len(),
            "the policy chose {} actions for {} running episodes",
            actions.len(),
            stepped.len()
        );
        let results = pool.step_only(&stepped, &actions)?;
        for (&i, result) in stepped.iter().zip(&results) {
            returns[i] += result.step.reward;
            observations[i] = result.next_obs().clone();
            if result.step.done() {
                running[i] = false;
                ended += 1;
                ended_sum += returns[i];
                on_episode_end(EvalProgress {
                    ended,
                    episodes,
                    mean_return: Some(ended_sum / ended as f32),
                });
            }
        }
    }
    let mean_return = returns.iter().sum::<f32>() / episodes as f32;
    Ok(EvalStats {
        episodes,
        returns,
        mean_return,
    })
}
