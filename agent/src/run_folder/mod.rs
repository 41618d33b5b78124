//! A run folder: the one place that names the files of a run, and the one place that
//! saves and loads its checkpoints (`checkpoint.rs` reads one back, `saved_run.rs`
//! opens a run at one, `checkpoint_file.rs` is the checksummed format of each file).
//!
//! ```text
//! RUN_DIR/
//! ├── config.toml          the run's configuration, overrides applied
//! ├── metrics.jsonl        one JSON line per epoch
//! ├── provenance.jsonl     one JSON line per start or resume: code, machine, command
//! ├── learning_curve.svg   redrawn after every evaluation
//! ├── losses.svg           each part's losses, redrawn after every epoch
//! ├── eval.json            `rem eval`'s scores
//! ├── dream.png            `rem dream`'s picture
//! ├── ratings.svg          `rem ratings`' figure
//! ├── episodes/            `rem eval --record`'s episodes: episode-1.png, ... (APNG)
//! ├── checkpoints/
//! │   ├── latest           the name of the newest complete checkpoint
//! │   └── epoch-000040/
//! │       ├── tokenizer.bin  world_model.bin  actor_critic.bin
//! │       ├── tokenizer_optim.bin  world_model_optim.bin  actor_critic_optim.bin
//! │       ├── store.bin    the episode store
//! │       └── state.json   epoch, env steps, action count, the collector's log
//! └── models/              kept every `checkpoint.keep_models_every_epochs`
//!     └── epoch-000030/    the three models, actor_critic_optim.bin and state.json
//!                          of that epoch
//! ```
//!
//! `latest` is switched only after everything its checkpoint holds is on disk, and the
//! older checkpoints are removed only then, so a crash always leaves one complete
//! checkpoint. A kept folder under `models/` appears whole or not at all; it cannot
//! be resumed from, but it can be evaluated or dreamt. A folder holding only an
//! eval.json (and perhaps episodes/) is an evaluation of the random policy or of a
//! checkpoint (`rem eval --out`).

mod checkpoint;
pub mod checkpoint_file;
mod saved_run;

pub use checkpoint::{Checkpoint, CheckpointContents, OptimizerRecord, OptimizerRecords, Progress};
pub use saved_run::SavedRun;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use burn::module::Module;
use burn::tensor::backend::AutodiffBackend;
use rem_envs::durable::write_atomically;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::config::RunConfig;
use crate::provenance::Provenance;
use checkpoint::part;
use checkpoint_file::{write_bytes, write_record};

const CONFIG: &str = "config.toml";
const METRICS: &str = "metrics.jsonl";
const PROVENANCE: &str = "provenance.jsonl";
const LEARNING_CURVE: &str = "learning_curve.svg";
const LOSSES: &str = "losses.svg";
const EVAL: &str = "eval.json";
const DREAM: &str = "dream.png";
const RATINGS: &str = "ratings.svg";
const RATINGS_DATA: &str = "ratings.json";
const EPISODES: &str = "episodes";
const CHECKPOINTS: &str = "checkpoints";
const LATEST: &str = "latest";
const KEPT_MODELS: &str = "models";

/// A run's folder on disk.
#[derive(Debug, Clone)]
pub struct RunFolder {
    root: PathBuf,
}

impl RunFolder {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config_file(&self) -> PathBuf {
        self.root.join(CONFIG)
    }

    pub fn metrics_file(&self) -> PathBuf {
        self.root.join(METRICS)
    }

    pub fn provenance_file(&self) -> PathBuf {
        self.root.join(PROVENANCE)
    }

    pub fn learning_curve_file(&self) -> PathBuf {
        self.root.join(LEARNING_CURVE)
    }

    pub fn losses_file(&self) -> PathBuf {
        self.root.join(LOSSES)
    }

    pub fn eval_file(&self) -> PathBuf {
        self.root.join(EVAL)
    }

    pub fn dream_file(&self) -> PathBuf {
        self.root.join(DREAM)
    }

    pub fn ratings_file(&self) -> PathBuf {
        self.root.join(RATINGS)
    }

    /// What `rem ratings` found, from which `rem ratings --redraw` draws again.
    pub fn ratings_data_file(&self) -> PathBuf {
        self.root.join(RATINGS_DATA)
    }

    /// The evaluation episodes recorded by `rem eval --record`, as animated PNGs.
    pub fn episodes_dir(&self) -> PathBuf {
        self.root.join(EPISODES)
    }

    fn checkpoints_dir(&self) -> PathBuf {
        self.root.join(CHECKPOINTS)
    }

    /// Whether a training run was started here (a config is present).
    pub fn holds_run(&self) -> bool {
        self.config_file().exists()
    }

    /// Fails unless a training run was started here, saying what the folder lacks.
    fn check_holds_run(&self) -> Result<()> {
        if !self.root.is_dir() {
            bail!(
                "{} is not a run folder: no such folder",
                self.root.display()
            );
        }
        if !self.holds_run() {
            bail!(
                "{} is not a run folder: it has no {CONFIG} (`rem train --run-dir DIR` writes one)",
                self.root.display()
            );
        }
        Ok(())
    }

