//! The training loop of algorithm.md, section 5: each epoch collects real experience, then
//! trains the tokenizer, the world model and the actor-critic, each from its
//! configured epoch on; evaluates periodically; appends one line of metrics; and
//! checkpoints. Every epoch's randomness is derived from the run seed and the epoch
//! number, so a resumed run continues exactly as an uninterrupted one. The steps
//! themselves are [`Learner`]'s, the evaluations `crate::evaluation`'s, the files
//! [`RunFolder`]'s.
//!
//! Its parts: `collect` (acting in the real games), `metrics` (one line per epoch)
//! and `interrupt` (stopping cleanly on a signal).

pub mod collect;
pub mod interrupt;
pub mod metrics;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Result};
use burn::tensor::backend::AutodiffBackend;
use indicatif::ProgressBar;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rem_envs::rng::{mix_seed, SplitMix64};
use rem_envs::store::EpisodeStore;

use crate::batches::TokenCache;
use crate::config::RunConfig;
use crate::evaluation::{evaluate, Episodes, EvalStats};
use crate::figures::recording::Recording;
use crate::figures::run_plots::RunPlots;
use crate::learner::Learner;
use crate::models::ModelShapes;
use crate::run_folder::{Checkpoint, CheckpointContents, Progress, RunFolder};
use crate::terminal::progress::progress_bar_from;
use crate::training::collect::{Acting, CollectStats, Collector, PolicyState};
use crate::training::interrupt::StopRequest;
use crate::training::metrics::{EpochMetrics, PhaseMeans, PhaseSums, StepStats};

/// How [`Trainer::run`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// Every epoch of the schedule is done.
    Finished,
    /// Stopped on request after `epoch`, whose checkpoint is the latest.
    Stopped { epoch: usize },
}

pub struct Trainer<B: AutodiffBackend> {
    config: RunConfig,
    folder: RunFolder,
    device: B::Device,
    learner: Learner<B>,
    store: EpisodeStore,
    collector: Collector<B::InnerBackend>,
    /// Tokens of stored frames under the current tokenizer, kept from epoch to epoch
    /// while the tokenizer does not train (runs/atari-cpu freezes it after epoch 10),
    /// so that a frozen tokenizer encodes each frame once instead of once an epoch.
    tokens: TokenCache,
    /// The last completed epoch.
    epoch: usize,
    env_steps: usize,
}

/// The run's random streams. Each epoch draws one seed per stream from the run seed
/// and the epoch number, so that no two uses share a stream: a distinct number each,
/// fixed, since changing one changes the runs that draw from it.
#[derive(Debug, Clone, Copy)]
enum Stream {
    /// The models' initial weights (epoch 0).
    Init = 0,
    /// Segment sampling and action draws: the epoch's host generator.
    Host = 1,
    /// The backend's own generator.
    Backend = 2,
    /// The evaluation's episodes: the seeds of their environments.
    EvalEpisodes = 3,
    /// The tokenizer's dropout (LPIPS's), one seed per step.
    TokenizerDropout = 4,
    /// The world model's dropout, one seed per step. (It drew from `EvalEpisodes`'s
    /// stream before; the files of runs/catch.toml and runs/atari-cpu/ set no dropout,
    /// so their runs are the same either way.)
    WorldModelDropout = 5,
}

/// The seed of one stream in one epoch.
fn derive_seed(seed: u64, epoch: usize, stream: Stream) -> u64 {
    mix_seed(mix_seed(seed, epoch as u64), stream as u64)
}

impl<B: AutodiffBackend> Trainer<B> {
    /// A new run in `run_dir`, which must not hold one already.
    pub fn create(config: RunConfig, run_dir: &Path, device: B::Device) -> Result<Self> {
        let folder = RunFolder::new(run_dir);
        folder.check_free()?;
        // Environments and models first: a run that cannot start leaves no folder.
        let trainer = Self::build(config, folder, device)?;
        trainer.folder.create(&trainer.config)?;
        trainer.folder.append_provenance()?;
        Ok(trainer)
    }

    /// Continues the run in `run_dir` from its latest checkpoint (or from the start
    /// when it has none yet) with `config`: the run's own, or one changed by
    /// overrides (e.g. a smaller learning rate after a non-finite loss), which then
    /// replaces the run's config.toml.
    pub fn resume(config: RunConfig, run_dir: &Path, device: B::Device) -> Result<Self> {
        let folder = RunFolder::new(run_dir);
        folder.update_config(&config)?;
        let latest = folder.latest_checkpoint()?;
        let mut trainer = Self::build(config, folder, device)?;
        if let Some(checkpoint) = latest {
            trainer.load_checkpoint(&checkpoint)?;
        }
        trainer.folder.keep_metrics_through(trainer.epoch)?;
        trainer.folder.append_provenance()?;
        Ok(trainer)
    }

