//! `rem report`: scores of finished runs, human-normalised for Atari games and
//! aggregated the way the Atari-100K literature does (algorithm.md, section 6), side by side
//! with REM's published per-seed scores.
//!
//! - `read`: one run folder (or random-policy folder) -> [`RunScore`];
//! - `references`: the random, human and REM score files;
//! - `statistics`: bootstrap intervals, mean / median / IQM and their aggregates;
//! - `table` and `plots`: the report as text and as SVG bar charts;
//! - `curves`: each game's runs as learning curves beside the random policy;
//! - `export`: the runs as a CSV file (`--csv`);
//! - `compare`: two sets of runs game by game (`rem compare`).

mod compare;
mod curves;
mod export;
mod plots;
mod read;
mod references;
mod statistics;
mod table;

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Result};

use crate::provenance::Code;

pub use compare::{
    compare, compare_folders, probability_of_improvement, read_random_policy, read_sets,
    write_comparison_plot, Comparison, GameComparison, Improvement, SameSeeds,
};
pub use curves::{write_comparison_curves, write_learning_curves};
pub use export::write_runs_csv;
pub use plots::{write_aggregates_plot, write_report_plot};
pub(crate) use read::kept_evaluations;
use read::named_game;
pub use read::read_run;
pub use references::{locate_reference_dir, reference_data_dir, References, DATA_DIR_VARIABLE};
pub use statistics::{
    bootstrap_ci, interquartile_mean, mean, mean_beyond_chance, median, rank_correlation,
    two_sample_bootstrap_ci, AggregateIntervals, Aggregates, BOOTSTRAP_RESAMPLES,
};

/// Where a run's score came from.
#[derive(Debug, Clone, PartialEq)]
pub enum ScoreSource {
    /// The final evaluation written by `rem eval`.
    EvalFile { episodes: Option<u64> },
    /// The last periodic evaluation logged during training.
    TrainingEval { epoch: Option<u64> },
}

/// Who played the evaluation a score comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// A trained run's agent.
    Agent,
    /// Uniformly random actions (`rem eval --policy random`), the baseline.
    Random,
}

/// One run folder's result.
#[derive(Debug, Clone, PartialEq)]
pub struct RunScore {
    pub run_dir: PathBuf,
    /// Canonical name: "Breakout" for Atari games, the lower-case name for native ones.
    pub game: String,
    pub seed: Option<i64>,
    pub policy: Policy,
    pub score: f64,
    pub source: ScoreSource,
    /// The evaluation's episode returns, when the source lists them.
    pub returns: Vec<f64>,
    /// 95% bootstrap confidence interval of the mean return ([`bootstrap_ci`]), from
    /// two episodes on.
    pub ci95: Option<(f64, f64)>,
    /// Human-normalised score; `None` for native games, which have no references.
    pub hns: Option<f64>,
    /// Minutes the run's phases took (the sum of `seconds` in metrics.jsonl).
    pub minutes: Option<f64>,
    /// Environment steps collected by the end of the run.
    pub env_steps: Option<u64>,
    /// The code that trained the run (each start and resume's, repeats left out), or
    /// that made the evaluation; empty where the folder did not record it. `None`
    /// stands for code that was not recorded: a run started before provenance.jsonl
    /// existed and resumed since begins with it.
    pub code: Vec<Option<Code>>,
    /// `(environment steps, mean return)` of each evaluation in metrics.jsonl, in
    /// order: the run's learning curve.
    pub evaluations: Vec<(u64, f64)>,
    /// The run's kept models scored again (`rem eval --run RUN --kept`, in
    /// `RUN/epoch-N/`), oldest first.
    pub kept_evaluations: Vec<KeptEvaluation>,
    /// Returns of every evaluation before the first actor-critic step (the policy at
    /// its initialisation), pooled: what the run's learning is measured against, since
    /// an untrained policy's fixed preferences can already beat uniform play.
    pub initial_policy_returns: Vec<f64>,
    /// For a folder of `rem eval --run RUN --out DIR`: the checkpoint it scored, as its
    /// eval.json names it.
    pub checkpoint: Option<PathBuf>,
    /// The run of this report whose checkpoint this evaluation scored (the folder lies
    /// in that run's folder, or the checkpoint does): listed, but not counted again in
    /// the game's means.
    pub checkpoint_of: Option<PathBuf>,
}

