//! `rem eval --run RUN --kept`: every model a run kept (RUN/models/epoch-N), scored
//! through the evaluation protocol into RUN/epoch-N/, or RUN/temperature-T/epoch-N/ at
//! another temperature than the run's. Every epoch plays the same episodes (the run's
//! evaluation seed), so a model that acts like one scored already
//! ([`Checkpoint::acts_like`]: epochs 10-30 of the Atari files, before the controller's
//! first step) gets that evaluation without playing it again.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{ensure, Result};
use burn::tensor::backend::Backend;
use rem_agent::evaluation::{
    evaluate_run, read_report, write_report, EvalReport, EvalStats, RunEvalRequest,
};
use rem_agent::outln;
use rem_agent::report::bootstrap_ci;
use rem_agent::run_folder::{ensure_kept, Checkpoint, RunFolder};
use rem_agent::terminal::progress::progress_bar;
use rem_agent::training::metrics::read_metrics;

use super::show_progress;

/// What `rem eval --kept` is asked for; each `None` takes the run's own
/// (`eval.final_episodes`, `eval.temperature`).
pub struct KeptRequest<'a> {
    pub run: &'a Path,
    pub episodes: Option<usize>,
    pub temperature: Option<f32>,
    /// The kept epochs to score; empty: every one.
    pub epochs: &'a [usize],
}

/// An epoch's evaluation with at least the episodes asked for, at the temperature asked.
struct Scored {
    epoch: usize,
    checkpoint: Checkpoint,
    /// [`Checkpoint::policy_hash`], read once.
    policy_hash: u64,
    report: EvalReport,
}

pub fn score_kept_models<B: Backend>(request: &KeptRequest<'_>, device: &B::Device) -> Result<()> {
    let folder = RunFolder::new(request.run);
    let kept = folder.kept_models()?;
    ensure!(
        !kept.is_empty(),
        "{} keeps no models (its config's checkpoint.keep_models_every_epochs is 0, or no \
         such epoch has ended)",
        request.run.display()
    );
    let kept = chosen_epochs(kept, request.epochs)?;
    let config = folder.config(&[])?;
    let wanted = request.episodes.unwrap_or(config.eval.final_episodes);
    let temperature = request.temperature.unwrap_or(config.eval.temperature);
    let own_temperature = temperature == config.eval.temperature;
    let own_evaluations = match own_temperature {
        true => own_evaluations(&folder)?,
        false => BTreeMap::new(),
    };
    // RUN/epoch-N at the run's own temperature, RUN/temperature-T/epoch-N at another.
    let root = match own_temperature {
        true => request.run.to_path_buf(),
        false => request.run.join(format!("temperature-{temperature}")),
    };
    let mut scored: Vec<Scored> = Vec::new();
    for (epoch, checkpoint) in kept {
        let out = RunFolder::new(root.join(format!("epoch-{epoch}")));
        let policy_hash = checkpoint.policy_hash()?;
        let scored_as = |report| Scored {
            epoch,
            checkpoint: checkpoint.clone(),
            policy_hash,
            report,
        };
        if let Some(report) = read_report(&out)?.filter(|r| r.episodes >= wanted) {
            outln!(
                "epoch {epoch:>4}: scored already in {}",
                out.root().display()
            );
            if report.temperature == Some(temperature) {
                scored.push(scored_as(report));
            }
            continue;
        }
        if let Some(own) = own_evaluations.get(&epoch).filter(|e| e.episodes >= wanted) {
            outln!(
                "epoch {epoch:>4}: scored by the run's own evaluation, mean return {:.1} over \
                 {} episodes, in {}",
                own.mean_return,
                own.episodes,
                folder.metrics_file().display()
            );
            continue;
        }
        let source = first_acting_alike(&checkpoint, policy_hash, &scored)?;
        let report = score_epoch::<B>(request, epoch, &checkpoint, source, &out, device)?;
        scored.push(scored_as(report));
    }
    Ok(())
}

