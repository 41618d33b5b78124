//! `rem report`: scores from run folders, human-normalised scores and their
//! aggregates, checked against hand-computed values and REM's published numbers.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{eval_json, fresh_dir, random_policy_folder, run_folder};
use rem_agent::report::{
    bootstrap_ci, interquartile_mean, locate_reference_dir, median, rank_correlation,
    reference_data_dir, report_with, write_report_plot, write_runs_csv, Aggregates, Policy,
    References, ScoreSource,
};

const TOLERANCE: f64 = 1e-12;

/// Small reference tables with round numbers, so every expected value below can be
/// worked out by hand: HNS = (score - random) / (human - random).
fn references(root: &Path) -> References {
    let dir = root.join("references");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("RANDOM.json"),
        r#"{"Breakout": [2.0], "Pong": [-20.0], "Boxing": [0.0]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("HUMAN.json"),
        r#"{"Breakout": [12.0], "Pong": [0.0], "Boxing": [10.0]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("REM.json"),
        r#"{"Breakout": [20.0, 30.0], "Pong": -10.0}"#,
    )
    .unwrap();
    References::load(&dir).unwrap()
}

fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() < TOLERANCE
}

/// Breakout: seed 0 scores 7 (HNS 0.5), seed 1 scores 17 (HNS 1.5); Pong scores -15
/// (HNS 0.25); catch is native (no HNS).
fn mixed_runs(root: &Path) -> Vec<PathBuf> {
    vec![
        run_folder(
            root,
            "breakout-0",
            "Breakout",
            0,
            Some(&eval_json("Breakout", &[6.0, 8.0])),
            &[],
        ),
        run_folder(
            root,
            "breakout-1",
            "breakout",
            1,
            None,
            &[
                r#"{"epoch": 10, "env_steps": 2000, "eval": {"episodes": 16, "mean_return": 3.0}, "seconds": {}}"#,
                r#"{"epoch": 20, "env_steps": 4000, "eval": {"episodes": 16, "mean_return": 17.0}, "seconds": {}}"#,
                r#"{"epoch": 21, "env_steps": 4200, "collect": {"episodes": 1, "mean_return": 40.0}, "seconds": {}}"#,
            ],
        ),
        run_folder(
            root,
            "pong-0",
            "Pong",
            0,
            Some(&eval_json("Pong", &[-15.0])),
            &[],
        ),
        run_folder(
            root,
            "catch-0",
            "catch",
            0,
            None,
            &[r#"{"epoch": 5, "env_steps": 1000, "eval": {"mean_return": 4.0}, "seconds": {}}"#],
        ),
    ]
}

#[test]
fn per_run_scores_and_hns_match_hand_computation() {
    let root = fresh_dir("runs");
    let report = report_with(&mixed_runs(&root), &references(&root)).unwrap();
    let summary: Vec<(&str, Option<i64>, f64, Option<f64>)> = report
        .runs
        .iter()
        .map(|r| (r.game.as_str(), r.seed, r.score, r.hns))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("Breakout", Some(0), 7.0, Some(0.5)),
            ("Breakout", Some(1), 17.0, Some(1.5)),
            ("Pong", Some(0), -15.0, Some(0.25)),
            ("catch", Some(0), 4.0, None),
        ]
    );
    assert_eq!(
        report.runs[0].source,
        ScoreSource::EvalFile { episodes: Some(2) }
    );
    assert_eq!(
        report.runs[1].source,
        ScoreSource::TrainingEval { epoch: Some(20) },
        "the last epoch with an eval"
    );
}

