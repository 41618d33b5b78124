//! The training loop of spec section 5, all in one place: each epoch collects real
//! experience, then trains the tokenizer, the world model and the actor-critic,
//! each from its configured epoch on; evaluates periodically; appends one line of
//! metrics; and checkpoints. Every epoch's randomness is derived from the run seed
//! and the epoch number, so a resumed run continues exactly as an uninterrupted one.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Result};
use burn::module::AutodiffModule;
use burn::optim::Optimizer;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;
use indicatif::ProgressBar;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rem_envs::rng::mix_seed;
use rem_envs::store::{EpisodeStore, Padding};
use rem_worldmodel::tokenizer::{TokenizerTrainer, TokenizerTrainerConfig};
use rem_worldmodel::world_model_trainer::{WorldModelTrainer, WorldModelTrainerConfig};
use serde_json::{json, Map, Value};

use crate::actor_critic_trainer::ActorCriticTrainer;
use crate::batches::{token_batch, TokenCache};
use crate::collect::{Acting, Collector};
use crate::config::RunConfig;
use crate::evaluate::evaluate;
use crate::imagine::FrozenModels;
use crate::models::{AgentModels, ModelShapes};
use crate::play::progress_style;
use crate::run_folder::{Checkpoint, CheckpointContents, OptimizerRecords, Progress, RunFolder};

pub struct Trainer<B: AutodiffBackend> {
    config: RunConfig,
    folder: RunFolder,
    device: B::Device,
    models: AgentModels<B>,
    tokenizer_optim: TokenizerTrainer<B>,
    world_model_optim: WorldModelTrainer<B>,
    actor_critic_optim: ActorCriticTrainer<B>,
    store: EpisodeStore,
    collector: Collector<B::InnerBackend>,
    /// The last completed epoch.
    epoch: usize,
    env_steps: usize,
}

/// A seed for one purpose of one epoch.
fn derive_seed(seed: u64, epoch: usize, purpose: u64) -> u64 {
    mix_seed(mix_seed(seed, epoch as u64), purpose)
}

impl<B: AutodiffBackend> Trainer<B> {
    /// A new run in `run_dir`, which must not hold one already.
    pub fn create(config: RunConfig, run_dir: &Path, device: B::Device) -> Result<Self> {
        let folder = RunFolder::new(run_dir);
        folder.create(&config)?;
        Self::build(config, folder, device)
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
        Ok(trainer)
    }

