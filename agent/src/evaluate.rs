//! Evaluation (spec section 6): whole episodes with the evaluation wrappers, the
//! policy sampling at temperature 0.5 without epsilon, all episodes stepped
//! together so that the policy runs batched.

use anyhow::Result;
use burn::tensor::backend::Backend;
use rand::Rng;
use rem_envs::vector::EnvPool;
use rem_envs::{make_env, EnvMode};
use serde::{Deserialize, Serialize};

use crate::models::AgentModels;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalStats {
    pub episodes: usize,
    pub returns: Vec<f32>,
    pub mean_return: f32,
}

/// Plays `episodes` evaluation episodes of `game` at once, seeded from `seed`.
pub fn evaluate<B: Backend>(
    models: &AgentModels<B>,
    game: &str,
    episodes: usize,
    temperature: f32,
    seed: u64,
    rng: &mut impl Rng,
) -> Result<EvalStats> {
    anyhow::ensure!(episodes > 0, "evaluation needs at least one episode");
    let envs = (0..episodes)
        .map(|i| make_env(game, EnvMode::Eval, seed.wrapping_add(i as u64)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut pool = EnvPool::new(envs, seed);
    let discard = pool.events();
    let mut observations = pool.reset_all()?;
    let device = models.tokenizer.codebook().device();
    let mut state = models.actor_critic.initial_state(episodes, &device);
    let mut returns = vec![0.0f32; episodes];
    let mut running = vec![true; episodes];
    while running.iter().any(|&r| r) {
        let (sampled, next_state) = models.act(&observations, state, temperature, 0.0, rng)?;
        state = next_state;
        let results = pool.step(&sampled.taken)?;
        discard.try_iter().for_each(drop);
        for (i, result) in results.iter().enumerate() {
            if running[i] {
                returns[i] += result.step.reward;
                running[i] = !result.step.done();
            }
        }
        // Finished environments keep stepping (the pool resets them); their
        // later rewards are not counted.
        observations = results.iter().map(|r| r.next_obs().clone()).collect();
    }
    let mean_return = returns.iter().sum::<f32>() / episodes as f32;
    Ok(EvalStats {
        episodes,
        returns,
        mean_return,
    })
}

/// What `rem eval` writes to `RUN_DIR/eval.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalReport {
    pub game: String,
    pub checkpoint: String,
    pub episodes: usize,
    pub returns: Vec<f32>,
    pub mean_return: f32,
}

/// Evaluates a run's checkpoint (its latest unless `checkpoint` names one) with
/// the run's own configuration and writes `eval.json` into the run folder.
pub fn evaluate_run<B: Backend>(
    run_dir: &std::path::Path,
    checkpoint: Option<&std::path::Path>,
    episodes: Option<usize>,
    device: &B::Device,
) -> Result<EvalReport> {
    use rand::SeedableRng;

    let crate::models::SavedRun {
        config,
        checkpoint: dir,
        models,
        ..
    } = crate::models::SavedRun::<B>::open(run_dir, checkpoint, device)?;
    let episodes = episodes.unwrap_or(config.eval.final_episodes);
    let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed ^ 0xE7A1);
    let stats = evaluate(
        &models,
        &config.env.game,
        episodes,
        config.eval.temperature,
        config.seed ^ 0xE7A1,
        &mut rng,
    )?;
    let report = EvalReport {
        game: config.env.game.clone(),
        checkpoint: dir.display().to_string(),
        episodes,
        returns: stats.returns,
        mean_return: stats.mean_return,
    };
    let path = run_dir.join("eval.json");
    rem_envs::durable::write_atomically(&path, |w| {
        serde_json::to_writer_pretty(&mut *w, &report).map_err(std::io::Error::other)
    })?;
    Ok(report)
}