    /// The run's configuration with `overrides` applied.
    pub fn config(&self, overrides: &[String]) -> Result<RunConfig> {
        self.check_holds_run()?;
        RunConfig::load_written(&self.config_file(), overrides)
    }

    /// Fails when this folder already holds a run, naming the command that continues it.
    pub fn check_free(&self) -> Result<()> {
        if self.holds_run() {
            bail!(
                "{} already holds a run; continue it with `rem train --resume {0}`",
                self.root.display()
            );
        }
        Ok(())
    }

    /// Starts a new run here: the folder, its config and an empty metrics file.
    pub fn create(&self, config: &RunConfig) -> Result<()> {
        self.check_free()?;
        std::fs::create_dir_all(&self.root)
            .with_context(|| format!("cannot create {}", self.root.display()))?;
        std::fs::write(self.config_file(), config.to_toml())?;
        std::fs::write(self.metrics_file(), "")?;
        Ok(())
    }

    /// Replaces config.toml with `config` when they differ (a resume with overrides).
    pub fn update_config(&self, config: &RunConfig) -> Result<()> {
        let path = self.config_file();
        let text = config.to_toml();
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            write_atomically(&path, |w| w.write_all(text.as_bytes()))?;
        }
        Ok(())
    }

    /// Appends one epoch's metrics as a line and syncs it to disk.
    pub fn append_metrics(&self, metrics: &impl Serialize) -> Result<()> {
        append_line(&self.metrics_file(), metrics)
    }

    /// Appends this process's provenance (a start or a resume) as a line.
    pub fn append_provenance(&self) -> Result<()> {
        append_line(&self.provenance_file(), &Provenance::of_this_process())
    }

    /// The provenance of every start and resume, oldest first; empty for a run made
    /// before runs recorded it.
    pub fn provenance(&self) -> Result<Vec<Provenance>> {
        let path = self.provenance_file();
        if !path.exists() {
            return Ok(Vec::new());
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        parse_json_lines(&text, &path, "a start's provenance")
    }

    /// Drops the metric lines of epochs after `epoch`: a resumed run redoes them.
    pub fn keep_metrics_through(&self, epoch: usize) -> Result<()> {
        let path = self.metrics_file();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let kept: String = text
            .lines()
            .filter(|line| {
                serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v["epoch"].as_u64())
                    .is_some_and(|e| e as usize <= epoch)
            })
            .map(|line| format!("{line}\n"))
            .collect();
        write_atomically(&path, |w| w.write_all(kept.as_bytes()))?;
        Ok(())
    }

    /// The newest complete checkpoint, if any.
    pub fn latest_checkpoint(&self) -> Result<Option<Checkpoint>> {
        let pointer = self.checkpoints_dir().join(LATEST);
        if !pointer.exists() {
            return Ok(None);
        }
        let name = std::fs::read_to_string(&pointer)
            .with_context(|| format!("cannot read {}", pointer.display()))?;
        let dir = self.checkpoints_dir().join(name.trim());
        if !dir.is_dir() {
            bail!(
                "{} names {}, which does not exist",
                pointer.display(),
                dir.display()
            );
        }
        Ok(Some(Checkpoint::at(dir)))
    }

    /// The models kept under `models/` (`checkpoint.keep_models_every_epochs`), as
    /// checkpoints with their epochs, oldest first; none where nothing was kept.
    pub fn kept_models(&self) -> Result<Vec<(usize, Checkpoint)>> {
        let root = self.root.join(KEPT_MODELS);
        if !root.is_dir() {
            return Ok(Vec::new());
        }
        let mut kept = Vec::new();
        for entry in
            std::fs::read_dir(&root).with_context(|| format!("cannot read {}", root.display()))?
        {
            let dir = entry?.path();
            // A copy still being made is a hidden `.epoch-N.partial`.
            let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if let Some(epoch) = name.strip_prefix("epoch-").and_then(|e| e.parse().ok()) {
                kept.push((epoch, Checkpoint::at(dir)));
            }
        }
        kept.sort_by_key(|(epoch, _)| *epoch);
        Ok(kept)
    }

    /// The checkpoint in folder `dir` if given, else the latest (an error if none).
    pub fn checkpoint(&self, dir: Option<&Path>) -> Result<Checkpoint> {
        match dir {
            Some(dir) => Ok(Checkpoint::at(dir)),
            None => self
                .latest_checkpoint()?
                .with_context(|| format!("{} has no checkpoint yet", self.root.display())),
        }
    }

    /// Writes a checkpoint of the epoch in `contents.progress`, keeps a copy of its
    /// models in `models/` when `keep_models`, then makes it the latest and removes the
    /// older ones. Keeping before the switch means a crash cannot leave a latest
    /// checkpoint whose kept copy is missing (a resume would not redo that epoch).
    pub fn save_checkpoint<B: AutodiffBackend>(
        &self,
        contents: CheckpointContents<'_, B>,
        keep_models: bool,
    ) -> Result<Checkpoint> {
        let name = format!("epoch-{:06}", contents.progress.epoch);
        let dir = self.checkpoints_dir().join(&name);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let models = contents.models;
        let optim = contents.optimizers;
        write_record::<B, _>(
            &dir.join(part::TOKENIZER),
            models.tokenizer.clone().into_record(),
        )?;
        write_record::<B, _>(
            &dir.join(part::WORLD_MODEL),
            models.world_model.clone().into_record(),
        )?;
        write_record::<B, _>(
            &dir.join(part::ACTOR_CRITIC),
            models.actor_critic.clone().into_record(),
        )?;
        write_record::<B, _>(&dir.join(part::TOKENIZER_OPTIM), optim.tokenizer)?;
        write_record::<B, _>(&dir.join(part::WORLD_MODEL_OPTIM), optim.world_model)?;
        write_record::<B, _>(&dir.join(part::ACTOR_CRITIC_OPTIM), optim.actor_critic)?;
        contents.store.save(&dir.join(part::STORE))?;
        write_bytes(
            &dir.join(part::PROGRESS),
            &serde_json::to_vec(contents.progress)?,
        )?;
        let checkpoint = Checkpoint::at(dir);
        if keep_models {
            self.keep_models(&checkpoint)?;
        }
        self.make_latest(&name)?;
        Ok(checkpoint)
    }

    /// Copies the models, the controller's optimiser state (so that a probe can go on
    /// training the controller as the run would have) and the state of `checkpoint`
    /// into `models/<its name>/`, which later checkpoints leave alone. The copy is
    /// made in a temporary folder and renamed, so a crash leaves no partial folder.
    fn keep_models(&self, checkpoint: &Checkpoint) -> Result<()> {
        let name = checkpoint
            .dir()
            .file_name()
            .context("a checkpoint folder has a name")?;
        let kept_root = self.root.join(KEPT_MODELS);
        let kept = kept_root.join(name);
        let partial = kept_root.join(format!(".{}.partial", name.to_string_lossy()));
        if partial.exists() {
            std::fs::remove_dir_all(&partial)?;
        }
        std::fs::create_dir_all(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
        for file in [
            part::TOKENIZER,
            part::WORLD_MODEL,
            part::ACTOR_CRITIC,
            part::ACTOR_CRITIC_OPTIM,
            part::PROGRESS,
        ] {
            std::fs::copy(checkpoint.dir().join(file), partial.join(file))
                .with_context(|| format!("cannot keep {file} in {}", kept.display()))?;
        }
        if kept.exists() {
            // A resumed run redoes the epoch: its models replace the old copy.
            std::fs::remove_dir_all(&kept)?;
        }
        std::fs::rename(&partial, &kept)
            .with_context(|| format!("cannot create {}", kept.display()))?;
        Ok(())
    }

    /// Points `latest` at checkpoint `name`, then removes every other checkpoint.
    fn make_latest(&self, name: &str) -> Result<()> {
        let root = self.checkpoints_dir();
        write_atomically(&root.join(LATEST), |w| w.write_all(name.as_bytes()))?;
        for entry in std::fs::read_dir(&root)? {
            let path = entry?.path();
            let is_old = path.is_dir() && path.file_name().is_some_and(|n| *n != *name);
            if is_old {
                std::fs::remove_dir_all(&path)?;
            }
        }
        Ok(())
    }
}