    fn build(config: RunConfig, folder: RunFolder, device: B::Device) -> Result<Self> {
        B::seed(&device, derive_seed(config.seed, 0, Stream::Init));
        let collector = Collector::new(&config.env.game, config.collect.envs, config.seed)?;
        let shapes = ModelShapes::from_config(&config, collector.n_actions())?;
        Ok(Self {
            learner: Learner::new(&config, &shapes, &device)?,
            store: EpisodeStore::new(config.store.max_mib << 20),
            collector,
            tokens: TokenCache::default(),
            epoch: 0,
            env_steps: 0,
            folder,
            device,
            config,
        })
    }

    pub fn run_dir(&self) -> &Path {
        self.folder.root()
    }

    /// Runs the remaining epochs, or stops after the epoch during which `stop` is
    /// asked, with a checkpoint of that epoch written.
    pub fn run(&mut self, stop: &StopRequest) -> Result<RunEnd> {
        let epochs = self.config.collect.epochs;
        let bar = progress_bar_from(epochs as u64, self.epoch as u64);
        while self.epoch < epochs {
            let epoch = self.epoch + 1;
            let metrics = self.run_epoch(epoch, &bar)?;
            self.epoch = epoch;
            bar.inc(1);
            bar.suspend(|| crate::outln!("{}", metrics.summary_line()));
            self.folder.append_metrics(&metrics)?;
            let plots = RunPlots::read(&self.folder.metrics_file())?;
            if metrics.eval.is_some() {
                plots.write_learning_curve(&self.folder.learning_curve_file())?;
            }
            plots.write_losses(&self.folder.losses_file())?;
            let every = self.config.checkpoint.every_epochs.max(1);
            let keep = self.config.checkpoint.keep_models_every_epochs;
            let keeping = keep > 0 && epoch.is_multiple_of(keep);
            let stopping = stop.is_asked() && epoch < epochs;
            if epoch.is_multiple_of(every) || epoch == epochs || stopping || keeping {
                bar.set_message(format!("epoch {epoch}: checkpoint"));
                self.save_checkpoint(keeping)?;
            }
            if stopping {
                bar.finish_and_clear();
                return Ok(RunEnd::Stopped { epoch });
            }
        }
        bar.finish_and_clear();
        Ok(RunEnd::Finished)
    }

    /// One epoch: collect, the three parts' phases, evaluation; each when scheduled.
    fn run_epoch(&mut self, epoch: usize, bar: &ProgressBar) -> Result<EpochMetrics> {
        let c = self.config.clone();
        let mut rng = StdRng::seed_from_u64(derive_seed(c.seed, epoch, Stream::Host));
        B::seed(&self.device, derive_seed(c.seed, epoch, Stream::Backend));
        let mut clock = PhaseClock::new(bar, epoch);
        let mut m = EpochMetrics {
            epoch,
            ..Default::default()
        };
        if epoch <= c.collect.collect_until_epoch {
            m.collect = Some(clock.time("collect", || self.collect(epoch, &mut rng))?);
        }
        m.env_steps = self.env_steps;

        let (t, w, a) = (
            &c.tokenizer.optim,
            &c.world_model.optim,
            &c.actor_critic.optim,
        );
        if t.trains_in(epoch) {
            let mut dropout_seeds =
                SplitMix64::new(derive_seed(c.seed, epoch, Stream::TokenizerDropout));
            m.tokenizer = Some(clock.time("tokenizer", || {
                self.phase("tokenizer", epoch, t.steps_per_epoch, |l, store| {
                    l.tokenizer_step(store, &mut rng, dropout_seeds.next_u64())
                })
            })?);
            self.tokens = TokenCache::default();
        }
        // The tokenizer is frozen from here to the end of the epoch. A cache of more
        // than twice the store's frames holds mostly frames the store has dropped.
        self.tokens.forget_beyond(2 * self.store.num_steps());
        let mut tokens = std::mem::take(&mut self.tokens);
        if w.trains_in(epoch) {
            let mut dropout_seeds =
                SplitMix64::new(derive_seed(c.seed, epoch, Stream::WorldModelDropout));
            m.world_model = Some(clock.time("world_model", || {
                self.phase("world_model", epoch, w.steps_per_epoch, |l, store| {
                    l.world_model_step(store, &mut tokens, &mut rng, dropout_seeds.next_u64())
                })
            })?);
        }
        if a.trains_in(epoch) {
            m.actor_critic = Some(clock.time("actor_critic", || {
                self.phase("actor_critic", epoch, a.steps_per_epoch, |l, store| {
                    l.actor_critic_step(store, &mut tokens, &mut rng)
                })
            })?);
        }
        self.tokens = tokens;

        let e = &c.eval;
        let last = epoch == c.collect.epochs;
        if (e.every_epochs > 0 && epoch.is_multiple_of(e.every_epochs)) || last {
            let episodes = if last { e.final_episodes } else { e.episodes };
            m.eval = Some(clock.time("eval", || self.evaluate(epoch, episodes, &mut rng, bar))?);
        }
        m.seconds = clock.seconds;
        Ok(m)
    }

