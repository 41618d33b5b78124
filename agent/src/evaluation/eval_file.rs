//! `rem eval`'s evaluations: a run's checkpoint, or the random policy, played with
//! [`super::episodes`] and written to the folder's eval.json, which `rem report` reads.

use std::path::Path;

use anyhow::{ensure, Context, Result};
use burn::tensor::backend::Backend;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::episodes::{evaluate, evaluate_random, Episodes, OnEpisodeEnd};
use crate::actor_critic::check_sampling;
use crate::figures::recording::Recording;
use crate::provenance::Provenance;
use crate::run_folder::{RunFolder, SavedRun};

/// What `rem eval` writes to `eval.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalReport {
    pub game: String,
    /// The checkpoint folder evaluated, or `random` for the random policy.
    pub checkpoint: String,
    /// The policy's sampling temperature (absent for random play and in files
    /// written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    pub episodes: usize,
    pub returns: Vec<f32>,
    pub mean_return: f32,
    /// The code, machine and command of the evaluation (absent in files written
    /// before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// What `rem eval --run` is asked for; each `None` takes the run's own: its latest
/// checkpoint, `eval.final_episodes`, `eval.temperature`, and the run folder for
/// eval.json. `record` episodes are written as animations beside eval.json.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunEvalRequest<'a> {
    pub checkpoint: Option<&'a Path>,
    pub episodes: Option<usize>,
    pub temperature: Option<f32>,
    pub out: Option<&'a Path>,
    pub record: usize,
}

/// Evaluates a run's checkpoint with the run's own configuration, as `request`
/// changes it, and writes `eval.json` (and the recorded episodes). The run folder's
/// eval.json is the run's score, which `rem report` reads: only its latest
/// checkpoint at its own temperature goes there, anything else needs `request.out`.
pub fn evaluate_run<B: Backend>(
    run_dir: &Path,
    request: &RunEvalRequest<'_>,
    device: &B::Device,
    on_episode_end: OnEpisodeEnd<'_>,
) -> Result<EvalReport> {
    let SavedRun {
        config,
        checkpoint,
        models,
        ..
    } = SavedRun::<B>::open(run_dir, request.checkpoint, device)?;
    let temperature = request.temperature.unwrap_or(config.eval.temperature);
    check_sampling(temperature, 0.0).context("--temperature")?;
    let out = match request.out {
        Some(out) => {
            let folder = RunFolder::new(out);
            ensure!(
                !folder.holds_run(),
                "{} holds a run, whose eval.json is its own score; choose another --out",
                out.display()
            );
            std::fs::create_dir_all(out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            folder
        }
        None => {
            let folder = RunFolder::new(run_dir);
            let latest = folder.latest_checkpoint()?;
            let is_latest = latest.is_some_and(|l| same_folder(l.dir(), checkpoint.dir()));
            ensure!(
                is_latest && temperature == config.eval.temperature,
                "{} holds the run's score: its latest checkpoint at temperature {}. Write \
                 this evaluation ({} at temperature {temperature}) to a folder of its own \
                 with --out DIR",
                folder.eval_file().display(),
                config.eval.temperature,
                checkpoint.dir().display(),
            );
            folder
        }
    };
    let episodes = request.episodes.unwrap_or(config.eval.final_episodes);
    let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed ^ 0xE7A1);
    let mut recording = Recording::first(request.record);
    let stats = evaluate(
        &models,
        Episodes {
            game: &config.env.game,
            count: episodes,
            seed: config.seed ^ 0xE7A1,
        },
        temperature,
        &mut rng,
        &mut recording,
        on_episode_end,
    )?;
    let report = EvalReport {
        game: config.env.game.clone(),
        checkpoint: checkpoint.dir().display().to_string(),
        temperature: Some(temperature),
        episodes,
        returns: stats.returns,
        mean_return: stats.mean_return,
        provenance: Some(Provenance::of_this_process()),
    };
    write_report(&out, &report)?;
    write_recording(&out, &recording)?;
    Ok(report)
}

/// Whether two paths name the same folder (one may be relative, or reached by a link).
fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Evaluates the uniformly random policy on `episodes` (over the named `actions`, or
/// all of them when empty) with the evaluation protocol and writes `eval.json` into
/// `out_dir`, like a run's, so that `rem report` reads the uniform one as the game's
/// baseline, with the first `record` episodes beside it.
pub fn evaluate_random_policy(
    episodes: Episodes<'_>,
    actions: &[String],
    record: usize,
    out_dir: &Path,
    on_episode_end: OnEpisodeEnd<'_>,
) -> Result<EvalReport> {
    let mut recording = Recording::first(record);
    let stats = evaluate_random(episodes, actions, &mut recording, on_episode_end)?;
    let report = EvalReport {
        game: episodes.game.to_string(),
        checkpoint: random_policy_label(actions),
        temperature: None,
        episodes: episodes.count,
        returns: stats.returns,
        mean_return: stats.mean_return,
        provenance: Some(Provenance::of_this_process()),
    };
    std::fs::create_dir_all(out_dir)?;
    let folder = RunFolder::new(out_dir);
    write_report(&folder, &report)?;
    write_recording(&folder, &recording)?;
    Ok(report)
}

/// The `checkpoint` of a uniformly random policy's evaluation.
pub const RANDOM_POLICY: &str = "random";

/// How the `checkpoint` of random play over some actions only begins.
const RANDOM_OVER: &str = "random over ";

/// The `checkpoint` of random play over `actions` (all of the game's when empty):
/// [`RANDOM_POLICY`], or "random over A, B".
fn random_policy_label(actions: &[String]) -> String {
    match actions {
        [] => RANDOM_POLICY.to_string(),
        names => format!("{RANDOM_OVER}{}", names.join(", ")),
    }
}

/// Whether a `checkpoint` names random play over some actions only.
pub fn is_random_over_some_actions(checkpoint: &str) -> bool {
    checkpoint.starts_with(RANDOM_OVER)
}

/// Replaces the folder's recorded episodes with `recording`'s, if it holds any.
fn write_recording(folder: &RunFolder, recording: &Recording) -> Result<()> {
    if recording.wanted() == 0 {
        return Ok(());
    }
    let dir = folder.episodes_dir();
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    recording.write(&dir)
}

/// The folder's eval.json, as [`write_report`] wrote it; `None` where there is none.
pub fn read_report(folder: &RunFolder) -> Result<Option<EvalReport>> {
    let path = folder.eval_file();
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let report = serde_json::from_str(&text)
        .with_context(|| format!("{} is not an evaluation", path.display()))?;
    Ok(Some(report))
}

/// Writes the folder's eval.json (atomically: a crash leaves the old one or none).
pub fn write_report(folder: &RunFolder, report: &EvalReport) -> Result<()> {
    let path = folder.eval_file();
    rem_envs::durable::write_atomically(&path, |w| {
        serde_json::to_writer_pretty(&mut *w, report).map_err(std::io::Error::other)
    })?;
    Ok(())
}