#[test]
fn the_csv_holds_one_row_per_run_as_pythons_csv_module_reads_it() {
    let root = fresh_dir("csv");
    let mut runs = mixed_runs(&root);
    // A folder name with a comma and a quote must come back whole.
    let odd_name = r#"pong, "again""#;
    runs.push(run_folder(
        &root,
        odd_name,
        "Pong",
        3,
        Some(&eval_json("Pong", &[-20.0, -10.0])),
        &[],
    ));
    let report = report_with(&runs, &references(&root)).unwrap();
    let path = root.join("runs.csv");
    write_runs_csv(&report, &path).unwrap();

    // Python's csv module, the reader pandas and most notebooks stand on, is the oracle.
    let script =
        "import csv, json, sys\nprint(json.dumps(list(csv.DictReader(open(sys.argv[1])))))";
    let output = std::process::Command::new(common::python())
        .args(["-c", script])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<BTreeMap<String, String>> = serde_json::from_slice(&output.stdout).unwrap();
    let cells = |row: &BTreeMap<String, String>, keys: &[&str]| -> Vec<String> {
        keys.iter().map(|key| row[*key].clone()).collect()
    };
    let keys = [
        "game",
        "seed",
        "policy",
        "score",
        "episodes",
        "hns",
        "env_steps",
    ];
    let expected = [
        ["Breakout", "0", "agent", "7.0", "2", "0.5", ""],
        ["Breakout", "1", "agent", "17.0", "", "1.5", "4200"],
        ["Pong", "0", "agent", "-15.0", "1", "0.25", ""],
        ["catch", "0", "agent", "4.0", "", "", "1000"],
        ["Pong", "3", "agent", "-15.0", "2", "0.25", ""],
    ];
    assert_eq!(rows.len(), expected.len());
    for (row, expected) in rows.iter().zip(expected) {
        assert_eq!(cells(row, &keys), expected, "{row:?}");
    }
    assert_eq!(rows[4]["folder"], root.join(odd_name).display().to_string());
    let interval = bootstrap_ci(&[-20.0, -10.0]).unwrap();
    assert_eq!(rows[4]["ci95_low"].parse::<f64>().unwrap(), interval.0);
    assert_eq!(rows[4]["ci95_high"].parse::<f64>().unwrap(), interval.1);
    assert_eq!(rows[2]["ci95_low"], "", "one episode has no interval");
    assert_eq!(rows[0]["code"], "-");
}

#[test]
fn per_game_means_sit_beside_rem() {
    let root = fresh_dir("games");
    let report = report_with(&mixed_runs(&root), &references(&root)).unwrap();
    let games: Vec<&str> = report.games.iter().map(|g| g.game.as_str()).collect();
    assert_eq!(games, ["Breakout", "Pong"], "native games are left out");
    let breakout = &report.games[0];
    assert_eq!(breakout.runs, 2);
    assert!(close(breakout.mean_score, 12.0) && close(breakout.mean_hns, 1.0));
    // REM Breakout: 20 and 30 -> mean 25, HNS 1.8 and 2.8 -> 2.3.
    assert!(close(breakout.rem_mean_score.unwrap(), 25.0) && close(breakout.rem_hns.unwrap(), 2.3));
    // REM Pong, given as a single number: -10 -> HNS 0.5.
    assert!(close(report.games[1].rem_hns.unwrap(), 0.5));
}

#[test]
fn aggregates_over_games_match_hand_computation() {
    let root = fresh_dir("aggregates");
    let report = report_with(&mixed_runs(&root), &references(&root)).unwrap();
    let ours = report.ours.unwrap();
    assert_eq!(
        (ours.games, ours.scores, ours.superhuman),
        (2, 3, 1),
        "Breakout's mean HNS of exactly 1 counts"
    );
    assert!(close(ours.mean, 0.625) && close(ours.median, 0.625));
    assert!(
        close(ours.iqm, 0.75),
        "three scores: nothing trimmed, mean of 0.5, 1.5, 0.25"
    );
    let rem = report.rem.unwrap();
    assert_eq!((rem.games, rem.scores, rem.superhuman), (2, 3, 1));
    assert!(close(rem.mean, 1.4) && close(rem.iqm, (1.8 + 2.8 + 0.5) / 3.0));
}

