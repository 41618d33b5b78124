//! `rem report`: scores of finished runs, human-normalised for Atari games and
//! aggregated the way the Atari-100K literature does (algorithm.md, section 6), side by side
//! with REM's published per-seed scores.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use rem_envs::atari::AtariGame;
use serde_json::Value;

use crate::evaluate::RANDOM_POLICY;
use crate::metrics::{read_metrics, EpochMetrics};
use crate::plot::{BarChart, BarGroup};
use crate::run_folder::RunFolder;

/// Environment variable naming the folder of reference score files.
pub const DATA_DIR_VARIABLE: &str = "REM_DATA_DIR";

/// Reference scores per Atari game: random and human play, and REM's per-seed means.
/// The default holds none, which is all that native games need.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct References {
    pub dir: PathBuf,
    pub random: BTreeMap<String, f64>,
    pub human: BTreeMap<String, f64>,
    pub rem: BTreeMap<String, Vec<f64>>,
}

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
    /// Returns of every evaluation before the first actor-critic step (the policy at
    /// its initialisation), pooled: what the run's learning is measured against, since
    /// an untrained policy's fixed preferences can already beat uniform play.
    pub initial_policy_returns: Vec<f64>,
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
}

/// Aggregates of human-normalised scores over games.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregates {
    pub games: usize,
    /// How many run x game scores the interquartile mean was taken over.
    pub scores: usize,
    /// Mean of the per-game mean scores.
    pub mean: f64,
    /// Median of the per-game mean scores.
    pub median: f64,
    /// Interquartile mean of all run x game scores.
    pub iqm: f64,
    /// Games whose mean score is at least human level (1).
    pub superhuman: usize,
    /// 95% stratified-bootstrap intervals of mean, median and IQM; `None` when no
    /// game has two runs to resample.
    pub ci95: Option<AggregateIntervals>,
}

/// 95% confidence intervals of the aggregates, as rliable computes them: each of
/// [`BOOTSTRAP_RESAMPLES`] resamples draws every game's runs with replacement within
/// that game (a stratified bootstrap), and the intervals are the 2.5th and 97.5th
/// percentiles of the aggregates over the resamples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AggregateIntervals {
    pub mean: (f64, f64),
    pub median: (f64, f64),
    pub iqm: (f64, f64),
}

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
    let native_only = run_dirs
        .iter()
        .all(|dir| named_game(dir).is_some_and(|game| rem_envs::is_native(&game)));
    let references = match native_only {
        true => References::default(),
        false => References::load(&reference_data_dir()?)?,
    };
    report_with(run_dirs, &references)
}

/// The game a run folder or a random-policy folder names, when it can be read.
fn named_game(run_dir: &Path) -> Option<String> {
    let random = random_policy_eval(run_dir).ok().flatten();
    match random {
        Some(eval) => eval.get("game").and_then(Value::as_str).map(String::from),
        None => read_game_and_seed(run_dir).ok().map(|(game, _)| game),
    }
}

pub fn report_with(run_dirs: &[PathBuf], references: &References) -> Result<Report> {
    ensure!(!run_dirs.is_empty(), "no run folders given");
    let runs = run_dirs
        .iter()
        .map(|dir| read_run(dir, references))
        .collect::<Result<Vec<_>>>()?;
    let mut per_game: BTreeMap<String, Vec<&RunScore>> = BTreeMap::new();
    let mut random_returns: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for run in &runs {
        match run.policy {
            Policy::Random => random_returns
                .entry(run.game.clone())
                .or_default()
                .extend(&run.returns),
            Policy::Agent if run.hns.is_some() => {
                per_game.entry(run.game.clone()).or_default().push(run)
            }
            Policy::Agent => {}
        }
    }
    let mut our_hns = BTreeMap::new();
    let mut rem_hns = BTreeMap::new();
    let mut games = Vec::new();
    for (game, game_runs) in &per_game {
        let hns: Vec<f64> = game_runs.iter().filter_map(|run| run.hns).collect();
        let rem_scores = references.rem.get(game).filter(|scores| !scores.is_empty());
        let rem_game_hns: Option<Vec<f64>> = rem_scores.map(|scores| {
            scores
                .iter()
                .filter_map(|&s| references.normalise(game, s))
                .collect()
        });
        games.push(GameScore {
            game: game.clone(),
            runs: game_runs.len(),
            mean_score: mean(&game_runs.iter().map(|run| run.score).collect::<Vec<_>>()),
            mean_hns: mean(&hns),
            rem_mean_score: rem_scores.map(|scores| mean(scores)),
            rem_hns: rem_game_hns.as_deref().map(mean),
            random_policy: random_returns
                .get(game)
                .filter(|returns| !returns.is_empty())
                .map(|returns| (mean(returns), bootstrap_ci(returns))),
        });
        our_hns.insert(game.clone(), hns);
        if let Some(values) = rem_game_hns {
            rem_hns.insert(game.clone(), values);
        }
    }
    Ok(Report {
        runs,
        games,
        ours: Aggregates::from_hns(&our_hns),
        rem: Aggregates::from_hns(&rem_hns),
    })
}

