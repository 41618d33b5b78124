//! One folder -> [`RunScore`]: a training run's folder (config.toml, metrics.jsonl,
//! eval.json), a random-policy folder of `rem eval --policy random`, or the folder of
//! a checkpoint's evaluation of `rem eval --run RUN --out DIR`.

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use rem_envs::atari::AtariGame;
use serde_json::Value;

use super::statistics::{bootstrap_ci, mean};
use super::{KeptEvaluation, Policy, References, RunScore, ScoreSource};
use crate::evaluation::{is_random_over_some_actions, RANDOM_POLICY};
use crate::provenance::{Code, Provenance};
use crate::run_folder::RunFolder;
use crate::training::metrics::{read_metrics, EpochMetrics};

/// The game a run folder or an evaluation's folder names, when it can be read.
pub(super) fn named_game(run_dir: &Path) -> Option<String> {
    let evaluation = evaluation_only(run_dir).ok().flatten();
    match evaluation {
        Some((eval, _)) => eval.get("game").and_then(Value::as_str).map(String::from),
        None => read_game_and_seed(run_dir).ok().map(|(game, _)| game),
    }
}

/// Reads one run folder: its game and seed from `config.toml`, its score from
/// `eval.json` when `rem eval` has written one, else from the last evaluation in
/// `metrics.jsonl`. A folder of `rem eval --policy random` (an eval.json for the
/// checkpoint "random" and no config) reads as the game's random-policy baseline; one
/// of `rem eval --run RUN --out DIR` (an eval.json for a checkpoint and no config) as
/// an agent's score of unknown seed.
pub fn read_run(run_dir: &Path, references: &References) -> Result<RunScore> {
    let context = || format!("run folder {}", run_dir.display());
    let eval_path = RunFolder::new(run_dir).eval_file();
    if let Some((eval, policy)) = evaluation_only(run_dir)? {
        let game = eval
            .get("game")
            .and_then(Value::as_str)
            .with_context(|| format!("{} has no string `game`", eval_path.display()))?;
        let game = canonical_game(game, references).with_context(context)?;
        let evaluation = evaluation_in(&eval, &eval_path, &game).with_context(context)?;
        let mut run = RunScore::new(run_dir, game, None, policy, evaluation, references);
        run.code = evaluation_code(&eval, &eval_path)?
            .into_iter()
            .map(Some)
            .collect();
        if policy == Policy::Agent {
            run.checkpoint = eval
                .get("checkpoint")
                .and_then(Value::as_str)
                .map(PathBuf::from);
        }
        return Ok(run);
    }
    let folder = RunFolder::new(run_dir);
    ensure!(run_dir.is_dir(), "{}: no such folder", run_dir.display());
    ensure!(
        folder.holds_run(),
        "{} holds neither a run (config.toml) nor an evaluation (eval.json)",
        run_dir.display()
    );
    let (game, seed) = read_game_and_seed(run_dir)?;
    let game = canonical_game(&game, references).with_context(context)?;
    let metrics_path = folder.metrics_file();
    let has_metrics = metrics_path.exists();
    let records = if has_metrics {
        read_metrics(&metrics_path).with_context(context)?
    } else {
        Vec::new()
    };
    let evaluation = read_score(run_dir, &game, &records).with_context(context)?;
    let mut run = RunScore::new(run_dir, game, seed, Policy::Agent, evaluation, references);
    run.code = distinct_codes(folder.provenance()?);
    if has_metrics {
        run.minutes = Some(records.iter().map(EpochMetrics::total_seconds).sum::<f64>() / 60.0);
        run.env_steps = records.last().map(|record| record.env_steps as u64);
        run.initial_policy_returns = initial_policy_returns(&records);
        run.evaluations = records
            .iter()
            .filter_map(|record| Some((record.env_steps as u64, record.eval.as_ref()?)))
            .map(|(steps, eval)| (steps, f64::from(eval.mean_return)))
            .collect();
        run.kept_evaluations = kept_evaluations(run_dir, &run.game, &records)?;
    }
    Ok(run)
}