#[test]
fn eval_json_wins_over_training_evaluations() {
    let root = fresh_dir("preferred");
    let dir = run_folder(
        &root,
        "breakout",
        "Breakout",
        4,
        Some(&eval_json("Breakout", &[10.0, 12.0])),
        &[r#"{"epoch": 50, "env_steps": 10000, "eval": {"mean_return": 99.0}, "seconds": {}}"#],
    );
    let report = report_with(&[dir], &references(&root)).unwrap();
    assert_eq!(report.runs[0].score, 11.0);
    assert!(close(report.runs[0].hns.unwrap(), 0.9));
}

#[test]
fn a_run_reports_its_minutes_env_steps_and_interval() {
    let root = fresh_dir("budget");
    let dir = run_folder(
        &root,
        "boxing",
        "Boxing",
        2,
        None,
        &[
            r#"{"epoch": 1, "env_steps": 200, "seconds": {"collect": 30.0, "tokenizer": 90.0}}"#,
            r#"{"epoch": 2, "env_steps": 400, "eval": {"episodes": 4, "mean_return": 2.5, "returns": [1.0, 2.0, 3.0, 4.0]}, "seconds": {"collect": 20.0, "eval": 100.0}}"#,
        ],
    );
    let report = report_with(&[dir], &references(&root)).unwrap();
    let run = &report.runs[0];
    assert_eq!(run.policy, Policy::Agent);
    assert!(close(run.minutes.unwrap(), 4.0), "240 s of phases");
    assert_eq!(run.env_steps, Some(400));
    assert_eq!(run.returns, [1.0, 2.0, 3.0, 4.0]);
    assert_eq!(run.ci95, bootstrap_ci(&[1.0, 2.0, 3.0, 4.0]));
}

/// A provenance line as `rem train` or `rem eval` writes one, for the code `commit`.
fn provenance_line(commit: &str, modified: bool) -> String {
    provenance_line_of(
        r#"["rem", "train", "--config", "runs/catch.toml"]"#,
        commit,
        modified,
    )
}

/// A provenance line of the command `command` (a JSON array).
fn provenance_line_of(command: &str, commit: &str, modified: bool) -> String {
    format!(
        r#"{{"started": "2026-12-07T14:00:00Z", "command": {command}, "code": {{"version": "0.1.0", "commit": "{commit}", "modified": {modified}}}, "machine": {{"cpu": "x", "simd": [], "cores": 2, "threads": 1}}}}"#
    )
}

#[test]
fn each_run_shows_the_code_that_trained_it_or_a_dash_where_none_was_recorded() {
    let root = fresh_dir("code");
    let metrics = [
        r#"{"epoch": 1, "env_steps": 200, "eval": {"episodes": 2, "mean_return": 3.0, "returns": [2.0, 4.0]}}"#,
    ];
    let resumed = run_folder(&root, "resumed", "Breakout", 0, None, &metrics);
    let lines = [
        provenance_line("05a1a44c1c8b2f3e", false),
        provenance_line("05a1a44c1c8b2f3e", false),
        provenance_line("9854eca0000000000", true),
    ];
    // A last line cut short by a crash during an append is left out, as in metrics.jsonl.
    let cut = r#"{"started": "2026-12-07T15:0"#;
    let text = lines.join("\n") + "\n" + cut;
    std::fs::write(resumed.join("provenance.jsonl"), text).unwrap();
    let older = run_folder(&root, "older", "Breakout", 1, None, &metrics);
    // Started before provenance.jsonl existed, resumed since: its first line is a resume.
    let continued = run_folder(&root, "continued", "Breakout", 2, None, &metrics);
    let resume = r#"["rem", "train", "--resume", "runs/out/x"]"#;
    std::fs::write(
        continued.join("provenance.jsonl"),
        provenance_line_of(resume, "2e6a537aaaa", false) + "\n",
    )
    .unwrap();
    let evaluation = root.join("evaluation");
    std::fs::create_dir_all(&evaluation).unwrap();
    let eval = eval_json("Breakout", &[1.0, 2.0]);
    let eval = eval.replace(
        "}",
        &format!(
            r#", "provenance": {}}}"#,
            provenance_line("abcdef123", false)
        ),
    );
    std::fs::write(evaluation.join("eval.json"), eval).unwrap();

    let folders = [resumed, older, evaluation, continued];
    let report = report_with(&folders, &references(&root)).unwrap();
    let shorts = |index: usize| -> Vec<Option<String>> {
        report.runs[index]
            .code
            .iter()
            .map(|code| code.as_ref().map(|code| code.short()))
            .collect()
    };
    let known = |short: &str| Some(short.to_string());
    assert_eq!(
        shorts(0),
        [known("05a1a44"), known("9854eca+")],
        "repeats once, in order"
    );
    assert!(shorts(1).is_empty());
    assert_eq!(shorts(2), [known("abcdef1")]);
    assert_eq!(
        shorts(3),
        [None, known("2e6a537")],
        "the start is not recorded"
    );
    let table = report.to_string();
    let row = |name: &str| {
        let line = table.lines().find(|line| line.contains(name)).unwrap();
        line.split_whitespace().rev().nth(3).unwrap().to_string()
    };
    assert_eq!(row("resumed"), "05a1a44/9854eca+", "{table}");
    assert_eq!(row("older"), "-", "{table}");
    assert_eq!(row("evaluation"), "abcdef1", "{table}");
    assert_eq!(row("continued"), "-/2e6a537", "{table}");
}

#[test]
fn the_initial_policy_is_scored_by_the_evaluations_before_the_first_actor_critic_step() {
    let root = fresh_dir("initial-policy");
    let ac = r#""actor_critic": {"total": 0.5}"#;
    let dir = run_folder(
        &root,
        "boxing",
        "Boxing",
        0,
        None,
        &[
            r#"{"epoch": 1, "eval": {"episodes": 2, "mean_return": 1.5, "returns": [1.0, 2.0]}}"#,
            r#"{"epoch": 2}"#,
            r#"{"epoch": 3, "eval": {"episodes": 1, "mean_return": 4.0, "returns": [4.0]}}"#,
            &format!(
                r#"{{"epoch": 4, {ac}, "eval": {{"episodes": 1, "mean_return": 8.0, "returns": [8.0]}}}}"#
            ),
            &format!(
                r#"{{"epoch": 5, {ac}, "eval": {{"episodes": 2, "mean_return": 9.0, "returns": [9.0, 9.0]}}}}"#
            ),
        ],
    );
    let report = report_with(&[dir], &references(&root)).unwrap();
    let run = &report.runs[0];
    assert_eq!(
        run.initial_policy_returns,
        [1.0, 2.0, 4.0],
        "epoch 4 trained first"
    );
    assert_eq!(run.returns, [9.0, 9.0]);
    assert!(report.to_string().contains("2.33 ["), "{report}");
}

#[test]
fn a_random_policy_folder_is_the_games_baseline_not_a_run() {
    let root = fresh_dir("random-baseline");
    let random = random_policy_folder(&root, "Boxing", &[0.0, 1.0, -1.0, 2.0]);
    let agent = run_folder(
        &root,
        "boxing-0",
        "Boxing",
        0,
        Some(&eval_json("Boxing", &[5.0, 7.0])),
        &[],
    );
    let report = report_with(&[agent, random], &references(&root)).unwrap();
    assert_eq!(report.runs[1].policy, Policy::Random);
    assert_eq!(report.runs[1].seed, None);
    let boxing = &report.games[0];
    assert_eq!(boxing.runs, 1, "the baseline is not one of the game's runs");
    assert!(close(boxing.mean_score, 6.0));
    let (score, ci) = boxing.random_policy.unwrap();
    assert!(close(score, 0.5));
    assert_eq!(ci, bootstrap_ci(&[0.0, 1.0, -1.0, 2.0]));
    assert_eq!(report.ours.as_ref().unwrap().scores, 1);
    let table = report.to_string();
    assert!(table.contains("random"), "{table}");
    assert!(table.contains("0.50 ["), "{table}");
}

#[test]
fn a_game_counts_its_runs_above_and_below_random_play_by_the_interval_of_the_difference() {
    let root = fresh_dir("beside-random");
    let random_returns: Vec<f64> = (0..20).map(|i| f64::from(i % 5)).collect();
    let random = root.join("random-Boxing");
    std::fs::create_dir_all(&random).unwrap();
    let eval = eval_json("Boxing", &random_returns).replace("\"ckpt\"", "\"random\"");
    std::fs::write(random.join("eval.json"), eval).unwrap();
    let shifted = |by: f64| random_returns.iter().map(|r| r + by).collect::<Vec<_>>();
    // Mean 2.8: above random's own interval (about [1.4, 2.6]), but so spread that the
    // difference's interval (about [-0.6, 2.2]) holds zero: counted on neither side.
    let spread: Vec<f64> = (0..20)
        .map(|i| if i % 2 == 0 { 0.0 } else { 5.6 })
        .collect();
    let (low, high) = bootstrap_ci(&random_returns).unwrap();
    assert!(low < 2.0 && high < 2.8, "random's interval [{low}, {high}]");
    let runs = [
        shifted(5.0),
        shifted(3.0),
        shifted(0.0),
        spread,
        shifted(-4.0),
        vec![9.0],
    ];
    let mut dirs = vec![random];
    for (seed, returns) in runs.iter().enumerate() {
        let eval = eval_json("Boxing", returns);
        let name = format!("boxing-{seed}");
        dirs.push(run_folder(
            &root,
            &name,
            "Boxing",
            seed as i64,
            Some(&eval),
            &[],
        ));
    }
    let report = report_with(&dirs, &references(&root)).unwrap();
    let beside = report.games[0].runs_beside_random.unwrap();
    assert_eq!((beside.above, beside.below), (2, 1));
    let table = report.to_string();
    let row = table
        .lines()
        .find(|line| line.starts_with("Boxing "))
        .unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        &cells[cells.len() - 5..cells.len() - 3],
        ["2", "1"],
        "{table}"
    );

    let without_random = report_with(&dirs[1..], &references(&root)).unwrap();
    assert_eq!(without_random.games[0].runs_beside_random, None);
}

