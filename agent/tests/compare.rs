//! `rem compare`: the probability of improvement (rliable's) and its intervals, the
//! difference of means and the same seeds' verdicts, on run folders whose every
//! expected value is worked out by hand from the definitions.

mod common;

use std::path::{Path, PathBuf};

use common::{assert_success, eval_json, fresh_dir, random_policy_folder, rem, run_folder};
use rem_agent::report::{compare_folders, probability_of_improvement, write_comparison_plot};

/// A finished run of a native game (no reference scores needed) whose final
/// evaluation played `returns`.
fn finished_run(root: &Path, name: &str, game: &str, seed: i64, returns: &[f64]) -> PathBuf {
    run_folder(root, name, game, seed, Some(&eval_json(game, returns)), &[])
}

#[test]
fn the_probability_of_improvement_counts_each_pair_of_runs_and_ties_as_half() {
    // 3 > 2 twice, 2 = 2 twice (half each), 1 < 2 twice: 3 of 6 pairs.
    assert_eq!(
        probability_of_improvement(&[1.0, 2.0, 3.0], &[2.0, 2.0]),
        0.5
    );
    assert_eq!(probability_of_improvement(&[3.0, 4.0], &[1.0, 2.0]), 1.0);
    assert_eq!(probability_of_improvement(&[1.0, 2.0], &[3.0, 4.0]), 0.0);
    assert_eq!(probability_of_improvement(&[5.0], &[5.0]), 0.5);
    // 4 beats 1 and 3, 2 beats 1: 3 of 4 pairs.
    assert_eq!(probability_of_improvement(&[2.0, 4.0], &[1.0, 3.0]), 0.75);
}

#[test]
fn two_sets_are_compared_game_by_game_and_over_the_games_both_have() {
    let root = fresh_dir("sets");
    let a = vec![
        finished_run(&root, "a-catch-0", "catch", 0, &[10.0, 9.0, 10.0, 10.0]),
        finished_run(&root, "a-catch-1", "catch", 1, &[1.0, -1.0, 1.0, -1.0]),
        finished_run(&root, "a-catch-2", "catch", 2, &[4.0, 4.0]),
        finished_run(&root, "a-dodge-0", "dodge", 0, &[30.0, 50.0]),
    ];
    let b = vec![
        finished_run(&root, "b-catch-0", "catch", 0, &[-10.0, -9.0, -10.0, -10.0]),
        finished_run(&root, "b-catch-1", "catch", 1, &[-1.0, 1.0, -1.0, 1.0]),
        finished_run(&root, "b-dodge-0", "dodge", 0, &[10.0, 30.0]),
        finished_run(&root, "b-bricks-0", "bricks", 0, &[3.0, 5.0]),
    ];
    let comparison = compare_folders(&a, &b).unwrap();

    let games: Vec<&str> = comparison.games.iter().map(|g| g.game.as_str()).collect();
    assert_eq!(games, ["catch", "dodge"]);
    assert!(comparison.only_in_a.is_empty());
    assert_eq!(comparison.only_in_b, [("bricks".to_string(), 1)]);

    let catch = &comparison.games[0];
    assert_eq!(catch.a, [9.75, 0.0, 4.0]);
    assert_eq!(catch.b, [-9.75, 0.0]);
    // Pairs: 9.75 beats both, 0 ties 0 and beats -9.75, 4 beats both: 5.5 of 6.
    assert_eq!(catch.improvement.probability, 5.5 / 6.0);
    assert!((catch.difference - (13.75 / 3.0 - (-4.875))).abs() < 1e-12);
    let (low, high) = catch.improvement.ci95.unwrap();
    assert!(low <= catch.improvement.probability && catch.improvement.probability <= high);
    assert!((0.0..=1.0).contains(&low) && (0.0..=1.0).contains(&high));
    let (low, high) = catch.difference_ci95.unwrap();
    assert!(low <= catch.difference && catch.difference <= high);
    // Seed 0: A's 9.75 against B's -9.75, beyond any resample; seed 1: the same
    // returns in another order; seed 2: A's alone.
    assert_eq!(catch.same_seeds.a_ahead, [0]);
    assert!(catch.same_seeds.b_ahead.is_empty());
    assert_eq!(catch.same_seeds.within_chance, [1]);

    // One run a side: no interval, and the pair 40 against 20 within chance.
    let dodge = &comparison.games[1];
    assert_eq!(dodge.improvement.probability, 1.0);
    assert_eq!(dodge.improvement.ci95, None);
    assert_eq!(dodge.difference_ci95, None);
    assert_eq!(dodge.same_seeds.within_chance, [0]);

    let overall = comparison.overall.unwrap();
    assert_eq!(overall.probability, (5.5 / 6.0 + 1.0) / 2.0);
    let (low, high) = overall.ci95.unwrap();
    assert!(low <= overall.probability && overall.probability <= high);
    // Dodge's single runs never change under resampling: every draw is at least 1/2.
    assert!(low >= 0.5, "{low}");

    let table = comparison.to_string();
    assert!(
        table.contains("left out: bricks (1 run), only in B"),
        "{table}"
    );
    let catch_row = table.lines().find(|l| l.starts_with("catch")).unwrap();
    assert!(
        catch_row.ends_with("A ahead on 0; within chance on 1"),
        "{table}"
    );
    assert!(table.contains("P(A > B) over 2 games: 0.958"), "{table}");

    let svg = root.join("compare.svg");
    write_comparison_plot(&comparison, &svg).unwrap();
    let svg = std::fs::read_to_string(svg).unwrap();
    for label in ["catch", "dodge", "all games", "no difference"] {
        assert!(svg.contains(label), "{label} missing from the plot");
    }
}

