//! `rem sweep` without Slurm: a local sweep of the native games trains every (game,
//! seed) into its own run folder exactly as `rem train` would, `rem sweep status` and
//! `rem report` read it, a dry run prints the array script of runs/atari100k, and bad
//! input gives one clear line.

use std::path::Path;

mod common;
use common::*;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_local_sweep_trains_every_game_and_seed_as_rem_train_would() {
    let configs = tiny_config_dir("local-configs", &[]);
    let out = temp_dir("local-sweep");
    let launched = sweep_command(&configs, &out, &["--local", "2"])
        .output()
        .unwrap();
    assert_success(&launched);
    assert!(
        stdout(&launched).contains("6 done, 0 stopped, 0 failed, 0 not started"),
        "{}",
        stdout(&launched)
    );
    for game in ["bricks", "catch", "dodge"] {
        for seed in 0..2 {
            let run = out.join(format!("runs/{game}-seed{seed}"));
            assert_eq!(metric_lines(&run), 6, "{}", run.display());
        }
    }
    // A sweep's run is the run `rem train` makes of its config and seed.
    let dodge = out.join("runs/dodge-seed1");
    assert_same_metrics_as_alone(&dodge, &configs.join("dodge.toml"), 1, "local-alone");

    let status = rem().args(["sweep", "status"]).arg(&out).output().unwrap();
    assert_success(&status);
    assert!(
        stdout(&status).contains("6 runs: 6 done"),
        "{}",
        stdout(&status)
    );
    // Native games need no reference scores, so no folder of them.
    let no_references = "/nonexistent/references";
    let report = rem()
        .arg("report")
        .arg(&out)
        .env("REM_DATA_DIR", no_references)
        .output()
        .unwrap();
    assert_success(&report);
    let rows = stdout(&report)
        .lines()
        .filter(|l| l.contains("-seed"))
        .count();
    assert_eq!(rows, 6, "{}", stdout(&report));

    let atari = rem()
        .args(["report", "docs/results/atari-cpu/upndown-seed0"])
        .env("REM_DATA_DIR", no_references)
        .output()
        .unwrap();
    assert_one_line_error(&atari, "(from REM_DATA_DIR) does not exist");

    // Launched again, the sweep finds every run finished; another plan is refused.
    let again = sweep_command(&configs, &out, &["--local", "2"])
        .output()
        .unwrap();
    assert_success(&again);
    assert_eq!(metric_lines(&out.join("runs/catch-seed0")), 6);
    let other = sweep_command(&configs, &out, &["--local", "2", "--games", "catch"])
        .output()
        .unwrap();
    assert_one_line_error(&other, "holds a different sweep");
    for dir in [&configs, &out] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn a_dry_run_prints_the_array_script_of_atari100k_and_writes_nothing() {
    let out = temp_dir("dry-run");
    let printed = rem()
        .args([
            "sweep",
            "--config-dir",
            "runs/atari100k",
            "--seeds",
            "5",
            "--dry-run",
        ])
        .args([
            "--partition",
            "gpu",
            "--time",
            "2-00:00:00",
            "--gpus-per-task",
            "1",
        ])
        .args(["--cpus-per-task", "8", "--extra=--account=rl", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_success(&printed);
    let script = stdout(&printed);
    assert!(script.starts_with("#!/bin/bash\n"), "{script}");
    for line in [
        "#SBATCH --array=0-129%8",
        "#SBATCH --requeue",
        "#SBATCH --signal=B:TERM@600",
        "#SBATCH --open-mode=append",
        "#SBATCH --partition=gpu",
        "#SBATCH --time=2-00:00:00",
        "#SBATCH --gpus-per-task=1",
        "#SBATCH --cpus-per-task=8",
        "#SBATCH --account=rl",
    ] {
        assert!(
            script.lines().any(|l| l == line),
            "no `{line}` in\n{script}"
        );
    }
    assert!(script.contains("sweep task"), "{script}");
    let tasks = String::from_utf8_lossy(&printed.stderr);
    assert_eq!(tasks.lines().count(), 26 * 5, "{tasks}");
    assert!(
        tasks.lines().next().unwrap().contains("Alien seed 0"),
        "{tasks}"
    );
    assert!(!out.exists(), "a dry run writes nothing");

    let syntax = std::process::Command::new("bash")
        .args(["-n", "-c", &script])
        .output()
        .unwrap();
    assert_success(&syntax);

    // Seeds 8 and 9 of two games, in the order named: a second set of seeds, or the
    // seeds of another sweep run again with another setting.
    let later_seeds = rem()
        .args([
            "sweep",
            "--config-dir",
            "runs/atari100k",
            "--games",
            "upndown,MsPacman",
        ])
        .args(["--first-seed", "8", "--seeds", "2", "--dry-run", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_success(&later_seeds);
    let tasks: Vec<String> = String::from_utf8_lossy(&later_seeds.stderr)
        .lines()
        .map(|line| {
            line.split_whitespace()
                .skip(2)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(
        tasks,
        [
            "UpNDown seed 8 -> runs/UpNDown-seed8",
            "UpNDown seed 9 -> runs/UpNDown-seed9",
            "MsPacman seed 8 -> runs/MsPacman-seed8",
            "MsPacman seed 9 -> runs/MsPacman-seed9",
        ]
    );
    assert!(stdout(&later_seeds).contains("#SBATCH --array=0-3%8"));
    assert!(!out.exists(), "a dry run writes nothing");
}

#[test]
fn bad_sweep_input_gives_one_clear_line() {
    let out = temp_dir("bad-sweep");
    let atari = Path::new("runs/atari100k");
    let cases: [(&[&str], &str); 2] = [
        (
            &["--games", "Breakout,Nope", "--dry-run"],
            "unknown game 'Nope'",
        ),
        (&[], "choose where the sweep runs"),
    ];
    for (args, needle) in cases {
        let failed = sweep_command(atari, &out, args).output().unwrap();
        assert_one_line_error(&failed, needle);
    }
    let no_seeds = rem()
        .args([
            "sweep",
            "--config-dir",
            "runs/atari100k",
            "--seeds",
            "0",
            "--dry-run",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_one_line_error(&no_seeds, "--seeds must be at least 1");
    let missing = sweep_command(Path::new("runs/nope"), &out, &["--dry-run"])
        .output()
        .unwrap();
    assert_one_line_error(&missing, "config folder runs/nope does not exist");
    // Slurm absent: no sbatch on PATH.
    let no_slurm = sweep_command(atari, &out, &["--slurm"])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_one_line_error(&no_slurm, "needs Slurm's sbatch on PATH");
    assert!(!out.exists(), "a refused sweep writes nothing");
    let not_a_sweep = rem().args(["sweep", "status", "runs"]).output().unwrap();
    assert_one_line_error(&not_a_sweep, "is not a sweep folder");
}