#[test]
fn a_checkpoints_evaluation_folder_is_an_agent_score_of_unknown_seed() {
    // `rem eval --run RUN --checkpoint RUN/models/epoch-N --out DIR`: an eval.json
    // naming the checkpoint, no config.
    let root = fresh_dir("checkpoint-eval");
    let scored = root.join("epoch-40");
    std::fs::create_dir_all(&scored).unwrap();
    std::fs::write(
        scored.join("eval.json"),
        r#"{"game": "Boxing", "checkpoint": "run/models/epoch-000040", "temperature": 0.5, "episodes": 3, "returns": [4.0, 6.0, 8.0], "mean_return": 6.0}"#,
    )
    .unwrap();
    let report = report_with(&[scored], &references(&root)).unwrap();
    let run = &report.runs[0];
    assert_eq!((run.policy, run.seed), (Policy::Agent, None));
    assert!(close(run.score, 6.0));
    assert_eq!(run.ci95, bootstrap_ci(&[4.0, 6.0, 8.0]));
    assert_eq!(report.games[0].runs, 1);
}

#[test]
fn a_checkpoints_evaluation_beside_its_run_is_listed_but_not_counted_again() {
    // The run scored 2.0; its epoch-40 models, evaluated into a folder inside the run
    // (the committed layout) and into one elsewhere naming a checkpoint inside the run,
    // scored 6.0. The game has one run, of mean 2.0.
    let root = fresh_dir("checkpoint-eval-beside-run");
    let run_dir = run_folder(
        &root,
        "boxing-seed1",
        "Boxing",
        1,
        Some(&eval_json("Boxing", &[1.0, 3.0])),
        &[],
    );
    let checkpoint = run_dir.join("models/epoch-000040");
    let checkpoint_eval = format!(
        r#"{{"game": "Boxing", "checkpoint": "{}", "temperature": 0.5, "episodes": 3, "returns": [4.0, 6.0, 8.0], "mean_return": 6.0}}"#,
        checkpoint.display()
    );
    let inside = run_dir.join("epoch-40");
    let elsewhere = root.join("boxing-seed1-epoch-40");
    for dir in [&inside, &elsewhere] {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("eval.json"), &checkpoint_eval).unwrap();
    }
    let report = report_with(
        &[run_dir.clone(), inside.clone(), elsewhere.clone()],
        &references(&root),
    )
    .unwrap();
    let canonical = run_dir.canonicalize().unwrap();
    assert_eq!(report.runs[0].checkpoint_of, None);
    assert_eq!(report.runs[1].checkpoint_of.as_ref(), Some(&canonical));
    assert_eq!(report.runs[2].checkpoint_of.as_ref(), Some(&canonical));
    assert_eq!(report.games[0].runs, 1);
    assert!(close(report.games[0].mean_score, 2.0));
    let table = report.to_string();
    assert!(table.contains("-*"), "{table}");
    assert!(table.contains("not counted again"), "{table}");

    // Without its run, the same evaluation is the game's one score.
    let alone = report_with(&[elsewhere], &references(&root)).unwrap();
    assert_eq!(alone.runs[0].checkpoint_of, None);
    assert!(close(alone.games[0].mean_score, 6.0));
}

