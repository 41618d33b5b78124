//! The training loop of spec section 5, all in one place: each epoch collects real
//! experience, then trains the tokenizer, the world model and the actor-critic,
//! each from its configured epoch on; evaluates periodically; appends one line of
//! metrics; and checkpoints. Every epoch's randomness is derived from the run seed
//! and the epoch number, so a resumed run continues exactly as an uninterrupted one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use burn::module::{AutodiffModule, Module};
use burn::optim::Optimizer;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;
use indicatif::ProgressBar;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rem_envs::rng::mix_seed;
use rem_envs::store::{EpisodeStore, Padding};
use rem_worldmodel::tokenizer::{Tokenizer, TokenizerTrainer, TokenizerTrainerConfig};
use rem_worldmodel::world_model::WorldModel;
use rem_worldmodel::world_model_trainer::{WorldModelTrainer, WorldModelTrainerConfig};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::actor_critic::ActorCritic;
use crate::actor_critic_trainer::ActorCriticTrainer;
use crate::batches::{token_batch, TokenCache};
use crate::checkpoint::{self, CheckpointWriter};
use crate::collect::{Acting, Collector, CollectorLog};
use crate::config::RunConfig;
use crate::evaluate::evaluate;
use crate::imagine::FrozenModels;
use crate::models::{AgentModels, ModelShapes};
use crate::play::progress_style;

pub const CONFIG_FILE: &str = "config.toml";
pub const METRICS_FILE: &str = "metrics.jsonl";

/// What a checkpoint keeps besides models, optimisers and the store.
#[derive(Debug, Serialize, Deserialize)]
struct TrainerState {
    epoch: usize,
    env_steps: usize,
    collector: CollectorLog,
}