/// Fails on the first of `wanted` that is not among the `kept` epochs, listing them.
pub fn ensure_kept(kept: &[usize], wanted: impl IntoIterator<Item = usize>) -> Result<()> {
    if let Some(missing) = wanted.into_iter().find(|e| !kept.contains(e)) {
        bail!(
            "the run kept no models of epoch {missing} (kept: {})",
            epoch_list(kept)
        );
    }
    Ok(())
}

/// `2, 4, 6`.
pub fn epoch_list(epochs: &[usize]) -> String {
    let listed: Vec<String> = epochs.iter().map(usize::to_string).collect();
    listed.join(", ")
}

/// The values of `text`, the contents of `path`, one JSON line each ([`append_line`]'s
/// format; blank lines skipped). A last line cut short, with no newline after it, is
/// what a crash in the middle of an append leaves, and is dropped; any other line that
/// is not `what` is an error naming the file and line.
pub fn parse_json_lines<T: DeserializeOwned>(
    text: &str,
    path: &Path,
    what: &str,
) -> Result<Vec<T>> {
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .collect();
    let mut values = Vec::with_capacity(lines.len());
    for (position, &(index, line)) in lines.iter().enumerate() {
        match serde_json::from_str::<T>(line) {
            Ok(value) => values.push(value),
            Err(_) if position + 1 == lines.len() && !text.ends_with('\n') => {}
            Err(error) => bail!(
                "{} line {}: not {what} ({error})",
                path.display(),
                index + 1
            ),
        }
    }
    Ok(values)
}

/// Appends `value` to `path` as one JSON line and syncs it to disk.
fn append_line(path: &Path, value: &impl Serialize) -> Result<()> {
    let line = serde_json::to_string(value)?;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    writeln!(file, "{line}")?;
    file.sync_all()?;
    Ok(())
}