/// An evaluation of the models a run kept at an epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptEvaluation {
    pub epoch: usize,
    /// Environment steps collected by the end of that epoch.
    pub env_steps: u64,
    pub mean_return: f64,
    pub episodes: usize,
    /// 95% bootstrap interval of the mean return.
    pub ci95: Option<(f64, f64)>,
}

/// One Atari game over all of its runs, beside REM's published numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct GameScore {
    pub game: String,
    pub runs: usize,
    pub mean_score: f64,
    pub mean_hns: f64,
    pub rem_mean_score: Option<f64>,
    pub rem_hns: Option<f64>,
    /// The random policy's mean return and its 95% interval over the random-policy
    /// folders given for this game (all their episodes pooled).
    pub random_policy: Option<(f64, Option<(f64, f64)>)>,
    /// How many runs score above, and how many below, the random policy, each by a
    /// 95% interval of the difference; `None` without random-policy episodes.
    pub runs_beside_random: Option<RunsBesideRandom>,
}

/// Runs whose mean return differs from the random policy's beyond chance: the 95%
/// percentile-bootstrap interval of (run's mean - random's mean), each sample's
/// episodes resampled apart, lies wholly above zero, or wholly below. A run whose
/// score lists no episode returns counts on neither side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunsBesideRandom {
    pub above: usize,
    pub below: usize,
}

impl RunsBesideRandom {
    fn count(runs: &[&RunScore], random_returns: &[f64]) -> Self {
        let (mut above, mut below) = (0, 0);
        for run in runs.iter().filter(|run| run.returns.len() >= 2) {
            match mean_beyond_chance(&run.returns, random_returns) {
                Ordering::Greater => above += 1,
                Ordering::Less => below += 1,
                Ordering::Equal => {}
            }
        }
        Self { above, below }
    }
}

/// Every run's score, the per-game means beside REM's, and the aggregates.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// In the order the run folders were given.
    pub runs: Vec<RunScore>,
    /// Atari games only, by name.
    pub games: Vec<GameScore>,
    /// `None` when no run is of an Atari game.
    pub ours: Option<Aggregates>,
    /// REM's aggregates over the same games as `ours`.
    pub rem: Option<Aggregates>,
}

/// The report for `run_dirs`, with reference scores from [`reference_data_dir`]. Runs
/// of native games alone need no references, so no folder of them either.
pub fn report(run_dirs: &[PathBuf]) -> Result<Report> {
    report_with(run_dirs, &references_for(run_dirs)?)
}

/// The reference scores that `run_dirs` need: [`reference_data_dir`]'s, or none when
/// every folder is of a native game.
fn references_for(run_dirs: &[PathBuf]) -> Result<References> {
    let native_only = run_dirs
        .iter()
        .all(|dir| named_game(dir).is_some_and(|game| rem_envs::is_native(&game)));
    match native_only {
        true => Ok(References::default()),
        false => References::load(&reference_data_dir()?),
    }
}

/// Every folder of `run_dirs` read ([`read_run`]), in order, each evaluation of a
/// checkpoint of another of them marked (`checkpoint_of`).
fn read_runs(run_dirs: &[PathBuf], references: &References) -> Result<Vec<RunScore>> {
    ensure!(!run_dirs.is_empty(), "no run folders given");
    let mut runs = run_dirs
        .iter()
        .map(|dir| read_run(dir, references))
        .collect::<Result<Vec<_>>>()?;
    mark_checkpoint_evaluations(&mut runs);
    Ok(runs)
}