/// Reads one run folder: its game and seed from `config.toml`, its score from
/// `eval.json` when `rem eval` has written one, else from the last evaluation in
/// `metrics.jsonl`. A folder of `rem eval --policy random` (an eval.json for the
/// checkpoint "random" and no config) reads as the game's random-policy baseline.
pub fn read_run(run_dir: &Path, references: &References) -> Result<RunScore> {
    let context = || format!("run folder {}", run_dir.display());
    let eval_path = RunFolder::new(run_dir).eval_file();
    if let Some(eval) = random_policy_eval(run_dir)? {
        let game = eval
            .get("game")
            .and_then(Value::as_str)
            .with_context(|| format!("{} has no string `game`", eval_path.display()))?;
        let game = canonical_game(game, references).with_context(context)?;
        let evaluation = evaluation_in(&eval, &eval_path, &game).with_context(context)?;
        return Ok(RunScore::new(
            run_dir,
            game,
            None,
            Policy::Random,
            evaluation,
            references,
        ));
    }
    let (game, seed) = read_game_and_seed(run_dir)?;
    let game = canonical_game(&game, references).with_context(context)?;
    let metrics_path = RunFolder::new(run_dir).metrics_file();
    let has_metrics = metrics_path.exists();
    let records = if has_metrics {
        read_metrics(&metrics_path).with_context(context)?
    } else {
        Vec::new()
    };
    let evaluation = read_score(run_dir, &game, &records).with_context(context)?;
    let mut run = RunScore::new(run_dir, game, seed, Policy::Agent, evaluation, references);
    if has_metrics {
        run.minutes = Some(records.iter().map(EpochMetrics::total_seconds).sum::<f64>() / 60.0);
        run.env_steps = records.last().map(|record| record.env_steps as u64);
        run.initial_policy_returns = initial_policy_returns(&records);
    }
    Ok(run)
}

/// Episode returns of the evaluations made before the epoch of the first
/// actor-critic step (an epoch's evaluation follows its training phases).
fn initial_policy_returns(records: &[EpochMetrics]) -> Vec<f64> {
    records
        .iter()
        .take_while(|record| record.actor_critic.is_none())
        .filter_map(|record| record.eval.as_ref())
        .flat_map(|eval| eval.returns.iter().map(|&r| f64::from(r)))
        .collect()
}

/// A score and where it came from, with the episode returns when listed.
struct Evaluation {
    score: f64,
    source: ScoreSource,
    returns: Vec<f64>,
}

impl RunScore {
    fn new(
        run_dir: &Path,
        game: String,
        seed: Option<i64>,
        policy: Policy,
        evaluation: Evaluation,
        references: &References,
    ) -> Self {
        let Evaluation {
            score,
            source,
            returns,
        } = evaluation;
        RunScore {
            run_dir: run_dir.to_path_buf(),
            hns: references.normalise(&game, score),
            game,
            seed,
            policy,
            score,
            source,
            ci95: bootstrap_ci(&returns),
            returns,
            minutes: None,
            env_steps: None,
            initial_policy_returns: Vec::new(),
        }
    }
}

/// The evaluation of a random-policy folder (an eval.json for the checkpoint
/// "random" and no config), `None` for any other folder.
fn random_policy_eval(run_dir: &Path) -> Result<Option<Value>> {
    let folder = RunFolder::new(run_dir);
    let eval_path = folder.eval_file();
    if folder.holds_run() || !eval_path.exists() {
        return Ok(None);
    }
    let eval = read_json(&eval_path)?;
    let random = eval.get("checkpoint").and_then(Value::as_str) == Some(RANDOM_POLICY);
    Ok(random.then_some(eval))
}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

/// Resamples of the percentile bootstrap.
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;