    /// One epoch of real experience into the store; the first epochs act at random.
    fn collect(&mut self, epoch: usize, rng: &mut StdRng) -> Result<CollectStats> {
        let c = &self.config.collect;
        let random = epoch <= c.random_until_epoch;
        let acting = Acting {
            temperature: c.temperature,
            epsilon: if random { 1.0 } else { c.epsilon },
        };
        let rounds = c.steps_per_epoch.div_ceil(c.envs);
        let models = self.learner.acting_models();
        if c.policy_state == PolicyState::Rebuilt {
            let a = &self.config.actor_critic;
            self.collector.rebuild_policy_state(
                &models,
                &self.store,
                a.burn_in,
                a.burn_in_feeds_actions,
            )?;
        }
        let stats = self
            .collector
            .collect(&models, &mut self.store, rounds, acting, rng)?;
        self.env_steps += stats.steps;
        Ok(stats)
    }

    /// `steps` optimisation steps of one part, each checked for a finite loss and
    /// gradient norm; the means of their statistics.
    fn phase<S: StepStats>(
        &mut self,
        part: &str,
        epoch: usize,
        steps: usize,
        mut step: impl FnMut(&mut Learner<B>, &EpisodeStore) -> Result<S>,
    ) -> Result<PhaseMeans> {
        let mut sums = PhaseSums::default();
        for i in 1..=steps {
            let stats = step(&mut self.learner, &self.store)?;
            self.stop_if_not_finite(part, epoch, i, stats.loss(), stats.grad_norm())?;
            sums.add(&stats);
        }
        Ok(sums.means())
    }

    fn evaluate(
        &self,
        epoch: usize,
        episodes: usize,
        rng: &mut StdRng,
        bar: &ProgressBar,
    ) -> Result<EvalStats> {
        let c = &self.config;
        let episodes = Episodes {
            game: &c.env.game,
            count: episodes,
            seed: derive_seed(c.seed, epoch, Stream::EvalEpisodes),
        };
        evaluate(
            &self.learner.acting_models(),
            episodes,
            c.eval.temperature,
            rng,
            &mut Recording::none(),
            &mut |p| {
                let mean = p.mean_return.map(|m| format!(", mean return {m:.1}"));
                bar.set_message(format!(
                    "epoch {epoch}: eval, {}/{} episodes ended{}",
                    p.ended,
                    p.episodes,
                    mean.unwrap_or_default()
                ))
            },
        )
    }

    /// Stops the run at a loss or gradient norm that is not finite. The step's
    /// update is dropped with the run, so the latest checkpoint stays the last good
    /// state; the error says how to continue from it.
    fn stop_if_not_finite(
        &self,
        part: &str,
        epoch: usize,
        step: usize,
        loss: f32,
        grad_norm: f32,
    ) -> Result<()> {
        let Some((what, value)) = [("loss", loss), ("gradient norm", grad_norm)]
            .into_iter()
            .find(|(_, value)| !value.is_finite())
        else {
            return Ok(());
        };
        let kept = match self.folder.latest_checkpoint()? {
            Some(checkpoint) => format!(
                "its latest checkpoint {} is kept",
                checkpoint.dir().display()
            ),
            None => "it has no checkpoint yet, so it restarts from the beginning".into(),
        };
        bail!(
            "{part} {what} is {value} at epoch {epoch}, step {step}; the run stopped and \
             {kept}: continue with `rem train --resume {} --set {part}.optim.lr=<smaller>`",
            self.run_dir().display()
        )
    }

    /// Writes a checkpoint of the last completed epoch, with a kept copy of its models
    /// when `keep_models`.
    fn save_checkpoint(&self, keep_models: bool) -> Result<()> {
        let contents = CheckpointContents::<B> {
            models: &self.learner.models,
            optimizers: self.learner.optimizer_records(),
            store: &self.store,
            progress: &Progress {
                epoch: self.epoch,
                env_steps: self.env_steps,
                n_actions: Some(self.collector.n_actions()),
                collector: self.collector.log(),
            },
        };
        self.folder.save_checkpoint(contents, keep_models)?;
        Ok(())
    }

    fn load_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        let shapes = ModelShapes::from_config(&self.config, self.collector.n_actions())?;
        self.learner.load(checkpoint, &shapes)?;
        self.store = checkpoint.store()?;
        let progress = checkpoint.progress()?;
        let c = &self.config;
        self.collector = Collector::restore(
            &c.env.game,
            c.collect.envs,
            c.seed,
            progress.collector,
            &self.device,
        )?;
        self.epoch = progress.epoch;
        self.env_steps = progress.env_steps;
        Ok(())
    }
}

/// Times the phases of an epoch and names the running one on the progress bar.
struct PhaseClock<'a> {
    bar: &'a ProgressBar,
    epoch: usize,
    seconds: BTreeMap<String, f64>,
}

impl<'a> PhaseClock<'a> {
    fn new(bar: &'a ProgressBar, epoch: usize) -> Self {
        Self {
            bar,
            epoch,
            seconds: BTreeMap::new(),
        }
    }

    fn time<T>(&mut self, phase: &'static str, run: impl FnOnce() -> Result<T>) -> Result<T> {
        let label = phase.replace('_', " ");
        self.bar
            .set_message(format!("epoch {}: {label}", self.epoch));
        let started = Instant::now();
        let value = run()?;
        self.seconds
            .insert(phase.to_string(), started.elapsed().as_secs_f64());
        Ok(value)
    }
}