#[test]
fn bootstrap_interval_matches_the_normal_approximation_on_many_values() {
    assert_eq!(bootstrap_ci(&[3.0]), None, "one value has no interval");
    assert_eq!(bootstrap_ci(&[2.0, 2.0, 2.0]), Some((2.0, 2.0)));
    // 400 values with mean 49.5 and standard deviation 28.87: the interval of the
    // mean is about 49.5 +- 1.96 * 28.87 / 20 = 49.5 +- 2.83.
    let values: Vec<f64> = (0..400).map(|i| (i % 100) as f64).collect();
    let (low, high) = bootstrap_ci(&values).unwrap();
    let half =
        1.96 * (values.iter().map(|v| (v - 49.5).powi(2)).sum::<f64>() / 400.0).sqrt() / 20.0;
    assert!(
        (low - (49.5 - half)).abs() < 0.2 && (high - (49.5 + half)).abs() < 0.2,
        "[{low}, {high}] vs +-{half}"
    );
    assert_eq!(bootstrap_ci(&values), Some((low, high)), "reproducible");
}

#[test]
fn interquartile_mean_drops_a_quarter_from_each_end() {
    assert_eq!(
        interquartile_mean(&[8.0, 1.0, 7.0, 2.0, 6.0, 3.0, 5.0, 4.0]),
        4.5
    );
    assert_eq!(
        interquartile_mean(&[1000.0, -100.0, 1.0, 2.0, 3.0, 4.0, 100.0, 0.0]),
        2.5
    );
    // Ten values: floor(10 / 4) = 2 dropped from each end, six kept.
    let ten = [0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 50.0, 60.0];
    assert_eq!(interquartile_mean(&ten), 21.0 / 6.0);
    assert_eq!(
        interquartile_mean(&[3.0, 1.0, 2.0]),
        2.0,
        "fewer than four: nothing dropped"
    );
}