/// 95% percentile-bootstrap confidence interval of the mean of `values`: the 2.5th
/// and 97.5th percentiles of the means of [`BOOTSTRAP_RESAMPLES`] resamples with
/// replacement, drawn from a fixed seed so that a report is reproducible. `None`
/// for fewer than two values.
pub fn bootstrap_ci(values: &[f64]) -> Option<(f64, f64)> {
    use rand::SeedableRng;
    if values.len() < 2 {
        return None;
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let means: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| mean(&resample(values, &mut rng)))
        .collect();
    Some(percentile_interval(means))
}

fn read_game_and_seed(run_dir: &Path) -> Result<(String, Option<i64>)> {
    let path = RunFolder::new(run_dir).config_file();
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))?;
    let game = table
        .get("env")
        .and_then(|env| env.get("game"))
        .and_then(|game| game.as_str())
        .with_context(|| format!("{} has no string `env.game`", path.display()))?;
    Ok((
        game.to_string(),
        table.get("seed").and_then(|seed| seed.as_integer()),
    ))
}

/// Native games keep their name; Atari names ("breakout", "ms_pacman") become the
/// spelling the reference files use.
fn canonical_game(game: &str, references: &References) -> Result<String> {
    if rem_envs::is_native(game) {
        return Ok(game.to_string());
    }
    let Ok(atari) = AtariGame::find(game) else {
        bail!("unknown game '{game}': neither a native game nor an Atari-100K game")
    };
    ensure!(
        references.random.contains_key(atari.name) && references.human.contains_key(atari.name),
        "no random and human reference scores for '{}' in {}",
        atari.name,
        references.dir.display()
    );
    Ok(atari.name.to_string())
}

/// The score from eval.json, else from the last evaluation among `records` (the
/// run's metrics.jsonl).
fn read_score(run_dir: &Path, game: &str, records: &[EpochMetrics]) -> Result<Evaluation> {
    let eval_path = RunFolder::new(run_dir).eval_file();
    if eval_path.exists() {
        return evaluation_in(&read_json(&eval_path)?, &eval_path, game);
    }
    let last = records
        .iter()
        .rev()
        .find_map(|record| Some((record.eval.as_ref()?, record.epoch)));
    let Some((eval, epoch)) = last else {
        bail!("no evaluation yet: neither eval.json nor an `eval` entry in metrics.jsonl")
    };
    Ok(Evaluation {
        score: f64::from(eval.mean_return),
        source: ScoreSource::TrainingEval {
            epoch: Some(epoch as u64),
        },
        returns: eval.returns.iter().map(|&r| f64::from(r)).collect(),
    })
}

/// The `returns` list of an evaluation record, when it has one.
fn returns_of(eval: &Value) -> Option<Vec<f64>> {
    eval.get("returns")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_f64).collect())
}

/// The score in an eval.json's contents `eval`, read from `path`.
fn evaluation_in(eval: &Value, path: &Path, game: &str) -> Result<Evaluation> {
    if let Some(named) = eval.get("game").and_then(Value::as_str) {
        let same = named.eq_ignore_ascii_case(game)
            || AtariGame::find(named).is_ok_and(|atari| atari.name == game);
        ensure!(
            same,
            "{} is for game '{named}' but the run's config says '{game}'",
            path.display()
        );
    }
    let returns = returns_of(eval);
    let score = eval
        .get("mean_return")
        .and_then(Value::as_f64)
        .filter(|score| score.is_finite())
        .or_else(|| returns.as_deref().filter(|r| !r.is_empty()).map(mean))
        .with_context(|| format!("{} has neither `mean_return` nor `returns`", path.display()))?;
    let episodes = eval
        .get("episodes")
        .and_then(Value::as_u64)
        .or(returns.as_ref().map(|r| r.len() as u64));
    Ok(Evaluation {
        score,
        source: ScoreSource::EvalFile { episodes },
        returns: returns.unwrap_or_default(),
    })
}

/// The reference folder: `$REM_DATA_DIR` when set, else the first of
/// `../shared/data/atari100k` from the current folder and from the repository.
pub fn reference_data_dir() -> Result<PathBuf> {
    // The current folder is made absolute so that an error names a place one can check.
    let candidates = [
        std::env::current_dir()
            .unwrap_or_default()
            .join("../shared/data/atari100k"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/atari100k"),
    ];
    locate_reference_dir(
        std::env::var_os(DATA_DIR_VARIABLE).map(PathBuf::from),
        &candidates,
    )
}

/// An explicit folder must exist; otherwise the first existing candidate wins.
pub fn locate_reference_dir(explicit: Option<PathBuf>, candidates: &[PathBuf]) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        ensure!(
            dir.is_dir(),
            "reference score folder {} (from {DATA_DIR_VARIABLE}) does not exist",
            dir.display()
        );
        return Ok(dir);
    }
    if let Some(dir) = candidates.iter().find(|dir| dir.is_dir()) {
        return Ok(dir.clone());
    }
    let looked: Vec<String> = candidates
        .iter()
        .map(|dir| dir.display().to_string())
        .collect();
    bail!(
        "no reference score folder found; looked in {} (set {DATA_DIR_VARIABLE} to choose one)",
        looked.join(", ")
    )
}