    fn build(config: RunConfig, folder: RunFolder, device: B::Device) -> Result<Self> {
        B::seed(&device, derive_seed(config.seed, 0, 0));
        let collector = Collector::new(&config.env.game, config.collect.envs, config.seed)?;
        let shapes = ModelShapes::from_config(&config, collector.n_actions())?;
        let models = shapes.init::<B>(&device)?;
        let t = &config.tokenizer.optim;
        let w = &config.world_model;
        Ok(Self {
            tokenizer_optim: TokenizerTrainer::new(TokenizerTrainerConfig {
                learning_rate: t.lr,
                weight_decay: t.weight_decay,
                max_grad_norm: t.grad_clip,
            }),
            world_model_optim: WorldModelTrainer::new(WorldModelTrainerConfig {
                learning_rate: w.optim.lr,
                weight_decay: w.optim.weight_decay as f64,
                max_grad_norm: w.optim.grad_clip,
                context_blocks: w.context_blocks,
            }),
            actor_critic_optim: ActorCriticTrainer::new(&config.actor_critic)?,
            models,
            store: EpisodeStore::new(config.store.max_mib << 20),
            collector,
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

    /// The models without autodiff, for acting and evaluation.
    fn acting_models(&self) -> AgentModels<B::InnerBackend> {
        self.models.valid()
    }

    /// Runs the remaining epochs.
    pub fn run(&mut self) -> Result<()> {
        let epochs = self.config.collect.epochs;
        let bar = ProgressBar::new(epochs as u64).with_style(progress_style());
        bar.set_position(self.epoch as u64);
        while self.epoch < epochs {
            let epoch = self.epoch + 1;
            let metrics = self.run_epoch(epoch, &bar)?;
            self.epoch = epoch;
            bar.inc(1);
            bar.suspend(|| println!("{}", summary_line(&metrics)));
            self.folder.append_metrics(&metrics)?;
            if metrics.get("eval").is_some() {
                crate::plot::write_learning_curve(
                    &self.folder.metrics_file(),
                    &self.folder.learning_curve_file(),
                )?;
            }
            let every = self.config.checkpoint.every_epochs.max(1);
            if epoch % every == 0 || epoch == epochs {
                bar.set_message(format!("epoch {epoch}: checkpoint"));
                self.save_checkpoint()?;
            }
        }
        bar.finish_and_clear();
        Ok(())
    }

    fn run_epoch(&mut self, epoch: usize, bar: &ProgressBar) -> Result<Value> {
        let c = self.config.clone();
        let mut rng = StdRng::seed_from_u64(derive_seed(c.seed, epoch, 1));
        B::seed(&self.device, derive_seed(c.seed, epoch, 2));
        let mut metrics = Map::new();
        let mut seconds = Map::new();
        metrics.insert("epoch".into(), json!(epoch));
        let phase = |name: &str| {
            bar.set_message(format!("epoch {epoch}: {name}"));
            Instant::now()
        };

        if epoch <= c.collect.collect_until_epoch {
            let started = phase("collect");
            let random = epoch <= c.collect.random_until_epoch;
            let acting = Acting {
                temperature: c.collect.temperature,
                epsilon: if random { 1.0 } else { c.collect.epsilon },
            };
            let rounds = c.collect.steps_per_epoch.div_ceil(c.collect.envs);
            let stats = self.collector.collect(
                &self.acting_models(),
                &mut self.store,
                rounds,
                acting,
                &mut rng,
            )?;
            self.env_steps += stats.steps;
            metrics.insert("collect".into(), serde_json::to_value(&stats)?);
            seconds.insert("collect".into(), json!(started.elapsed().as_secs_f64()));
        }
        metrics.insert("env_steps".into(), json!(self.env_steps));

        let t = &c.tokenizer.optim;
        if t.trains_in(epoch) {
            let started = phase("tokenizer");
            let mut sums = Averages::default();
            for step in 1..=t.steps_per_epoch {
                let frames = self
                    .store
                    .sample_segments(&mut rng, t.batch, 1, Padding::Right, 1)?;
                let (model, stats) = self
                    .tokenizer_optim
                    .step(self.models.tokenizer.clone(), &frames.frames)?;
                self.stop_if_not_finite("tokenizer", epoch, step, stats.total, stats.grad_norm)?;
                self.models.tokenizer = model;
                sums.add(&[
                    ("total", stats.total),
                    ("reconstruction", stats.reconstruction),
                    ("codebook", stats.codebook),
                    ("commitment", stats.commitment),
                ]);
            }
            metrics.insert("tokenizer".into(), sums.into_json());
            seconds.insert("tokenizer".into(), json!(started.elapsed().as_secs_f64()));
        }

        // The tokenizer is frozen from here to the end of the epoch.
        let mut token_cache = TokenCache::default();
        let w = &c.world_model;
        if w.optim.trains_in(epoch) {
            let started = phase("world model");
            let tokenizer = self.models.tokenizer.valid();
            let codebook = Tensor::<B, 2>::from_inner(tokenizer.codebook());
            let mut sums = Averages::default();
            for step in 1..=w.optim.steps_per_epoch {
                let segments = self.store.sample_segments(
                    &mut rng,
                    w.optim.batch,
                    w.seq_blocks,
                    Padding::Right,
                    w.context_blocks + 1,
                )?;
                let batch =
                    token_batch::<B>(&tokenizer, &segments, &mut token_cache, &self.device)?;
                let (model, stats) =
                    self.world_model_optim
                        .step(self.models.world_model.clone(), &codebook, &batch);
                self.stop_if_not_finite("world_model", epoch, step, stats.total, stats.grad_norm)?;
                self.models.world_model = model;
                sums.add(&[
                    ("total", stats.total),
                    ("obs", stats.obs),
                    ("reward", stats.reward),
                    ("done", stats.done),
                ]);
            }
            metrics.insert("world_model".into(), sums.into_json());
            seconds.insert("world_model".into(), json!(started.elapsed().as_secs_f64()));
        }

        let a = &c.actor_critic.optim;
        if a.trains_in(epoch) {
            let started = phase("actor-critic");
            let tokenizer = self.models.tokenizer.valid();
            let world_model = self.models.world_model.valid();
            let frozen = FrozenModels::<B> {
                tokenizer: &tokenizer,
                world_model: &world_model,
            };
            let mut sums = Averages::default();
            for step in 1..=a.steps_per_epoch {
                let (model, stats) = self.actor_critic_optim.step(
                    self.models.actor_critic.clone(),
                    &frozen,
                    &self.store,
                    &mut token_cache,
                    &mut rng,
                )?;
                self.stop_if_not_finite("actor_critic", epoch, step, stats.total, stats.grad_norm)?;
                self.models.actor_critic = model;
                sums.add(&[
                    ("total", stats.total),
                    ("policy", stats.policy),
                    ("value", stats.value),
                    ("entropy", stats.entropy),
                    ("imagined_reward", stats.imagined_reward),
                ]);
            }
            metrics.insert("actor_critic".into(), sums.into_json());
            seconds.insert(
                "actor_critic".into(),
                json!(started.elapsed().as_secs_f64()),
            );
        }

        let e = &c.eval;
        let last = epoch == c.collect.epochs;
        if (e.every_epochs > 0 && epoch % e.every_epochs == 0) || last {
            let started = phase("evaluation");
            let episodes = if last { e.final_episodes } else { e.episodes };
            let stats = evaluate(
                &self.acting_models(),
                &c.env.game,
                episodes,
                e.temperature,
                derive_seed(c.seed, epoch, 3),
                &mut rng,
            )?;
            metrics.insert("eval".into(), serde_json::to_value(&stats)?);
            seconds.insert("eval".into(), json!(started.elapsed().as_secs_f64()));
        }
        metrics.insert("seconds".into(), Value::Object(seconds));
        Ok(Value::Object(metrics))
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

    fn save_checkpoint(&self) -> Result<()> {
        self.folder.save_checkpoint(CheckpointContents::<B> {
            models: &self.models,
            optimizers: OptimizerRecords {
                tokenizer: self.tokenizer_optim.optimizer.to_record(),
                world_model: self.world_model_optim.optimizer.to_record(),
                actor_critic: self.actor_critic_optim.optimizer.to_record(),
            },
            store: &self.store,
            progress: &Progress {
                epoch: self.epoch,
                env_steps: self.env_steps,
                n_actions: Some(self.collector.n_actions()),
                collector: self.collector.log(),
            },
        })
    }

    fn load_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        let d = &self.device;
        let shapes = ModelShapes::from_config(&self.config, self.collector.n_actions())?;
        self.models = checkpoint.models(&shapes, d)?;
        let records = checkpoint.optimizers::<B>(d)?;
        let o = &mut self.tokenizer_optim.optimizer;
        *o = o.clone().load_record(records.tokenizer);
        let o = &mut self.world_model_optim.optimizer;
        *o = o.clone().load_record(records.world_model);
        let o = &mut self.actor_critic_optim.optimizer;
        *o = o.clone().load_record(records.actor_critic);
        self.store = checkpoint.store()?;
        let progress = checkpoint.progress()?;
        let c = &self.config;
        self.collector =
            Collector::restore(&c.env.game, c.collect.envs, c.seed, progress.collector, d)?;
        self.epoch = progress.epoch;
        self.env_steps = progress.env_steps;
        Ok(())
    }
}

/// Means of named scalars over an epoch's steps.
#[derive(Default)]
struct Averages {
    sums: Vec<(&'static str, f64)>,
    count: usize,
}

impl Averages {
    fn add(&mut self, values: &[(&'static str, f32)]) {
        if self.sums.is_empty() {
            self.sums = values.iter().map(|&(name, _)| (name, 0.0)).collect();
        }
        for (sum, &(_, value)) in self.sums.iter_mut().zip(values) {
            sum.1 += value as f64;
        }
        self.count += 1;
    }

    fn into_json(self) -> Value {
        let n = self.count.max(1) as f64;
        Value::Object(
            self.sums
                .into_iter()
                .map(|(name, sum)| (name.to_string(), json!(sum / n)))
                .collect(),
        )
    }
}

/// One line per epoch for the terminal.
fn summary_line(m: &Value) -> String {
    let mut parts = vec![format!(
        "epoch {:>4}  steps {:>7}",
        m["epoch"], m["env_steps"]
    )];
    let mut field = |label: &str, value: &Value| {
        if let Some(v) = value.as_f64() {
            parts.push(format!("{label} {v:.4}"));
        }
    };
    field("return", &m["collect"]["mean_return"]);
    field("recon", &m["tokenizer"]["reconstruction"]);
    field("wm_obs", &m["world_model"]["obs"]);
    field("ac_value", &m["actor_critic"]["value"]);
    field("eval", &m["eval"]["mean_return"]);
    parts.join("  ")
}