#[test]
fn rank_correlation_is_pearsons_of_the_ranks_with_ties_sharing_theirs() {
    let up = [1.0, 2.0, 3.0, 4.0, 5.0];
    // Any increasing map of one side keeps the ranks: +1; a decreasing one: -1.
    assert!(close(
        rank_correlation(&up, &[0.1, 10.0, 11.0, 300.0, 301.0]).unwrap(),
        1.0
    ));
    assert!(close(
        rank_correlation(&up, &[9.0, 4.0, 3.0, 1.0, -8.0]).unwrap(),
        -1.0
    ));
    // [5, 6, 7, 8, 7] ranks as [1, 2, 3.5, 5, 3.5]; against 1..5, whose deviations are
    // -2..2: covariance 4 + 1 + 0 + 2 + 1 = 8, variances 10 and 9.5.
    let tied = rank_correlation(&up, &[5.0, 6.0, 7.0, 8.0, 7.0]).unwrap();
    assert!(close(tied, 8.0 / 95f64.sqrt()), "{tied}");
    // Undefined: fewer than three pairs, unequal lengths, a side without spread.
    assert_eq!(rank_correlation(&[1.0, 2.0], &[2.0, 1.0]), None);
    assert_eq!(rank_correlation(&up, &[1.0, 2.0, 3.0]), None);
    assert_eq!(rank_correlation(&up, &[7.0; 5]), None);
}

#[test]
fn median_of_odd_and_even_counts() {
    assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    assert_eq!(median(&[-7.0]), -7.0);
    assert!(
        median(&[]).is_nan() && interquartile_mean(&[]).is_nan(),
        "no values: NaN, not a panic"
    );
}

#[test]
fn superhuman_counts_games_whose_mean_reaches_one() {
    let per_game: BTreeMap<String, Vec<f64>> = [
        ("A", vec![0.5, 1.5]),
        ("B", vec![0.999]),
        ("C", vec![2.0, 4.0, 0.0]),
        ("D", vec![-0.5]),
        ("E", vec![3.0, -2.0]),
    ]
    .into_iter()
    .map(|(game, scores)| (game.to_string(), scores))
    .collect();
    let aggregates = Aggregates::from_hns(&per_game).unwrap();
    assert_eq!(
        (aggregates.games, aggregates.scores, aggregates.superhuman),
        (5, 9, 2)
    );
    assert!(Aggregates::from_hns(&BTreeMap::new()).is_none());
}

