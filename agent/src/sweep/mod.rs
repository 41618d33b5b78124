//! Sweeps: one training run per (game, seed) over a folder of run configs, each run
//! in a stable folder of the sweep, trained here a few at a time ([`local`]) or as one
//! Slurm job array ([`slurm`]). Every task reads the sweep's plan, `sweep.toml`, and
//! resumes its run folder when it already holds a run, so a task that is requeued or
//! started again continues where it stopped.
//!
//! ```text
//! OUT/
//! ├── sweep.toml            the plan: config folder, overrides, one [[runs]] per task
//! ├── runs/<Game>-seed<k>/  one run folder per task (the layout of `rem train`)
//! ├── logs/                 one log per task
//! ├── sweep.sbatch          the array script (--slurm)
//! └── slurm_jobs            ids of the array jobs submitted, one per line
//! ```

pub mod local;
pub mod slurm;
pub mod status;

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};

use crate::config::RunConfig;
use crate::run_folder::RunFolder;

const PLAN_FILE: &str = "sweep.toml";
const RUNS_DIR: &str = "runs";
const LOGS_DIR: &str = "logs";

/// Which games of the config folder a sweep runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GameChoice {
    All,
    /// Names as the configs' `env.game` spells them (any case).
    Named(Vec<String>),
}

impl std::str::FromStr for GameChoice {
    type Err = String;

    /// `all`, or a comma-separated list of games.
    fn from_str(text: &str) -> Result<Self, String> {
        if text.eq_ignore_ascii_case("all") {
            return Ok(GameChoice::All);
        }
        let names: Vec<String> = text
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(String::from)
            .collect();
        if names.is_empty() {
            return Err("expected `all` or a comma-separated list of games".into());
        }
        Ok(GameChoice::Named(names))
    }
}

/// What a sweep runs: written once to `sweep.toml`, read by every task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPlan {
    /// The folder of run configs, absolute.
    pub config_dir: PathBuf,
    /// `--set` overrides applied to every run (before its seed).
    pub overrides: Vec<String>,
    /// One entry per task, in task-index order.
    pub runs: Vec<SweepRun>,
}

/// One (game, seed) of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRun {
    pub game: String,
    pub seed: u64,
    /// The run's config file, absolute.
    pub config: PathBuf,
    /// The run folder, relative to the sweep folder.
    pub folder: PathBuf,
}

/// What one task trains: a new run, or the run its folder already holds.
pub struct Task {
    pub config: RunConfig,
    pub run_dir: PathBuf,
    pub resuming: bool,
}

impl SweepPlan {
    /// The runs of `games` x `seeds` over the `*.toml` configs of
    /// `config_dir`, games in file-name order. Every config is loaded and checked
    /// with `overrides` now, so that a bad one fails here rather than in a task.
    pub fn new(
        config_dir: &Path,
        games: &GameChoice,
        seeds: Range<u64>,
        overrides: &[String],
    ) -> Result<Self> {
        ensure!(!seeds.is_empty(), "--seeds must be at least 1");
        let config_dir = std::fs::canonicalize(config_dir)
            .with_context(|| format!("config folder {} does not exist", config_dir.display()))?;
        let configs = game_configs(&config_dir, overrides)?;
        let chosen = choose_games(&configs, games, &config_dir)?;
        let runs = chosen
            .iter()
            .flat_map(|(game, config)| {
                seeds.clone().map(move |seed| SweepRun {
                    game: game.clone(),
                    seed,
                    config: config.clone(),
                    folder: Path::new(RUNS_DIR).join(format!("{game}-seed{seed}")),
                })
            })
            .collect();
        Ok(SweepPlan {
            config_dir,
            overrides: overrides.to_vec(),
            runs,
        })
    }

    /// Writes the plan into `sweep_dir` (created if needed). A folder that holds the
    /// same plan is taken as it is, so a sweep can be launched again to continue it; one
    /// that holds a different plan is refused.
    pub fn write(&self, sweep_dir: &Path) -> Result<()> {
        let path = sweep_dir.join(PLAN_FILE);
        if path.exists() {
            let existing = Self::read(sweep_dir)?;
            ensure!(
                existing == *self,
                "{} holds a different sweep (its {PLAN_FILE}); choose another --out",
                sweep_dir.display()
            );
            return Ok(());
        }
        std::fs::create_dir_all(sweep_dir.join(LOGS_DIR))
            .with_context(|| format!("cannot create {}", sweep_dir.display()))?;
        let text = toml::to_string(self).context("cannot write the sweep plan")?;
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    }

