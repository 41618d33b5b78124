//! `rem bench phases`: seconds per optimisation step of each part at a run
//! configuration's sizes and batches (the spec's by default), and the epoch and the
//! run they add up to under that configuration's schedule.
//!
//! The steps are the trainer's own ([`Learner`]) on a store of random frames; each
//! step starts with an empty token cache, so the world-model and actor-critic steps
//! include encoding their frames, as at the start of an epoch. Acting is the policy's
//! forward pass for one step of every environment (`collect.envs` frames); the
//! environments' own time is not included (see the env_throughput bench).

use std::fmt;

use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rem_envs::store::{EpisodeStore, Transition};
use rem_envs::{Frame, FRAME_BYTES};

use super::{time_calls, CallTimes};
use crate::batches::TokenCache;
use crate::config::{OptimSection, RunConfig};
use crate::learner::Learner;
use crate::models::ModelShapes;

#[derive(Debug, Clone)]
pub struct PhasesBench {
    /// Sizes, batches and schedule (the spec's: `RunConfig::default()`).
    pub config: RunConfig,
    pub n_actions: usize,
    /// Timed steps of each phase, after one warm-up step.
    pub iterations: usize,
    pub seed: u64,
}

#[derive(Debug, Clone)]
pub struct PhaseTiming {
    /// `acting`, `tokenizer`, `world_model` or `actor_critic`.
    pub phase: &'static str,
    /// What one step processes, e.g. "64 x 10 blocks".
    pub work: String,
    pub seconds_per_step: f64,
    /// The untimed first step (on a GPU it compiles the kernels, and can take minutes).
    pub warm_up_seconds: f64,
    /// Steps in an epoch where the phase runs.
    pub steps_per_epoch: usize,
    /// Epochs of the schedule in which the phase runs.
    pub epochs: usize,
}

#[derive(Debug, Clone)]
pub struct PhasesReport {
    pub timings: Vec<PhaseTiming>,
    /// An epoch in which every phase runs.
    pub epoch_seconds: f64,
    /// The whole schedule: each epoch counts the phases that run in it.
    pub run_seconds: f64,
    pub epochs: usize,
}

/// Times each phase, then projects the epoch and the run.
pub fn run_phases_bench<B: AutodiffBackend>(
    bench: &PhasesBench,
    device: &B::Device,
    mut report: impl FnMut(&PhaseTiming),
) -> Result<PhasesReport> {
    let c = &bench.config;
    B::seed(device, bench.seed);
    let mut rng = StdRng::seed_from_u64(bench.seed);
    let shapes = ModelShapes::from_config(c, bench.n_actions)?;
    let mut learner = Learner::<B>::new(c, &shapes, device)?;
    let store = random_store(&mut rng, bench.n_actions, 1_000);

    let (t, w, a) = (&c.tokenizer.optim, &c.world_model, &c.actor_critic);
    let epochs_where =
        |runs: &dyn Fn(usize) -> bool| (1..=c.collect.epochs).filter(|&e| runs(e)).count();
    let acting = time_acting(&learner, c, bench.iterations, &mut rng)?;
    let mut timings = vec![PhaseTiming {
        phase: "acting",
        work: format!("{} env(s), one step", c.collect.envs),
        seconds_per_step: acting.seconds_per_call,
        warm_up_seconds: acting.warm_up_seconds,
        steps_per_epoch: c.collect.steps_per_epoch.div_ceil(c.collect.envs),
        epochs: c.collect.collect_until_epoch,
    }];
    report(&timings[0]);
    let mut time =
        |phase, work: String, optim: &OptimSection, step: &mut dyn FnMut() -> Result<()>| {
            let times = time_calls(bench.iterations, &mut *step)?;
            let timing = PhaseTiming {
                phase,
                work,
                seconds_per_step: times.seconds_per_call,
                warm_up_seconds: times.warm_up_seconds,
                steps_per_epoch: optim.steps_per_epoch,
                epochs: epochs_where(&|epoch| optim.trains_in(epoch)),
            };
            report(&timing);
            timings.push(timing);
            anyhow::Ok(())
        };
    time("tokenizer", format!("{} frames", t.batch), t, &mut || {
        learner.tokenizer_step(&store, &mut rng, 0).map(drop)
    })?;
    let work = format!("{} x {} blocks", w.optim.batch, w.seq_blocks);
    time("world_model", work, &w.optim, &mut || {
        let mut tokens = TokenCache::default();
        learner
            .world_model_step(&store, &mut tokens, &mut rng, 0)
            .map(drop)
    })?;
    let work = format!("{} rows, horizon {}", a.optim.batch, a.horizon);
    time("actor_critic", work, &a.optim, &mut || {
        let mut tokens = TokenCache::default();
        learner
            .actor_critic_step(&store, &mut tokens, &mut rng)
            .map(drop)
    })?;
    Ok(project(c, timings))
}