/// The evaluations of the run's kept models that `rem eval --run RUN --kept` wrote to
/// `RUN/epoch-N/eval.json`, placed at the environment steps of epoch N in `records`
/// (metrics.jsonl), oldest first. One of an epoch not logged there, or of another
/// checkpoint than the epoch's, is left out.
pub(crate) fn kept_evaluations(
    run_dir: &Path,
    game: &str,
    records: &[EpochMetrics],
) -> Result<Vec<KeptEvaluation>> {
    let mut kept = Vec::new();
    for entry in
        std::fs::read_dir(run_dir).with_context(|| format!("cannot read {}", run_dir.display()))?
    {
        let dir = entry?.path();
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let Some(epoch) = name.strip_prefix("epoch-").and_then(|e| e.parse().ok()) else {
            continue;
        };
        let eval_path = RunFolder::new(&dir).eval_file();
        if !eval_path.exists() {
            continue;
        }
        // Without the epoch's record its steps are unknown: no point to draw.
        let Some(record) = records.iter().find(|record| record.epoch == epoch) else {
            continue;
        };
        let eval = read_json(&eval_path)?;
        // Only an evaluation of that epoch's kept models belongs on the curve.
        let scored = eval.get("checkpoint").and_then(Value::as_str);
        if !scored.is_some_and(|c| c.ends_with(&format!("epoch-{epoch:06}"))) {
            continue;
        }
        let evaluation = evaluation_in(&eval, &eval_path, game)?;
        kept.push(KeptEvaluation {
            epoch,
            env_steps: record.env_steps as u64,
            mean_return: evaluation.score,
            episodes: evaluation.returns.len(),
            ci95: bootstrap_ci(&evaluation.returns),
        });
    }
    kept.sort_by_key(|k| k.epoch);
    Ok(kept)
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

/// The code of each start and resume, in order, each once; led by `None` where the
/// first line is a resume, whose run started before its start was recorded.
fn distinct_codes(provenance: Vec<Provenance>) -> Vec<Option<Code>> {
    let mut codes = Vec::new();
    if provenance.first().is_some_and(Provenance::is_resume) {
        codes.push(None);
    }
    for code in provenance.into_iter().map(|p| Some(p.code)) {
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
}

/// The code an eval.json says made it; None in files from before it was recorded.
fn evaluation_code(eval: &Value, eval_path: &Path) -> Result<Option<Code>> {
    let Some(provenance) = eval.get("provenance") else {
        return Ok(None);
    };
    let provenance: Provenance = serde_json::from_value(provenance.clone())
        .with_context(|| format!("{}: unreadable `provenance`", eval_path.display()))?;
    Ok(Some(provenance.code))
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
            code: Vec::new(),
            evaluations: Vec::new(),
            kept_evaluations: Vec::new(),
            initial_policy_returns: Vec::new(),
            checkpoint: None,
            checkpoint_of: None,
        }
    }
}

/// The evaluation of a folder that holds an eval.json and no config, and whose policy
/// it scored: the random policy for the checkpoint "random", else the agent; `None`
/// for any other folder. An eval.json of random play over some actions only is an
/// error: it is no game's baseline.
fn evaluation_only(run_dir: &Path) -> Result<Option<(Value, Policy)>> {
    let folder = RunFolder::new(run_dir);
    let eval_path = folder.eval_file();
    if folder.holds_run() || !eval_path.exists() {
        return Ok(None);
    }
    let eval = read_json(&eval_path)?;
    match eval.get("checkpoint").and_then(Value::as_str) {
        Some(RANDOM_POLICY) => Ok(Some((eval, Policy::Random))),
        Some(other) if is_random_over_some_actions(other) => bail!(
            "{} scores \"{other}\": random play over some actions is no baseline, and \
             `rem report` compares runs with uniform random play only",
            eval_path.display()
        ),
        _ => Ok(Some((eval, Policy::Agent))),
    }
}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
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