impl References {
    /// Reads `RANDOM.json`, `HUMAN.json` and `REM.json` (game -> list of scores) from `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let single = |name: &str| -> Result<BTreeMap<String, f64>> {
            Ok(read_score_lists(&dir.join(name))?
                .into_iter()
                .map(|(game, scores)| (game, mean(&scores)))
                .collect())
        };
        let references = References {
            dir: dir.to_path_buf(),
            random: single("RANDOM.json")?,
            human: single("HUMAN.json")?,
            rem: read_score_lists(&dir.join("REM.json"))?,
        };
        for (game, human) in &references.human {
            let random = references.random.get(game).with_context(|| {
                format!(
                    "{}: '{game}' is in HUMAN.json but not RANDOM.json",
                    dir.display()
                )
            })?;
            ensure!(
                human != random,
                "{}: human and random scores of '{game}' are equal",
                dir.display()
            );
        }
        Ok(references)
    }

    /// (score - random) / (human - random), for games with both references.
    pub fn normalise(&self, game: &str, score: f64) -> Option<f64> {
        let (random, human) = (self.random.get(game)?, self.human.get(game)?);
        Some((score - random) / (human - random))
    }
}

/// A JSON object of game -> scores, where a score may be one number or a list.
fn read_score_lists(path: &Path) -> Result<BTreeMap<String, Vec<f64>>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read reference scores {}", path.display()))?;
    let table: BTreeMap<String, Value> = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a JSON object", path.display()))?;
    table
        .into_iter()
        .map(|(game, value)| {
            let scores = match &value {
                Value::Array(list) => list.iter().map(Value::as_f64).collect::<Option<Vec<_>>>(),
                single => single.as_f64().map(|score| vec![score]),
            };
            match scores {
                Some(scores) if !scores.is_empty() => Ok((game, scores)),
                _ => bail!(
                    "{}: scores of '{game}' are not a number or a non-empty list of numbers",
                    path.display()
                ),
            }
        })
        .collect()
}

impl Aggregates {
    /// Aggregates of human-normalised scores given per game, one per run; `None` for no games.
    pub fn from_hns(per_game: &BTreeMap<String, Vec<f64>>) -> Option<Self> {
        let runs: Vec<&[f64]> = per_game
            .values()
            .map(Vec::as_slice)
            .filter(|runs| !runs.is_empty())
            .collect();
        if runs.is_empty() {
            return None;
        }
        let (mean, median, iqm) = point_aggregates(&runs);
        let resampled = runs.iter().any(|game| game.len() > 1);
        Some(Aggregates {
            games: runs.len(),
            scores: runs.iter().map(|game| game.len()).sum(),
            mean,
            median,
            iqm,
            superhuman: runs.iter().filter(|game| self::mean(game) >= 1.0).count(),
            ci95: resampled.then(|| stratified_bootstrap(&runs)),
        })
    }

    /// Mean, median, IQM and superhuman count as table cells.
    fn cells(&self) -> [String; 4] {
        let with_ci = |value: f64, ci: Option<(f64, f64)>| match ci {
            Some((low, high)) => format!("{value:.3} [{low:.3}, {high:.3}]"),
            None => format!("{value:.3}"),
        };
        let ci = self.ci95;
        [
            with_ci(self.mean, ci.map(|c| c.mean)),
            with_ci(self.median, ci.map(|c| c.median)),
            with_ci(self.iqm, ci.map(|c| c.iqm)),
            format!("{}/{}", self.superhuman, self.games),
        ]
    }
}

/// Mean and median of the per-game means, and IQM of all run x game scores.
fn point_aggregates(per_game: &[&[f64]]) -> (f64, f64, f64) {
    let game_means: Vec<f64> = per_game.iter().map(|runs| mean(runs)).collect();
    let all: Vec<f64> = per_game
        .iter()
        .flat_map(|runs| runs.iter().copied())
        .collect();
    (
        mean(&game_means),
        median(&game_means),
        interquartile_mean(&all),
    )
}

