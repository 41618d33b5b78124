//! Acting in the real environments: the policy reads each frame through the
//! tokenizer's codebook, samples an action at the configured temperature and
//! epsilon, and the pool hands every transition to the episode store.
//!
//! Every action is logged so that a resumed run can rebuild the environments'
//! exact state by replaying them (the environments are deterministic given their
//! seeds), rather than cutting episodes at checkpoints.

use anyhow::Result;
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Tensor, TensorData};
use rand::Rng;
use rem_envs::store::EpisodeStore;
use rem_envs::vector::{EnvPool, PoolEvents};
use rem_envs::{make_envs, EnvMode, Frame};
use serde::{Deserialize, Serialize};

use crate::actor_critic::ActorCriticState;
use crate::batches::{actions_tensor, mask_tensor};
use crate::models::AgentModels;

/// Acting settings.
#[derive(Debug, Clone, Copy)]
pub struct Acting {
    pub temperature: f32,
    pub epsilon: f32,
}

/// Where the acting policy's recurrent state comes from when a collection starts
/// (`collect.policy_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyState {
    /// Kept from the previous collection; reset only where an episode ended.
    Carried,
    /// Started afresh and burnt in on the episode's last stored steps, as REM's
    /// collector does at each call (docs/deviations.md).
    Rebuilt,
}

/// What a checkpoint keeps of the collector.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CollectorLog {
    /// Every action sent to the pool since it was created, one row per step.
    pub actions: Vec<Vec<usize>>,
    /// The policy's recurrent state `(h, c)` as flat values, when it has one.
    pub policy_state: Option<(Vec<f32>, Vec<f32>)>,
    /// Return of each environment's episode in progress.
    pub running_returns: Vec<f32>,
}

/// What one call to [`Collector::collect`] saw.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CollectStats {
    pub steps: usize,
    pub episodes: usize,
    /// Mean return of the episodes that ended during the call, if any did.
    pub mean_return: Option<f32>,
}

pub struct Collector<B: Backend> {
    pool: EnvPool,
    /// The pool's transitions, for the store.
    events: PoolEvents,
    observations: Vec<Frame>,
    policy_state: Option<ActorCriticState<B>>,
    log: CollectorLog,
    n_actions: usize,
}

impl<B: Backend> Collector<B> {
    /// `envs` training environments of `game`, seeded from `seed`.
    pub fn new(game: &str, envs: usize, seed: u64) -> Result<Self> {
        let envs = make_envs(game, EnvMode::Train, seed, envs)?;
        let n_actions = envs[0].action_space().n();
        let mut pool = EnvPool::new(envs, seed);
        let observations = pool.reset_all()?;
        let running_returns = vec![0.0; observations.len()];
        Ok(Self {
            events: pool.record_events(),
            pool,
            observations,
            policy_state: None,
            log: CollectorLog {
                running_returns,
                ..Default::default()
            },
            n_actions,
        })
    }

    /// Rebuilds a collector from its log: same pool seed, every logged action
    /// replayed (without touching any store), the policy state restored.
    pub fn restore(
        game: &str,
        envs: usize,
        seed: u64,
        log: CollectorLog,
        device: &B::Device,
    ) -> Result<Self> {
        let mut collector = Self::new(game, envs, seed)?;
        // The replayed transitions are in the checkpoint's store already.
        collector.pool.stop_recording();
        for actions in &log.actions {
            let steps = collector.pool.step(actions)?;
            collector.observations = steps.iter().map(|s| s.next_obs().clone()).collect();
        }
        collector.events = collector.pool.record_events();
        collector.policy_state = log.policy_state.as_ref().map(|(h, c)| {
            let rows = envs;
            let width = h.len() / rows;
            ActorCriticState {
                h: Tensor::from_data(TensorData::new(h.clone(), [rows, width]), device),
                c: Tensor::from_data(TensorData::new(c.clone(), [rows, width]), device),
            }
        });
        collector.log = log;
        Ok(collector)
    }

    pub fn n_actions(&self) -> usize {
        self.n_actions
    }

