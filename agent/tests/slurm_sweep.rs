//! `rem sweep --slurm` on a real Slurm: a single-node cluster started by
//! scripts/slurm/start.sh (`.ci/run` does it and exports SLURM_CONF). A tiny sweep of
//! the native games runs as a job array; one task is told to stop (SIGTERM, as before
//! preemption), requeues itself, and its run continues from its checkpoint to the
//! metrics of an uninterrupted run. Without a cluster the tests say SKIPPED and pass.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod common;
use common::*;

/// Whether a cluster is reachable; prints why not.
fn slurm_cluster() -> bool {
    let conf = std::env::var_os("SLURM_CONF");
    let sbatch = Command::new("sbatch").arg("--version").output();
    let ready = conf.is_some() && sbatch.is_ok_and(|out| out.status.success());
    if !ready {
        eprintln!(
            "SKIPPED: no Slurm cluster (SLURM_CONF unset or no sbatch); \
             scripts/slurm/start.sh DIR starts one, as .ci/run does"
        );
    }
    ready
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Cancels the array job when the test ends, passed or not.
struct CancelOnDrop(String);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("scancel").arg(&self.0).output();
    }
}

/// Polls `done` every half second; panics with `what` and the sweep's logs after
/// `limit`.
fn wait_until(limit: Duration, what: &str, logs: &Path, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        if started.elapsed() > limit {
            let mut all = String::new();
            for entry in std::fs::read_dir(logs).into_iter().flatten().flatten() {
                let log = std::fs::read_to_string(entry.path()).unwrap_or_default();
                all.push_str(&format!("== {}\n{log}\n", entry.path().display()));
            }
            panic!("{what} within {limit:?}; logs:\n{all}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn the_dry_run_script_of_atari100k_passes_sbatch_test_only() {
    if !slurm_cluster() {
        return;
    }
    let out = temp_dir("slurm-dry-run");
    let printed = rem()
        .args([
            "sweep",
            "--config-dir",
            "runs/atari100k",
            "--dry-run",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_success(&printed);
    let script = std::env::temp_dir().join(format!("rem-atari100k-{}.sbatch", std::process::id()));
    std::fs::write(&script, &printed.stdout).unwrap();
    let checked = Command::new("sbatch")
        .arg("--test-only")
        .arg(&script)
        .output()
        .unwrap();
    assert!(checked.status.success(), "{}", text(&checked));
    let _ = std::fs::remove_file(&script);
}

#[test]
fn a_slurm_sweep_task_stopped_by_sigterm_requeues_and_ends_as_if_uninterrupted() {
    if !slurm_cluster() {
        return;
    }
    let epochs = ["collect.epochs=10", "collect.collect_until_epoch=10"];
    let configs = tiny_config_dir("slurm-configs", &epochs);
    let out = temp_dir("slurm-sweep");
    let submitted = sweep_command(&configs, &out, &["--slurm", "--max-parallel", "2"])
        .output()
        .unwrap();
    assert_success(&submitted);
    let stdout = String::from_utf8_lossy(&submitted.stdout).into_owned();
    let job = stdout
        .split("submitted job array ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no job id in {stdout}"))
        .to_string();
    let _cancel = CancelOnDrop(job.clone());
    let logs = out.join("logs");

    // Task 0 trains bricks with seed 0: stop it after its second epoch.
    let run = out.join("runs/bricks-seed0");
    wait_until(
        Duration::from_secs(180),
        "task 0 logged no 2 epochs",
        &logs,
        || metric_lines(&run) >= 2,
    );
    assert!(
        metric_lines(&run) < 10,
        "task 0 ended before it could be stopped"
    );
    // scancel retries while the task is in transition (as it is while the array has
    // pending tasks), and a late retry would hit the requeued task: it is stopped
    // once the task has acted on the first signal.
    let mut scancel = Command::new("scancel")
        .args(["--batch", "--signal=TERM", &format!("{job}_0")])
        .spawn()
        .unwrap();
    let log_path = logs.join(format!("slurm-{job}_0.log"));
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    wait_until(
        Duration::from_secs(120),
        "task 0 did not requeue",
        &logs,
        || log().contains("requeueing it"),
    );
    let _ = scancel.kill();
    let _ = scancel.wait();

    wait_until(
        Duration::from_secs(300),
        "the job array did not end",
        &logs,
        || {
            let queue = Command::new("squeue").args(["-h", "-j", &job]).output();
            queue.is_ok_and(|q| q.status.success() && q.stdout.is_empty())
        },
    );
    let log = log();
    assert_eq!(log.matches("starts on").count(), 2, "{log}");
    assert_eq!(log.matches("requeueing it").count(), 1, "{log}");
    for entry in std::fs::read_dir(out.join("runs")).unwrap() {
        let dir = entry.unwrap().path();
        assert_eq!(metric_lines(&dir), 10, "{}", dir.display());
    }

    assert_same_metrics_as_alone(&run, &configs.join("bricks.toml"), 0, "slurm-alone");

    let status = rem().args(["sweep", "status"]).arg(&out).output().unwrap();
    assert_success(&status);
    let rows: Vec<String> = text(&status)
        .lines()
        .filter(|line| line.contains("-seed"))
        .map(String::from)
        .collect();
    assert_eq!(rows.len(), 6, "{}", text(&status));
    assert!(
        rows.iter()
            .all(|row| row.ends_with("done") || row.ends_with("COMPLETED")),
        "{}",
        text(&status)
    );
    for dir in [&configs, &out] {
        let _ = std::fs::remove_dir_all(dir);
    }
}