/// `values.len()` values drawn from `values` with replacement.
fn resample(values: &[f64], rng: &mut rand::rngs::StdRng) -> Vec<f64> {
    use rand::Rng;
    (0..values.len())
        .map(|_| values[rng.random_range(0..values.len())])
        .collect()
}

/// [`AggregateIntervals`] of `per_game` run scores, from a fixed seed.
fn stratified_bootstrap(per_game: &[&[f64]]) -> AggregateIntervals {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let mut draws = [const { Vec::new() }; 3];
    for _ in 0..BOOTSTRAP_RESAMPLES {
        let drawn: Vec<Vec<f64>> = per_game
            .iter()
            .map(|runs| resample(runs, &mut rng))
            .collect();
        let games: Vec<&[f64]> = drawn.iter().map(Vec::as_slice).collect();
        let (mean, median, iqm) = point_aggregates(&games);
        for (draw, value) in draws.iter_mut().zip([mean, median, iqm]) {
            draw.push(value);
        }
    }
    let [mean, median, iqm] = draws.map(percentile_interval);
    AggregateIntervals { mean, median, iqm }
}

/// The 2.5th and 97.5th percentiles of `draws`.
fn percentile_interval(mut draws: Vec<f64>) -> (f64, f64) {
    draws.sort_by(f64::total_cmp);
    let at = |q: f64| draws[((q * (draws.len() - 1) as f64).round()) as usize];
    (at(0.025), at(0.975))
}

pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// The middle value, or the mean of the two middle values for an even count;
/// NaN for no values, like [`mean`].
pub fn median(values: &[f64]) -> f64 {
    let sorted = sorted(values);
    let n = sorted.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// The mean after dropping floor(n/4) values from each end (a 25% trimmed mean,
/// as `scipy.stats.trim_mean(values, 0.25)` and the published IQMs use).
pub fn interquartile_mean(values: &[f64]) -> f64 {
    let sorted = sorted(values);
    let cut = sorted.len() / 4;
    mean(&sorted[cut..sorted.len() - cut])
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
}

/// Bar chart of each game's mean human-normalised score, ours beside REM's.
pub fn write_report_plot(report: &Report, svg_path: &Path) -> Result<()> {
    ensure!(
        !report.games.is_empty(),
        "no Atari runs in the report, so no human-normalised scores to plot"
    );
    let games = &report.games;
    ours_beside_rem(
        "Human-normalised score per game".into(),
        games.iter().map(|g| g.game.clone()).collect(),
        (games.iter().map(|g| Some(g.mean_hns)).collect(), vec![]),
        (games.iter().map(|g| g.rem_hns).collect(), vec![]),
    )
    .write(svg_path)
}

/// Bar chart of the aggregates (mean, median, IQM of human-normalised scores) with
/// their 95% stratified-bootstrap intervals, ours beside REM's over the same games.
pub fn write_aggregates_plot(report: &Report, svg_path: &Path) -> Result<()> {
    let Some(ours) = &report.ours else {
        bail!("no Atari runs in the report, so no aggregates to plot")
    };
    let bars = |a: Option<&Aggregates>| {
        let values = vec![a.map(|a| a.mean), a.map(|a| a.median), a.map(|a| a.iqm)];
        let intervals = match a.and_then(|a| a.ci95) {
            Some(ci) => vec![Some(ci.mean), Some(ci.median), Some(ci.iqm)],
            None => vec![],
        };
        (values, intervals)
    };
    ours_beside_rem(
        format!("Human-normalised score over {} games (95% CI)", ours.games),
        vec!["mean".into(), "median".into(), "IQM".into()],
        bars(Some(ours)),
        bars(report.rem.as_ref()),
    )
    .write(svg_path)
}

/// Bars and their intervals, one per category.
type Bars = (Vec<Option<f64>>, Vec<Option<(f64, f64)>>);

/// A chart of human-normalised scores per category, ours beside REM's, with the
/// human level marked.
fn ours_beside_rem(title: String, categories: Vec<String>, ours: Bars, rem: Bars) -> BarChart {
    let group = |label: &str, color: &str, (values, intervals): Bars| BarGroup {
        label: label.into(),
        color: color.into(),
        values,
        intervals,
    };
    BarChart {
        title,
        y_label: "human-normalised score".into(),
        categories,
        groups: vec![
            group("ours", "#1f5fa8", ours),
            group("REM (published)", "#e07b39", rem),
        ],
        reference_line: Some((1.0, "human".into())),
    }
}

impl fmt::Display for ScoreSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScoreSource::EvalFile { episodes: Some(n) } => write!(f, "eval.json ({n} episodes)"),
            ScoreSource::EvalFile { episodes: None } => write!(f, "eval.json"),
            ScoreSource::TrainingEval { epoch: Some(epoch) } => {
                write!(f, "metrics.jsonl (epoch {epoch})")
            }
            ScoreSource::TrainingEval { epoch: None } => write!(f, "metrics.jsonl"),
        }
    }
}