/// REM's own score file must give the aggregates the spec quotes for REM:
/// mean 1.222, median 0.280, IQM 0.673, 12 of 26 games superhuman.
#[test]
fn rem_published_scores_reproduce_the_spec_aggregates() {
    let Ok(dir) = reference_data_dir() else {
        eprintln!("SKIPPED: no reference score folder (set REM_DATA_DIR)");
        return;
    };
    let references = References::load(&dir).unwrap();
    let per_game: BTreeMap<String, Vec<f64>> = references
        .rem
        .iter()
        .map(|(game, scores)| {
            (
                game.clone(),
                scores
                    .iter()
                    .map(|&s| references.normalise(game, s).unwrap())
                    .collect(),
            )
        })
        .collect();
    let rem = Aggregates::from_hns(&per_game).unwrap();
    let rounded = |value: f64| (value * 1000.0).round() / 1000.0;
    assert_eq!((rem.games, rem.scores, rem.superhuman), (26, 130, 12));
    assert_eq!(
        (rounded(rem.mean), rounded(rem.median), rounded(rem.iqm)),
        (1.222, 0.280, 0.673)
    );
}

#[test]
fn a_run_without_any_evaluation_is_an_error_naming_its_folder() {
    let root = fresh_dir("no-eval");
    let dir = run_folder(
        &root,
        "breakout-early",
        "Breakout",
        0,
        None,
        &[r#"{"epoch": 0, "env_steps": 200, "seconds": {}}"#],
    );
    let error = format!(
        "{:#}",
        report_with(std::slice::from_ref(&dir), &references(&root)).unwrap_err()
    );
    assert!(
        error.contains(&dir.display().to_string()) && error.contains("no evaluation"),
        "{error}"
    );
}

#[test]
fn an_unknown_game_is_an_error() {
    let root = fresh_dir("unknown");
    let dir = run_folder(
        &root,
        "zork",
        "Zork",
        0,
        Some(&eval_json("Zork", &[1.0])),
        &[],
    );
    let error = format!(
        "{:#}",
        report_with(std::slice::from_ref(&dir), &references(&root)).unwrap_err()
    );
    assert!(
        error.contains("unknown game 'Zork'") && error.contains(&dir.display().to_string()),
        "{error}"
    );
}

#[test]
fn an_atari_game_without_reference_scores_is_an_error() {
    let root = fresh_dir("unreferenced");
    let dir = run_folder(
        &root,
        "alien",
        "Alien",
        0,
        Some(&eval_json("Alien", &[1.0])),
        &[],
    );
    let error = format!("{:#}", report_with(&[dir], &references(&root)).unwrap_err());
    assert!(
        error.contains("no random and human reference scores for 'Alien'"),
        "{error}"
    );
}

#[test]
fn an_eval_file_for_another_game_is_an_error() {
    let root = fresh_dir("mismatch");
    let dir = run_folder(
        &root,
        "pong",
        "Pong",
        0,
        Some(&eval_json("Breakout", &[1.0])),
        &[],
    );
    let error = format!("{:#}", report_with(&[dir], &references(&root)).unwrap_err());
    assert!(
        error.contains("'Breakout'") && error.contains("'Pong'"),
        "{error}"
    );
}

#[test]
fn a_folder_without_a_run_is_an_error_naming_what_it_lacks() {
    let root = fresh_dir("no-config");
    let error = |folder: &Path| {
        format!(
            "{:#}",
            report_with(&[folder.to_path_buf()], &references(&root)).unwrap_err()
        )
    };
    let missing = root.join("nothing");
    let message = error(&missing);
    assert!(
        message.contains(&format!("{}: no such folder", missing.display())),
        "{message}"
    );
    let empty = root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let message = error(&empty);
    assert!(
        message.contains(&empty.display().to_string())
            && message.contains("config.toml")
            && message.contains("eval.json"),
        "{message}"
    );
    assert!(
        report_with(&[], &references(&root)).is_err(),
        "no run folders at all"
    );
}

#[test]
fn the_reference_folder_is_found_or_the_error_says_where_it_looked() {
    let root = fresh_dir("locate");
    let (missing, present) = (root.join("missing"), root.join("present"));
    std::fs::create_dir_all(&present).unwrap();
    assert_eq!(
        locate_reference_dir(None, &[missing.clone(), present.clone()]).unwrap(),
        present
    );
    assert_eq!(
        locate_reference_dir(Some(present.clone()), &[]).unwrap(),
        present
    );

    let error = locate_reference_dir(None, &[missing.clone(), root.join("also-missing")])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&missing.display().to_string()) && error.contains("also-missing"),
        "{error}"
    );
    let error = locate_reference_dir(Some(missing.clone()), &[present])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&missing.display().to_string()) && error.contains("REM_DATA_DIR"),
        "{error}"
    );
}