pub struct Trainer<B: AutodiffBackend> {
    config: RunConfig,
    run_dir: PathBuf,
    device: B::Device,
    tokenizer: Tokenizer<B>,
    world_model: WorldModel<B>,
    actor_critic: ActorCritic<B>,
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
        if run_dir.join(CONFIG_FILE).exists() {
            bail!(
                "{} already holds a run; continue it with `rem train --resume {0}`",
                run_dir.display()
            );
        }
        std::fs::create_dir_all(run_dir)
            .with_context(|| format!("cannot create {}", run_dir.display()))?;
        std::fs::write(run_dir.join(CONFIG_FILE), config.to_toml())?;
        std::fs::write(run_dir.join(METRICS_FILE), "")?;
        Self::build(config, run_dir, device)
    }

    /// Continues the run in `run_dir` from its latest checkpoint (or from the start
    /// when it has none yet) with `config`: the run's own, or one changed by
    /// overrides (e.g. a smaller learning rate after a non-finite loss), which then
    /// replaces the run's config.toml.
    pub fn resume(config: RunConfig, run_dir: &Path, device: B::Device) -> Result<Self> {
        let config_path = run_dir.join(CONFIG_FILE);
        let text = config.to_toml();
        if std::fs::read_to_string(&config_path).ok().as_deref() != Some(text.as_str()) {
            rem_envs::durable::write_atomically(&config_path, |w| w.write_all(text.as_bytes()))?;
        }
        let mut trainer = Self::build(config, run_dir, device)?;
        if let Some(dir) = checkpoint::latest(run_dir)? {
            trainer.load_checkpoint(&dir)?;
        }
        trainer.truncate_metrics()?;
        Ok(trainer)
    }

    fn build(config: RunConfig, run_dir: &Path, device: B::Device) -> Result<Self> {
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
            tokenizer: models.tokenizer,
            world_model: models.world_model,
            actor_critic: models.actor_critic,
            store: EpisodeStore::new(config.store.max_mib << 20),
            collector,
            epoch: 0,
            env_steps: 0,
            run_dir: run_dir.to_path_buf(),
            device,
            config,
        })
    }

    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// The models without autodiff, for acting and evaluation.
    fn acting_models(&self) -> AgentModels<B::InnerBackend> {
        AgentModels {
            tokenizer: self.tokenizer.valid(),
            world_model: self.world_model.valid(),
            actor_critic: self.actor_critic.valid(),
        }
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
            self.append_metrics(&metrics)?;
            if metrics.get("eval").is_some() {
                crate::plot::write_learning_curve(
                    &self.run_dir.join(METRICS_FILE),
                    &self.run_dir.join("learning_curve.svg"),
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
                    .step(self.tokenizer.clone(), &frames.frames)?;
                self.stop_if_not_finite("tokenizer", epoch, step, stats.total, stats.grad_norm)?;
                self.tokenizer = model;
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
            let tokenizer = self.tokenizer.valid();
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
                        .step(self.world_model.clone(), &codebook, &batch);
                self.stop_if_not_finite("world_model", epoch, step, stats.total, stats.grad_norm)?;
                self.world_model = model;
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
            let tokenizer = self.tokenizer.valid();
            let world_model = self.world_model.valid();
            let frozen = FrozenModels::<B> {
                tokenizer: &tokenizer,
                world_model: &world_model,
            };
            let mut sums = Averages::default();
            for step in 1..=a.steps_per_epoch {
                let (model, stats) = self.actor_critic_optim.step(
                    self.actor_critic.clone(),
                    &frozen,
                    &self.store,
                    &mut token_cache,
                    &mut rng,
                )?;
                self.stop_if_not_finite("actor_critic", epoch, step, stats.total, stats.grad_norm)?;
                self.actor_critic = model;
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
        let kept = match checkpoint::latest(&self.run_dir)? {
            Some(dir) => format!("its latest checkpoint {} is kept", dir.display()),
            None => "it has no checkpoint yet, so it restarts from the beginning".into(),
        };
        bail!(
            "{part} {what} is {value} at epoch {epoch}, step {step}; the run stopped and \
             {kept}: continue with `rem train --resume {} --set {part}.optim.lr=<smaller>`",
            self.run_dir.display()
        )
    }

    fn append_metrics(&self, metrics: &Value) -> Result<()> {
        let path = self.run_dir.join(METRICS_FILE);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)?;
        writeln!(file, "{metrics}")?;
        file.sync_all()?;
        Ok(())
    }

    /// Drops metric lines of epochs after the last checkpoint: they are redone.
    fn truncate_metrics(&self) -> Result<()> {
        let path = self.run_dir.join(METRICS_FILE);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let kept: String = text
            .lines()
            .filter(|line| {
                serde_json::from_str::<Value>(line)
                    .ok()
                    .and_then(|v| v["epoch"].as_u64())
                    .is_some_and(|e| e as usize <= self.epoch)
            })
            .map(|line| format!("{line}\n"))
            .collect();
        rem_envs::durable::write_atomically(&path, |w| w.write_all(kept.as_bytes()))?;
        Ok(())
    }

    fn save_checkpoint(&self) -> Result<()> {
        let writer = CheckpointWriter::begin(&self.run_dir, self.epoch)?;
        writer.write_record::<B, _>("tokenizer.bin", self.tokenizer.clone().into_record())?;
        writer.write_record::<B, _>("world_model.bin", self.world_model.clone().into_record())?;
        writer.write_record::<B, _>("actor_critic.bin", self.actor_critic.clone().into_record())?;
        writer.write_record::<B, _>(
            "tokenizer_optim.bin",
            self.tokenizer_optim.optimizer.to_record(),
        )?;
        writer.write_record::<B, _>(
            "world_model_optim.bin",
            self.world_model_optim.optimizer.to_record(),
        )?;
        writer.write_record::<B, _>(
            "actor_critic_optim.bin",
            self.actor_critic_optim.optimizer.to_record(),
        )?;
        self.store.save(&writer.dir().join("store.bin"))?;
        let state = TrainerState {
            epoch: self.epoch,
            env_steps: self.env_steps,
            collector: self.collector.log(),
        };
        writer.write_bytes("state.json", &serde_json::to_vec(&state)?)?;
        writer.commit()
    }

    fn load_checkpoint(&mut self, dir: &Path) -> Result<()> {
        let d = &self.device;
        let shapes = ModelShapes::from_config(&self.config, self.collector.n_actions())?;
        let models = AgentModels::<B>::load(&shapes, dir, d)?;
        (self.tokenizer, self.world_model, self.actor_critic) =
            (models.tokenizer, models.world_model, models.actor_critic);
        let o = &mut self.tokenizer_optim.optimizer;
        *o = o.clone().load_record(checkpoint::read_record::<B, _>(
            dir,
            "tokenizer_optim.bin",
            d,
        )?);
        let o = &mut self.world_model_optim.optimizer;
        *o = o.clone().load_record(checkpoint::read_record::<B, _>(
            dir,
            "world_model_optim.bin",
            d,
        )?);
        let o = &mut self.actor_critic_optim.optimizer;
        *o = o.clone().load_record(checkpoint::read_record::<B, _>(
            dir,
            "actor_critic_optim.bin",
            d,
        )?);
        self.store = EpisodeStore::load(&dir.join("store.bin")).map_err(|e| {
            anyhow::anyhow!(
                "checkpoint file {} is damaged: {e}",
                dir.join("store.bin").display()
            )
        })?;
        let state: TrainerState =
            serde_json::from_slice(&checkpoint::read_bytes(dir, "state.json")?).with_context(
                || format!("checkpoint {} has an unreadable state.json", dir.display()),
            )?;
        let c = &self.config;
        self.collector =
            Collector::restore(&c.env.game, c.collect.envs, c.seed, state.collector, d)?;
        self.epoch = state.epoch;
        self.env_steps = state.env_steps;
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