    /// The plan in `sweep_dir`.
    pub fn read(sweep_dir: &Path) -> Result<Self> {
        let path = sweep_dir.join(PLAN_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "{} is not a sweep folder (no {PLAN_FILE})",
                sweep_dir.display()
            )
        })?;
        toml::from_str(&text).with_context(|| format!("{} is not a sweep plan", path.display()))
    }

    /// Whether `dir` holds a sweep.
    pub fn is_sweep(dir: &Path) -> bool {
        dir.join(PLAN_FILE).is_file()
    }

    /// The run folders of the sweep in `sweep_dir`, in task order.
    pub fn run_dirs(&self, sweep_dir: &Path) -> Vec<PathBuf> {
        self.runs
            .iter()
            .map(|run| sweep_dir.join(&run.folder))
            .collect()
    }

    /// Task `index`: its run folder's own run when the folder holds one (a task
    /// started again continues), else a new run from its config and seed.
    pub fn task(&self, sweep_dir: &Path, index: usize) -> Result<Task> {
        let Some(run) = self.runs.get(index) else {
            bail!(
                "task {index} is not in the sweep {} ({} runs: 0 to {})",
                sweep_dir.display(),
                self.runs.len(),
                self.runs.len().saturating_sub(1)
            )
        };
        let run_dir = sweep_dir.join(&run.folder);
        let folder = RunFolder::new(&run_dir);
        if folder.holds_run() {
            let config = folder.config(&[])?;
            return Ok(Task {
                config,
                run_dir,
                resuming: true,
            });
        }
        let mut overrides = self.overrides.clone();
        overrides.push(format!("seed={}", run.seed));
        Ok(Task {
            config: RunConfig::load(&run.config, &overrides)?,
            run_dir,
            resuming: false,
        })
    }
}

/// `dirs` with every sweep folder among them replaced by its finished runs (for
/// `rem report`); also the runs of those sweeps that are not finished yet.
pub fn expand_sweeps(dirs: &[PathBuf]) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let (mut runs, mut unfinished) = (Vec::new(), Vec::new());
    for dir in dirs {
        if !SweepPlan::is_sweep(dir) {
            runs.push(dir.clone());
            continue;
        }
        let plan = SweepPlan::read(dir)?;
        for (task, run_dir) in plan.run_dirs(dir).into_iter().enumerate() {
            let finished = status::run_status(&plan, dir, task)?.finished()
                || RunFolder::new(&run_dir).eval_file().exists();
            if finished {
                runs.push(run_dir);
            } else {
                unfinished.push(run_dir);
            }
        }
    }
    Ok((runs, unfinished))
}

/// The log file of task `index`.
pub fn log_file(sweep_dir: &Path, index: usize) -> PathBuf {
    sweep_dir.join(LOGS_DIR).join(format!("task-{index}.log"))
}

/// (game, config file) for each `*.toml` in `dir`, by file name; each config checked
/// with `overrides`.
fn game_configs(dir: &Path, overrides: &[String]) -> Result<Vec<(String, PathBuf)>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read config folder {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    ensure!(
        !files.is_empty(),
        "config folder {} holds no .toml run configs",
        dir.display()
    );
    let mut configs: Vec<(String, PathBuf)> = Vec::new();
    for path in files {
        let game = RunConfig::load(&path, overrides)?.env.game;
        if let Some((_, first)) = configs.iter().find(|(g, _)| g.eq_ignore_ascii_case(&game)) {
            bail!(
                "{} and {} are both configs of '{game}'; a sweep runs one config per game",
                first.display(),
                path.display()
            );
        }
        configs.push((game, path));
    }
    Ok(configs)
}

/// The configs of the chosen games; an unknown name is an error that lists the games.
fn choose_games(
    configs: &[(String, PathBuf)],
    games: &GameChoice,
    dir: &Path,
) -> Result<Vec<(String, PathBuf)>> {
    let GameChoice::Named(names) = games else {
        return Ok(configs.to_vec());
    };
    names
        .iter()
        .map(|name| {
            let found = configs
                .iter()
                .find(|(game, _)| game.eq_ignore_ascii_case(name));
            found.cloned().with_context(|| {
                let known: Vec<&str> = configs.iter().map(|(game, _)| game.as_str()).collect();
                format!(
                    "unknown game '{name}' in --games: {} has configs for {}",
                    dir.display(),
                    known.join(", ")
                )
            })
        })
        .collect()
}