/// `value` with `decimals`, or "-".
fn optional(value: Option<f64>, decimals: usize) -> String {
    value.map_or("-".to_string(), |v| format!("{v:.decimals$}"))
}

/// `[low, high]`, or "-".
fn interval(ci: Option<(f64, f64)>) -> String {
    ci.map_or("-".to_string(), |(low, high)| {
        format!("[{low:.2}, {high:.2}]")
    })
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_runs(f)?;
        if self.games.is_empty() {
            return Ok(());
        }
        writeln!(f)?;
        self.write_games(f)?;
        writeln!(f)?;
        self.write_aggregates(f)
    }
}

impl Report {
    /// One line per run folder.
    fn write_runs(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .runs
            .iter()
            .map(|run| run.run_dir.display().to_string().len())
            .max()
            .unwrap_or(0)
            .max(32);
        writeln!(
            f,
            "{:<width$} {:<14} {:>6} {:>6} {:>9} {:>9} {:>18} {:>8} {:>26}  source",
            "run",
            "game",
            "seed",
            "min",
            "env steps",
            "score",
            "95% CI",
            "HNS",
            "initial policy (95% CI)"
        )?;
        for run in &self.runs {
            let seed = match run.policy {
                Policy::Random => "random".to_string(),
                Policy::Agent => run.seed.map_or("-".to_string(), |seed| seed.to_string()),
            };
            let initial = &run.initial_policy_returns;
            let initial = if initial.is_empty() {
                "-".to_string()
            } else {
                format!("{:.2} {}", mean(initial), interval(bootstrap_ci(initial)))
            };
            writeln!(
                f,
                "{:<width$} {:<14} {seed:>6} {:>6} {:>9} {:>9.2} {:>18} {:>8} {initial:>26}  {}",
                run.run_dir.display(),
                run.game,
                optional(run.minutes, 1),
                run.env_steps
                    .map_or("-".to_string(), |steps| steps.to_string()),
                run.score,
                interval(run.ci95),
                optional(run.hns, 3),
                run.source
            )?;
        }
        Ok(())
    }

    /// One line per Atari game: our mean, the random policy's, REM's.
    fn write_games(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<14} {:>4} {:>10} {:>8} {:>28} | {:>10} {:>8}",
            "game", "runs", "score", "HNS", "random policy (95% CI)", "REM score", "REM HNS"
        )?;
        for game in &self.games {
            let random = game.random_policy.map_or("-".to_string(), |(score, ci)| {
                format!("{score:.2} {}", interval(ci))
            });
            writeln!(
                f,
                "{:<14} {:>4} {:>10.2} {:>8.3} {random:>28} | {:>10} {:>8}",
                game.game,
                game.runs,
                game.mean_score,
                game.mean_hns,
                optional(game.rem_mean_score, 2),
                optional(game.rem_hns, 3)
            )?;
        }
        Ok(())
    }

    /// Mean, median, IQM and superhuman count of the human-normalised scores.
    fn write_aggregates(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let column = |aggregates: &Option<Aggregates>| {
            aggregates.as_ref().map_or("-".to_string(), |a| {
                format!("{} game{}", a.games, if a.games == 1 { "" } else { "s" })
            })
        };
        writeln!(
            f,
            "{:<14} {:>28} {:>28}",
            "HNS over",
            format!("ours ({})", column(&self.ours)),
            format!("REM ({})", column(&self.rem))
        )?;
        let cells = |aggregates: &Option<Aggregates>| {
            aggregates.as_ref().map_or(
                ["-".to_string(), "-".into(), "-".into(), "-".into()],
                Aggregates::cells,
            )
        };
        let (ours, rem) = (cells(&self.ours), cells(&self.rem));
        for (index, name) in ["mean", "median", "IQM", "superhuman"]
            .into_iter()
            .enumerate()
        {
            writeln!(f, "{name:<14} {:>28} {:>28}", ours[index], rem[index])?;
        }
        Ok(())
    }
}