#[test]
fn the_random_policy_and_sets_without_a_common_game_are_refused_with_the_reason() {
    let root = fresh_dir("refused");
    let random = random_policy_folder(&root, "catch", &[1.0, -1.0]);
    let run = finished_run(&root, "catch-0", "catch", 0, &[1.0, 2.0]);
    let error = compare_folders(std::slice::from_ref(&run), &[random]).unwrap_err();
    assert!(
        error.to_string().contains("random policy's evaluation"),
        "{error:#}"
    );

    let dodge = finished_run(&root, "dodge-0", "dodge", 0, &[1.0, 2.0]);
    let comparison = compare_folders(&[run], &[dodge]).unwrap();
    assert!(comparison.games.is_empty() && comparison.overall.is_none());
    let error = write_comparison_plot(&comparison, &root.join("none.svg")).unwrap_err();
    assert!(error.to_string().contains("no game in common"), "{error:#}");
}

#[test]
fn the_command_prints_the_table_and_draws_the_curves_beside_random_play() {
    let root = fresh_dir("command");
    let logged = |name: &str, seed: i64, mean: f64| {
        let line = format!(
            r#"{{"epoch": 1, "env_steps": 200, "eval": {{"episodes": 2, "mean_return": {mean}, "returns": [{mean}, {mean}]}}, "seconds": {{}}}}"#
        );
        run_folder(&root, name, "catch", seed, None, &[&line])
    };
    let (a, b) = (logged("a-0", 0, 5.0), logged("b-0", 0, -5.0));
    let random = random_policy_folder(&root, "catch", &[-8.0, -6.0]);
    let compare = || {
        let mut command = rem();
        command.arg("compare").arg("--a").arg(&a).arg("--b").arg(&b);
        command
    };
    let curves = root.join("curves");
    let out = compare()
        .arg("--curves")
        .arg(&curves)
        .arg("--random")
        .arg(&random)
        .output()
        .unwrap();
    assert_success(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("P(A > B) over 1 game: 1.000"), "{stdout}");
    assert!(stdout.contains(&format!("wrote {}", curves.join("catch.svg").display())));
    let svg = std::fs::read_to_string(curves.join("catch.svg")).unwrap();
    assert!(svg.contains("random policy (-7.0)"), "no random line");

    // --random only serves the curves.
    let out = compare().arg("--random").arg(&random).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--curves"), "{stderr}");
}