    /// The log as a checkpoint needs it.
    pub fn log(&self) -> CollectorLog {
        let mut log = self.log.clone();
        log.policy_state = self.policy_state.as_ref().map(|s| {
            let flat =
                |t: &Tensor<B, 2>| t.clone().into_data().convert::<f32>().into_vec().unwrap();
            (flat(&s.h), flat(&s.c))
        });
        log
    }

    /// Starts the policy afresh and burns it in on the last `steps` stored steps of
    /// each environment's episode in progress, as REM's collector does before each
    /// collection; `feed_actions` as in [`ActorCritic::burn_in`]. An environment
    /// whose episode has just begun starts from the zero state.
    ///
    /// [`ActorCritic::burn_in`]: crate::actor_critic::ActorCritic::burn_in
    pub fn rebuild_policy_state(
        &mut self,
        models: &AgentModels<B>,
        store: &EpisodeStore,
        steps: usize,
        feed_actions: bool,
    ) -> Result<()> {
        let envs = self.observations.len();
        let tails = store.open_episode_tails(&(0..envs).collect::<Vec<_>>(), steps);
        let device = models.tokenizer.codebook().device();
        let latents = models.latents(&tails.frames)?;
        let [_, channels, rows, cols] = latents.dims();
        let latents = latents.reshape([envs, steps, channels, rows, cols]);
        let actions = feed_actions.then(|| actions_tensor(&tails, &device));
        let mask = mask_tensor(&tails, &device);
        self.policy_state = Some(models.actor_critic.burn_in(latents, actions, mask));
        Ok(())
    }

    /// Takes `steps` steps in every environment with the current policy.
    pub fn collect(
        &mut self,
        models: &AgentModels<B>,
        store: &mut EpisodeStore,
        steps: usize,
        acting: Acting,
        rng: &mut impl Rng,
    ) -> Result<CollectStats> {
        let device = models.tokenizer.codebook().device();
        let envs = self.observations.len();
        let mut finished = Vec::new();
        for _ in 0..steps {
            let state = self
                .policy_state
                .take()
                .unwrap_or_else(|| models.actor_critic.initial_state(envs, &device));
            let (sampled, state) = models.act(
                &self.observations,
                state,
                acting.temperature,
                acting.epsilon,
                rng,
            )?;
            let results = self.pool.step(&sampled.taken)?;
            self.events.drain_into(store);
            self.log.actions.push(sampled.taken.clone());

            let mut ended = vec![false; envs];
            for (i, result) in results.iter().enumerate() {
                self.log.running_returns[i] += result.step.reward;
                if result.reset.is_some() {
                    ended[i] = true;
                    finished.push(self.log.running_returns[i]);
                    self.log.running_returns[i] = 0.0;
                }
            }
            let ended = Tensor::<B, 1, Bool>::from_data(TensorData::new(ended, [envs]), &device);
            self.policy_state = Some(state.reset_rows(ended));
            self.observations = results.iter().map(|r| r.next_obs().clone()).collect();
        }
        let mean_return =
            (!finished.is_empty()).then(|| finished.iter().sum::<f32>() / finished.len() as f32);
        Ok(CollectStats {
            steps: steps * envs,
            episodes: finished.len(),
            mean_return,
        })
    }
}

/// `episodes` whole episodes of `game` (training mode: life losses end them) under a
/// uniformly random policy: held-out data for the probes, played afresh rather than
/// taken from a run's store.
pub fn random_episodes(game: &str, episodes: usize, seed: u64) -> Result<EpisodeStore> {
    let mut env = rem_envs::make_env(game, EnvMode::Train, seed)?;
    let n_actions = env.action_space().n();
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    let mut store = EpisodeStore::new(usize::MAX);
    for _ in 0..episodes {
        let (mut obs, _) = env.reset(None)?;
        loop {
            let action = rng.random_range(0..n_actions);
            let step = env.step(action)?;
            let next = step.obs.clone();
            store.push(0, rem_envs::store::Transition::new(obs, action, &step));
            if step.done() {
                store.close_episode(0);
                break;
            }
            obs = next;
        }
    }
    Ok(store)
}
