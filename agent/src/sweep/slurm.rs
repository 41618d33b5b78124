//! A sweep as one Slurm job array: task `i` of the array trains run `i` of the plan.
//! Before preemption or the time limit Slurm signals the batch shell
//! (`--signal=B:TERM@lead`); the script passes SIGTERM on to `rem`, which finishes its
//! epoch, checkpoints and exits with [`STOPPED_EXIT_CODE`], and the script then requeues
//! its own task (`--requeue`), which resumes the run folder when it starts again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};

use super::{SweepPlan, LOGS_DIR};
use crate::training::interrupt::STOPPED_EXIT_CODE;

const SCRIPT_FILE: &str = "sweep.sbatch";
const JOBS_FILE: &str = "slurm_jobs";

/// The resources and limits of each array task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmOptions {
    pub job_name: String,
    pub partition: Option<String>,
    /// Wall-time limit per task, in Slurm's format (e.g. `2-00:00:00`).
    pub time: Option<String>,
    pub gpus_per_task: Option<u32>,
    pub cpus_per_task: Option<u32>,
    /// At most this many tasks run at once (the array's `%` limit).
    pub max_parallel: usize,
    /// Seconds before the end at which Slurm sends SIGTERM; the run's current epoch
    /// must fit in them for nothing to be lost.
    pub signal_lead_seconds: u32,
    /// More `#SBATCH` options, as given (e.g. `--account=rl`).
    pub extra: Vec<String>,
}

/// The array script of the sweep in `sweep_dir` (absolute), run by the `rem` at `rem`.
// Long for its template: the script reads best whole, directives then shell.
pub fn array_script(
    sweep_dir: &Path,
    plan: &SweepPlan,
    rem: &Path,
    options: &SlurmOptions,
) -> String {
    let logs = sweep_dir.join(LOGS_DIR);
    let mut directives = vec![
        format!("--job-name={}", options.job_name),
        format!(
            "--array=0-{}%{}",
            plan.runs.len().saturating_sub(1),
            options.max_parallel.max(1)
        ),
        format!("--output={}/slurm-%A_%a.log", logs.display()),
        "--open-mode=append".into(),
        "--requeue".into(),
        format!("--signal=B:TERM@{}", options.signal_lead_seconds),
        "--ntasks=1".into(),
    ];
    let optional = [
        options
            .partition
            .as_ref()
            .map(|p| format!("--partition={p}")),
        options.time.as_ref().map(|t| format!("--time={t}")),
        options
            .gpus_per_task
            .map(|n| format!("--gpus-per-task={n}")),
        options
            .cpus_per_task
            .map(|n| format!("--cpus-per-task={n}")),
    ];
    directives.extend(optional.into_iter().flatten());
    directives.extend(options.extra.iter().cloned());
    let header: String = directives
        .iter()
        .map(|d| format!("#SBATCH {d}\n"))
        .collect();
    format!(
        r#"#!/bin/bash
{header}
# Task i trains run i of {plan} ({runs} runs); a task that finds its run folder
# holding a run resumes it.
echo "task $SLURM_ARRAY_TASK_ID of job $SLURM_ARRAY_JOB_ID starts on $(hostname) at $(date -Is)"
{rem} sweep task {sweep} "$SLURM_ARRAY_TASK_ID" &
pid=$!
# Slurm signals this shell alone (B:): pass SIGTERM on, so that the run finishes its
# epoch, checkpoints and exits with {stopped}.
trap 'kill -TERM "$pid" 2>/dev/null' TERM
while :; do
    wait "$pid"
    status=$?
    kill -0 "$pid" 2>/dev/null || break
done
if [ "$status" -eq {stopped} ]; then
    echo "task $SLURM_ARRAY_TASK_ID stopped with its checkpoint written; requeueing it"
    scontrol requeue "${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}"
fi
exit "$status"
"#,
        plan = quote(&sweep_dir.join(super::PLAN_FILE)),
        runs = plan.runs.len(),
        rem = quote(rem),
        sweep = quote(sweep_dir),
        stopped = STOPPED_EXIT_CODE,
    )
}

/// `path` as one single-quoted shell word.
fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// Whether `program` is an executable file on `PATH`.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Writes the array script into `sweep_dir`; returns its path.
pub fn write_script(sweep_dir: &Path, script: &str) -> Result<PathBuf> {
    let path = sweep_dir.join(SCRIPT_FILE);
    std::fs::write(&path, script).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Submits `script` with sbatch and records the job id in the sweep folder.
pub fn submit(sweep_dir: &Path, script: &Path) -> Result<String> {
    let output = Command::new("sbatch")
        .arg("--parsable")
        .arg(script)
        .output()
        .context("cannot run sbatch")?;
    if !output.status.success() {
        bail!(
            "sbatch refused {}: {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    // `--parsable` prints "<job id>" or "<job id>;<cluster>".
    let stdout = String::from_utf8_lossy(&output.stdout);
    let job = stdout
        .trim()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    ensure!(!job.is_empty(), "sbatch printed no job id");
    let jobs = sweep_dir.join(JOBS_FILE);
    let mut known = std::fs::read_to_string(&jobs).unwrap_or_default();
    known.push_str(&format!("{job}\n"));
    std::fs::write(&jobs, known).with_context(|| format!("cannot write {}", jobs.display()))?;
    Ok(job)
}

/// The array jobs submitted for the sweep in `sweep_dir`, oldest first.
pub fn submitted_jobs(sweep_dir: &Path) -> Vec<String> {
    std::fs::read_to_string(sweep_dir.join(JOBS_FILE))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(String::from)
        .collect()
}

/// Slurm's state of each array task of `jobs` (e.g. PENDING, RUNNING, COMPLETED,
/// TIMEOUT), by task index; a later job's state wins. Empty without Slurm. Queued
/// tasks come from squeue, ended ones from sacct where accounting answers.
pub fn task_states(jobs: &[String]) -> BTreeMap<usize, String> {
    let mut states = BTreeMap::new();
    if jobs.is_empty() {
        return states;
    }
    let list = jobs.join(",");
    if on_path("sacct") {
        let lines = command_lines(
            "sacct",
            &["-n", "-P", "-X", "-o", "JobID,State", "-j", &list],
        );
        insert_states(&mut states, &lines);
    }
    if on_path("squeue") {
        let lines = command_lines("squeue", &["-h", "-r", "-o", "%i|%T", "-j", &list]);
        insert_states(&mut states, &lines);
    }
    states
}

/// The lines a successful command printed; none when it failed.
fn command_lines(program: &str, args: &[&str]) -> Vec<String> {
    match Command::new(program).args(args).output() {
        Ok(output) if output.status.success() => String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    }
}

/// Reads "<job>_<task>|<STATE ...>" lines; other lines (a pending range such as
/// "12_[3-5]", job steps) are skipped.
fn insert_states(states: &mut BTreeMap<usize, String>, lines: &[String]) {
    for line in lines {
        let Some((id, state)) = line.split_once('|') else {
            continue;
        };
        let Some((_, task)) = id.split_once('_') else {
            continue;
        };
        if let Ok(task) = task.parse::<usize>() {
            let state = state.split_whitespace().next().unwrap_or_default();
            states.insert(task, state.to_string());
        }
    }
}
