//! A sweep on this machine: each task is a `rem sweep task` child process, `parallel`
//! of them at a time, its output in the task's log. A stop request (Ctrl-C, SIGTERM)
//! starts no further task and passes SIGTERM on to the running ones, which checkpoint
//! and exit; launching the sweep again continues them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};

use super::{log_file, SweepPlan};
use crate::terminal::progress::progress_bar;
use crate::training::interrupt::{StopRequest, STOPPED_EXIT_CODE};

/// How each task of a local sweep ended.
#[derive(Debug, Default)]
pub struct LocalSummary {
    pub finished: Vec<usize>,
    /// Stopped on request with a checkpoint: launching the sweep again continues them.
    pub stopped: Vec<usize>,
    /// (task, exit status or signal); the task's log says why.
    pub failed: Vec<(usize, String)>,
    /// Never started because a stop was asked.
    pub not_started: Vec<usize>,
}

impl std::fmt::Display for LocalSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} done, {} stopped, {} failed, {} not started",
            self.finished.len(),
            self.stopped.len(),
            self.failed.len(),
            self.not_started.len()
        )
    }
}

impl LocalSummary {
    /// An error unless every run finished: some failed (see their logs in
    /// `sweep_dir`), or the sweep was stopped.
    pub fn check(&self, sweep_dir: &Path) -> Result<()> {
        let total = self.finished.len() + self.stopped.len() + self.failed.len();
        let total = total + self.not_started.len();
        ensure!(
            self.failed.is_empty(),
            "{} of {total} runs failed; their logs are in {}",
            self.failed.len(),
            sweep_dir.join(super::LOGS_DIR).display()
        );
        ensure!(
            self.stopped.is_empty() && self.not_started.is_empty(),
            "the sweep stopped on request; the same command continues it"
        );
        Ok(())
    }
}

struct Running {
    index: usize,
    child: Child,
    started: Instant,
}

/// Runs every task of the sweep in `sweep_dir` with the `rem` binary `rem`.
pub fn run_local(
    sweep_dir: &Path,
    plan: &SweepPlan,
    parallel: usize,
    rem: &Path,
    stop: &StopRequest,
) -> Result<LocalSummary> {
    let parallel = parallel.max(1);
    let threads = threads_per_task(parallel);
    let bar = progress_bar(plan.runs.len() as u64);
    let mut summary = LocalSummary::default();
    let mut pending = (0..plan.runs.len()).rev().collect::<Vec<_>>();
    let mut running: Vec<Running> = Vec::new();
    let mut forwarded = false;
    while !pending.is_empty() || !running.is_empty() {
        if stop.is_asked() {
            summary.not_started.extend(pending.drain(..).rev());
            if !forwarded {
                running.iter().for_each(|task| terminate(&task.child));
                forwarded = true;
            }
        }
        while running.len() < parallel {
            let Some(index) = pending.pop() else { break };
            let child = spawn_task(sweep_dir, index, rem, threads)?;
            running.push(Running {
                index,
                child,
                started: Instant::now(),
            });
        }
        bar.set_message(format!("{} running", running.len()));
        for task in reap(&mut running)? {
            bar.inc(1);
            bar.suspend(|| crate::outln!("{}", record(&mut summary, plan, sweep_dir, task)));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bar.finish_and_clear();
    Ok(summary)
}

/// rayon threads for each of `parallel` concurrent runs: the cores shared out, since
/// runs that each spin a pool of every core waste much of it (benches/README.md).
/// `RAYON_NUM_THREADS` set by the user wins.
fn threads_per_task(parallel: usize) -> Option<usize> {
    if std::env::var_os("RAYON_NUM_THREADS").is_some() {
        return None;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Some((cores / parallel).max(1))
}

fn spawn_task(sweep_dir: &Path, index: usize, rem: &Path, threads: Option<usize>) -> Result<Child> {
    let log_path = log_file(sweep_dir, index);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    let mut command = Command::new(rem);
    command
        .arg("sweep")
        .arg("task")
        .arg(sweep_dir)
        .arg(index.to_string())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    if let Some(threads) = threads {
        command.env("RAYON_NUM_THREADS", threads.to_string());
    }
    command
        .spawn()
        .with_context(|| format!("cannot start {}", rem.display()))
}

/// Asks a task to checkpoint and stop. A task already gone is fine.
fn terminate(child: &Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
}

/// The tasks that have ended, removed from `running`, with their exit status.
fn reap(running: &mut Vec<Running>) -> Result<Vec<(Running, std::process::ExitStatus)>> {
    let mut ended = Vec::new();
    let mut index = 0;
    while index < running.len() {
        match running[index].child.try_wait()? {
            Some(status) => ended.push((running.swap_remove(index), status)),
            None => index += 1,
        }
    }
    Ok(ended)
}

/// Files the ended task in `summary` and describes it in one line.
fn record(
    summary: &mut LocalSummary,
    plan: &SweepPlan,
    sweep_dir: &Path,
    (task, status): (Running, std::process::ExitStatus),
) -> String {
    let name = plan.runs[task.index].folder.display().to_string();
    let minutes = task.started.elapsed().as_secs_f64() / 60.0;
    match status.code() {
        Some(0) => {
            summary.finished.push(task.index);
            format!("done     {name} ({minutes:.1} min)")
        }
        Some(STOPPED_EXIT_CODE) => {
            summary.stopped.push(task.index);
            format!("stopped  {name} (checkpoint written; launch the sweep again to continue)")
        }
        _ => {
            let log: PathBuf = log_file(sweep_dir, task.index);
            summary.failed.push((task.index, status.to_string()));
            format!("FAILED   {name} ({status}); see {}", log.display())
        }
    }
}