/// The kept models of `epochs`, in the order kept; all of them when `epochs` is empty.
fn chosen_epochs(
    kept: Vec<(usize, Checkpoint)>,
    epochs: &[usize],
) -> Result<Vec<(usize, Checkpoint)>> {
    let kept_epochs: Vec<usize> = kept.iter().map(|(epoch, _)| *epoch).collect();
    ensure_kept(&kept_epochs, epochs.iter().copied())?;
    Ok(kept
        .into_iter()
        .filter(|(epoch, _)| epochs.is_empty() || epochs.contains(epoch))
        .collect())
}

/// Epoch `epoch`'s evaluation into `out`: that of `source`, an epoch whose models act
/// alike, or played.
fn score_epoch<B: Backend>(
    request: &KeptRequest<'_>,
    epoch: usize,
    checkpoint: &Checkpoint,
    source: Option<&Scored>,
    out: &RunFolder,
    device: &B::Device,
) -> Result<EvalReport> {
    let (report, note) = match source {
        Some(source) => {
            let note = format!(
                " (epoch {}'s: the same tokenizer and controller, byte for byte, on the same \
                 episodes)",
                source.epoch
            );
            (give_evaluation(&source.report, checkpoint, out)?, note)
        }
        None => {
            let label = format!("epoch {epoch}: eval");
            let played = play_kept_model::<B>(request, checkpoint, out, &label, device)?;
            (played, String::new())
        }
    };
    print_kept_score(epoch, &report, out.root(), &note);
    Ok(report)
}

/// The first of `scored` whose models act like `checkpoint`'s (whose policy hash is
/// `policy_hash`): only equal hashes are compared byte for byte.
fn first_acting_alike<'a>(
    checkpoint: &Checkpoint,
    policy_hash: u64,
    scored: &'a [Scored],
) -> Result<Option<&'a Scored>> {
    for candidate in scored.iter().filter(|s| s.policy_hash == policy_hash) {
        if checkpoint.acts_like(&candidate.checkpoint)? {
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

/// `report`, the evaluation of a checkpoint that acts like `checkpoint`, as
/// `checkpoint`'s in `out`.
fn give_evaluation(
    report: &EvalReport,
    checkpoint: &Checkpoint,
    out: &RunFolder,
) -> Result<EvalReport> {
    let report = EvalReport {
        checkpoint: checkpoint.dir().display().to_string(),
        ..report.clone()
    };
    std::fs::create_dir_all(out.root())?;
    write_report(out, &report)?;
    Ok(report)
}

/// Plays the run's evaluation episodes with a kept model, into `out`, behind a
/// progress bar labelled `label`.
fn play_kept_model<B: Backend>(
    request: &KeptRequest<'_>,
    checkpoint: &Checkpoint,
    out: &RunFolder,
    label: &str,
    device: &B::Device,
) -> Result<EvalReport> {
    let bar = progress_bar(0);
    let eval_request = RunEvalRequest {
        checkpoint: Some(checkpoint.dir()),
        episodes: request.episodes,
        temperature: request.temperature,
        out: Some(out.root()),
        record: 0,
    };
    let mut on_episode_end = show_progress(&bar, label);
    let report = evaluate_run::<B>(request.run, &eval_request, device, &mut on_episode_end)?;
    bar.finish_and_clear();
    Ok(report)
}

/// A kept model's score: its mean return with the 95% interval, where it went, `note`.
fn print_kept_score(epoch: usize, report: &EvalReport, out: &Path, note: &str) {
    let returns: Vec<f64> = report.returns.iter().map(|&r| f64::from(r)).collect();
    let interval = bootstrap_ci(&returns)
        .map(|(low, high)| format!(" [{low:.1}, {high:.1}]"))
        .unwrap_or_default();
    outln!(
        "epoch {epoch:>4}: mean return {:.1}{interval} over {} episodes, in {}{note}",
        report.mean_return,
        report.episodes,
        out.display()
    );
}

/// The run's own evaluations (metrics.jsonl) by epoch; none where it logged none. Each
/// scored the models kept at the end of its epoch, at the run's temperature.
fn own_evaluations(folder: &RunFolder) -> Result<BTreeMap<usize, EvalStats>> {
    let path = folder.metrics_file();
    if !path.exists() {
        return Ok(BTreeMap::new());
    }
    let records = read_metrics(&path)?;
    Ok(records
        .into_iter()
        .filter_map(|record| Some((record.epoch, record.eval?)))
        .collect())
}