pub fn report_with(run_dirs: &[PathBuf], references: &References) -> Result<Report> {
    let runs = read_runs(run_dirs, references)?;
    let per_game = runs_by_game(runs.iter().filter(|run| {
        run.policy == Policy::Agent && run.hns.is_some() && run.checkpoint_of.is_none()
    }));
    let random_returns = random_policy_returns(&runs);
    let mut our_hns = BTreeMap::new();
    let mut rem_hns = BTreeMap::new();
    let mut games = Vec::new();
    for (&game, game_runs) in &per_game {
        let hns: Vec<f64> = game_runs.iter().filter_map(|run| run.hns).collect();
        let rem_scores = references.rem.get(game).filter(|scores| !scores.is_empty());
        let rem_game_hns: Option<Vec<f64>> = rem_scores.map(|scores| {
            scores
                .iter()
                .filter_map(|&s| references.normalise(game, s))
                .collect()
        });
        let random = random_returns
            .get(game)
            .filter(|returns| !returns.is_empty());
        games.push(GameScore {
            game: game.to_string(),
            runs: game_runs.len(),
            mean_score: mean(&game_runs.iter().map(|run| run.score).collect::<Vec<_>>()),
            mean_hns: mean(&hns),
            rem_mean_score: rem_scores.map(|scores| mean(scores)),
            rem_hns: rem_game_hns.as_deref().map(mean),
            random_policy: random.map(|returns| (mean(returns), bootstrap_ci(returns))),
            runs_beside_random: random
                .filter(|returns| returns.len() >= 2)
                .map(|returns| RunsBesideRandom::count(game_runs, returns)),
        });
        our_hns.insert(game.to_string(), hns);
        if let Some(values) = rem_game_hns {
            rem_hns.insert(game.to_string(), values);
        }
    }
    Ok(Report {
        runs,
        games,
        ours: Aggregates::from_hns(&our_hns),
        rem: Aggregates::from_hns(&rem_hns),
    })
}

/// `runs` by game, in the games' name order, each game's runs in the order given.
fn runs_by_game<'a>(
    runs: impl IntoIterator<Item = &'a RunScore>,
) -> BTreeMap<&'a str, Vec<&'a RunScore>> {
    let mut games: BTreeMap<&str, Vec<&RunScore>> = BTreeMap::new();
    for run in runs {
        games.entry(&run.game).or_default().push(run);
    }
    games
}

/// Per game, the episode returns of its random-policy folders among `runs`, pooled.
fn random_policy_returns(runs: &[RunScore]) -> BTreeMap<String, Vec<f64>> {
    let mut returns: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for run in runs.iter().filter(|run| run.policy == Policy::Random) {
        returns
            .entry(run.game.clone())
            .or_default()
            .extend(&run.returns);
    }
    returns
}

/// Sets `checkpoint_of` on each evaluation of a checkpoint of a training run that is
/// also in `runs`: one whose folder lies in the run's folder (`rem eval --run RUN --out
/// RUN/epoch-40`), or whose checkpoint does (`RUN/models/epoch-000040`).
fn mark_checkpoint_evaluations(runs: &mut [RunScore]) {
    let canonical = |path: &Path| path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let training_runs: Vec<PathBuf> = runs
        .iter()
        .filter(|run| run.checkpoint.is_none() && run.policy == Policy::Agent)
        .map(|run| canonical(&run.run_dir))
        .collect();
    for run in runs.iter_mut() {
        let Some(checkpoint) = &run.checkpoint else {
            continue;
        };
        let (folder, checkpoint) = (canonical(&run.run_dir), canonical(checkpoint));
        run.checkpoint_of = training_runs
            .iter()
            .find(|dir| folder.starts_with(dir) || checkpoint.starts_with(dir))
            .cloned();
    }
}