/// The policy's forward pass for one step of `collect.envs` environments.
fn time_acting<B: AutodiffBackend>(
    learner: &Learner<B>,
    c: &RunConfig,
    iterations: usize,
    rng: &mut StdRng,
) -> Result<CallTimes<()>> {
    let models = learner.acting_models();
    let device = models.tokenizer.codebook().device();
    let frames: Vec<Frame> = (0..c.collect.envs).map(|_| random_frame(rng)).collect();
    let mut state = Some(models.actor_critic.initial_state(frames.len(), &device));
    let (temperature, epsilon) = (c.collect.temperature, c.collect.epsilon);
    // Many steps per iteration: one is milliseconds.
    time_calls(20 * iterations, || {
        let previous = state.take().expect("each step puts the state back");
        let (_, next) = models.act(&frames, previous, temperature, epsilon, rng)?;
        state = Some(next);
        Ok(())
    })
}

/// Seconds of an epoch with every phase, and of the whole schedule.
fn project(c: &RunConfig, timings: Vec<PhaseTiming>) -> PhasesReport {
    let cost = |t: &PhaseTiming| t.seconds_per_step * t.steps_per_epoch as f64;
    let epoch_seconds = timings.iter().map(cost).sum();
    let run_seconds = timings.iter().map(|t| cost(t) * t.epochs as f64).sum();
    PhasesReport {
        timings,
        epoch_seconds,
        run_seconds,
        epochs: c.collect.epochs,
    }
}

/// Episodes of 200 random frames and actions, `steps` in all.
fn random_store(rng: &mut StdRng, n_actions: usize, steps: usize) -> EpisodeStore {
    let mut store = EpisodeStore::new(steps * FRAME_BYTES * 2);
    for i in 0..steps {
        let end = (i + 1) % 200 == 0;
        let transition = Transition {
            obs: random_frame(rng),
            action: rng.random_range(0..n_actions),
            reward: rng.random_range(-1.0..1.0),
            terminated: end,
            truncated: false,
            life_lost: false,
        };
        store.push(0, transition); // a terminal step closes the episode
    }
    store
}

fn random_frame(rng: &mut StdRng) -> Frame {
    Frame::from_bytes((0..FRAME_BYTES).map(|_| rng.random()).collect())
}

/// ```text
/// tokenizer     16 frames                 0.2055 s/step  x   60 =     12.33 s/epoch  (warm-up 0.2 s)
/// ```
impl fmt::Display for PhaseTiming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<13} {:<22} {:>9.4} s/step  x {:>4} = {:>9.2} s/epoch  (warm-up {:.1} s)",
            self.phase,
            self.work,
            self.seconds_per_step,
            self.steps_per_epoch,
            self.seconds_per_step * self.steps_per_epoch as f64,
            self.warm_up_seconds
        )
    }
}

impl fmt::Display for PhasesReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "epoch with every phase: {:.1} s; the {}-epoch schedule: {:.2} h",
            self.epoch_seconds,
            self.epochs,
            self.run_seconds / 3600.0
        )
    }
}