#[test]
fn the_table_and_the_plot_show_every_game_beside_rem() {
    let root = fresh_dir("outputs");
    let report = report_with(&mixed_runs(&root), &references(&root)).unwrap();
    let table = report.to_string();
    for expected in [
        "breakout-1",
        "catch",
        "metrics.jsonl (epoch 20)",
        "REM HNS",
        "2.300",
        "superhuman",
        "1/2",
        "0.625",
    ] {
        assert!(table.contains(expected), "table lacks {expected}:\n{table}");
    }

    let svg_path = root.join("report.svg");
    write_report_plot(&report, &svg_path).unwrap();
    let svg = std::fs::read_to_string(svg_path).unwrap();
    // Two games of each group, plus one legend swatch each: rects in the group's colour.
    let rects = |fill: &str| svg.matches(&format!(r#"fill="{fill}""#)).count();
    assert_eq!(rects("#1F5FA8"), 2 + 1, "ours");
    assert_eq!(rects("#E07B39"), 2 + 1, "REM (published)");
    for name in ["Breakout", "Pong", "ours", "REM (published)"] {
        assert!(svg.contains(&format!(">\n{name}\n<")), "missing {name}");
    }

    let native_only = report_with(&[mixed_runs(&root).pop().unwrap()], &references(&root)).unwrap();
    assert!(native_only.ours.is_none() && native_only.games.is_empty());
    assert!(write_report_plot(&native_only, &root.join("none.svg")).is_err());
}

#[test]
fn aggregate_intervals_are_a_bootstrap_stratified_by_game() {
    let spread = vec![0.1, 0.4, 0.2, 0.9, 0.5];
    // One game: resampling within it is the plain bootstrap of its runs' mean.
    let one = BTreeMap::from([("Pong".to_string(), spread.clone())]);
    let ci = Aggregates::from_hns(&one).unwrap().ci95.unwrap();
    assert_eq!(Some(ci.mean), bootstrap_ci(&spread));
    // A game whose runs agree adds no width: the mean's interval is the first game's,
    // halved and shifted by half the second game's score (up to the resampling's own
    // noise, as the two games' draws interleave).
    let two = BTreeMap::from([
        ("Pong".to_string(), spread.clone()),
        ("Boxing".to_string(), vec![2.0; 5]),
    ]);
    let both = Aggregates::from_hns(&two).unwrap();
    let ci = both.ci95.unwrap();
    let (low, high) = bootstrap_ci(&spread).unwrap();
    let noise = 0.05 * (high - low);
    assert!((ci.mean.0 - (low + 2.0) / 2.0).abs() < noise, "{ci:?}");
    assert!((ci.mean.1 - (high + 2.0) / 2.0).abs() < noise, "{ci:?}");
    for (value, (low, high)) in [
        (both.mean, ci.mean),
        (both.median, ci.median),
        (both.iqm, ci.iqm),
    ] {
        assert!(
            low <= value && value <= high,
            "{value} outside [{low}, {high}]"
        );
    }
    // One run per game: nothing to resample, so no interval is claimed.
    let single = BTreeMap::from([("Pong".to_string(), vec![0.3])]);
    assert_eq!(Aggregates::from_hns(&single).unwrap().ci95, None);
}

#[test]
fn a_reader_that_leaves_early_ends_the_report_quietly() {
    // `rem report ... | head`: stdout is a pipe whose reader has gone.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = common::rem()
        .args(["report", "docs/results/atari-cpu/upndown-seed0"])
        .arg("docs/results/atari-cpu/random-UpNDown")
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
    assert!(stderr.is_empty(), "{stderr}");
}
