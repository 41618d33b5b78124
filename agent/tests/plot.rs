//! SVG plots: learning curves from metrics.jsonl, bar charts, atomic writes.

mod common;

use std::path::Path;

use common::{
    assert_one_line_error, assert_success, fresh_dir, random_policy_folder, rem, run_folder,
    write_metrics,
};
use rem_agent::figures::plot::{BarChart, BarGroup};
use rem_agent::figures::run_plots::RunPlots;
use rem_agent::report::{
    bootstrap_ci, read_random_policy, read_sets, write_comparison_curves, write_learning_curves,
};
use rem_agent::training::metrics::read_metrics;

fn plot(dir: &Path) -> String {
    let svg_path = dir.join("curve.svg");
    let plots = RunPlots::read(&dir.join("metrics.jsonl")).unwrap();
    plots.write_learning_curve(&svg_path).unwrap();
    std::fs::read_to_string(svg_path).unwrap()
}

/// Checks that every tag is closed in order, entities are escaped and no number is
/// NaN or infinite: enough of XML to catch broken string building.
fn assert_well_formed(svg: &str) {
    assert!(
        svg.trim_start().starts_with("<svg"),
        "does not start with <svg"
    );
    let mut open: Vec<String> = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        assert!(!text.contains('>'), "stray '>' in text {text:?}");
        let end = rest[start..].find('>').expect("unclosed tag") + start;
        let tag = &rest[start + 1..end];
        assert_eq!(
            tag.matches('"').count() % 2,
            0,
            "unbalanced quotes in <{tag}>"
        );
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                open.pop().as_deref(),
                Some(name),
                "closing </{name}> out of order"
            );
        } else if !tag.ends_with('/') {
            open.push(tag.split_whitespace().next().unwrap().to_string());
        }
        rest = &rest[end + 1..];
    }
    assert!(open.is_empty(), "unclosed tags {open:?}");
    for (index, _) in svg.match_indices('&') {
        let entity = &svg[index..];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                .iter()
                .any(|e| entity.starts_with(e)),
            "unescaped '&'"
        );
    }
    assert!(
        !svg.contains("NaN") && !svg.contains("inf"),
        "non-finite number in the SVG"
    );
}

/// The pixel points of each polyline drawn in `color` (`#RRGGBB`), in drawing order.
fn polylines(svg: &str, color: &str) -> Vec<Vec<(f64, f64)>> {
    svg.split("<polyline")
        .skip(1)
        .filter(|element| element.contains(&format!(r#"stroke="{color}""#)))
        .map(|element| {
            let list = element.split(r#"points=""#).nth(1).unwrap();
            list[..list.find('"').unwrap()]
                .split_whitespace()
                .map(|pair| {
                    let (x, y) = pair.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect()
        })
        .collect()
}

/// The data line of a learning-curve series: its first polyline (the legend's
/// two-point sample comes after the data).
fn series_line(svg: &str, color: &str) -> Option<Vec<(f64, f64)>> {
    polylines(svg, color).into_iter().next()
}

/// The trimmed contents of every `<text>` element.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .map(|element| {
            let content = &element[element.find('>').unwrap() + 1..];
            content[..content.find("</text>").unwrap()]
                .trim()
                .to_string()
        })
        .collect()
}

/// Asserts that each of `expected` is the whole text of some `<text>` element of `svg`.
fn assert_texts(svg: &str, expected: &[&str]) {
    let texts = texts(svg);
    for text in expected {
        assert!(
            texts.iter().any(|t| t == text),
            "missing {text:?} in {texts:?}"
        );
    }
}

const EVAL: &str = "#1F5FA8";
const COLLECT: &str = "#A0A0A0";

#[test]
fn learning_curve_draws_one_point_per_epoch_that_has_the_section() {
    let dir = fresh_dir("curve");
    write_metrics(
        &dir,
        &[
            r#"{"epoch": 0, "env_steps": 200, "seconds": {"collect": 1.0}}"#,
            r#"{"epoch": 1, "env_steps": 400, "collect": {"episodes": 2, "mean_return": -4.0}, "seconds": {}}"#,
            r#"{"epoch": 2, "env_steps": 600, "collect": {"episodes": 3, "mean_return": -2.0}, "eval": {"episodes": 8, "mean_return": 1.0, "returns": [1.0]}, "seconds": {}}"#,
            r#"{"epoch": 3, "env_steps": 800, "collect": {"episodes": 0, "mean_return": null}, "tokenizer": {"total": 0.1}, "seconds": {}}"#,
            r#"{"epoch": 4, "env_steps": 1000, "collect": {"episodes": 1, "mean_return": 0.0}, "eval": {"episodes": 8, "mean_return": 6.5}, "seconds": {}}"#,
        ],
    );
    let svg = plot(&dir);
    assert_well_formed(&svg);
    let eval = series_line(&svg, EVAL).unwrap();
    let collect = series_line(&svg, COLLECT).unwrap();
    assert_eq!(eval.len(), 2);
    assert_eq!(collect.len(), 3, "the null collect return is no point");
    assert!(eval[0].0 < eval[1].0, "x grows with env_steps");
    assert!(eval[1].1 < eval[0].1, "a higher return is drawn higher up");
    assert!(collect[0].1 > collect[2].1);
    assert!(
        svg.matches("<circle").count() >= 2,
        "eval points are marked"
    );
    assert_texts(
        &svg,
        &["learning curve", "eval mean return", "collect mean return"],
    );
}

#[test]
fn a_single_point_still_makes_a_visible_plot() {
    let dir = fresh_dir("single");
    write_metrics(
        &dir,
        &[
            r#"{"epoch": 9, "env_steps": 2000, "collect": {"episodes": 1, "mean_return": 3.0}, "seconds": {}}"#,
        ],
    );
    let svg = plot(&dir);
    assert_well_formed(&svg);
    assert_eq!(series_line(&svg, COLLECT).unwrap().len(), 1);
    assert!(series_line(&svg, EVAL).is_none());
    assert_eq!(svg.matches("<circle").count(), 1, "a lone point gets a dot");
}

#[test]
fn epochs_without_returns_give_an_empty_plot_not_an_error() {
    let dir = fresh_dir("empty");
    write_metrics(
        &dir,
        &[r#"{"epoch": 0, "env_steps": 200, "seconds": {"collect": 1.0}}"#],
    );
    let svg = plot(&dir);
    assert_well_formed(&svg);
    assert!(series_line(&svg, EVAL).is_none() && series_line(&svg, COLLECT).is_none());
    assert!(texts(&svg).iter().any(|t| t == "no data yet"));
}

#[test]
fn the_game_from_the_config_beside_names_the_plot_escaped() {
    let dir = fresh_dir("title");
    write_metrics(
        &dir,
        &[r#"{"epoch": 0, "env_steps": 200, "eval": {"mean_return": 1.0}, "seconds": {}}"#],
    );
    std::fs::write(
        dir.join("config.toml"),
        "seed = 3\n[env]\ngame = \"Q<b>&rt\"\n",
    )
    .unwrap();
    let svg = plot(&dir);
    assert_well_formed(&svg);
    assert!(texts(&svg)
        .iter()
        .any(|t| t == "Q&lt;b&gt;&amp;rt: learning curve"));
}

/// Each panel's lines in its own colours, in order: the first line of a panel is
/// blue, the second orange, the third green.
const FIRST_LINE: &str = "#1F5FA8";
const SECOND_LINE: &str = "#E07B39";
const THIRD_LINE: &str = "#2E9E4F";

#[test]
fn the_losses_figure_has_a_panel_per_part_with_a_point_per_epoch_it_trained() {
    let dir = fresh_dir("losses");
    write_metrics(
        &dir,
        &[
            r#"{"epoch": 1, "env_steps": 200, "tokenizer": {"total": 0.5, "reconstruction": 0.30, "codebook": 0.1, "commitment": 0.10}, "seconds": {}}"#,
            r#"{"epoch": 2, "env_steps": 400, "tokenizer": {"total": 0.4, "reconstruction": 0.20, "codebook": 0.1, "commitment": 0.09}, "world_model": {"total": 3.0, "obs": 2.5, "reward": 0.3, "done": 0.2}, "seconds": {}}"#,
            r#"{"epoch": 3, "env_steps": 600, "tokenizer": {"total": 0.3, "reconstruction": 0.10, "codebook": 0.1, "commitment": 0.08}, "world_model": {"total": 2.0, "obs": 1.6, "reward": 0.2, "done": 0.1}, "seconds": {}}"#,
            r#"{"epoch": 4, "env_steps": 800, "world_model": {"total": 1.5, "obs": 1.2, "reward": 0.2, "done": 0.1}, "actor_critic": {"total": 0.1, "policy": 0.0, "value": 0.05, "entropy": 1.79, "imagined_reward": 0.01}, "seconds": {}}"#,
            r#"{"epoch": 5, "env_steps": 1000, "actor_critic": {"total": 0.1, "policy": 0.0, "value": 0.04, "entropy": 1.60, "imagined_reward": 0.02}, "seconds": {}}"#,
            r#"{"epoch": 6, "env_steps": 1200, "actor_critic": {"total": 0.1, "policy": 0.0, "value": 0.03, "entropy": 1.20, "imagined_reward": 0.04}, "seconds": {}}"#,
        ],
    );
    std::fs::write(dir.join("config.toml"), "[env]\ngame = \"Pong\"\n").unwrap();
    let svg_path = dir.join("losses.svg");
    let plots = RunPlots::read(&dir.join("metrics.jsonl")).unwrap();
    plots.write_losses(&svg_path).unwrap();
    let svg = std::fs::read_to_string(svg_path).unwrap();
    assert_well_formed(&svg);

    // Every part trained 3 epochs: each data line has 3 points, each legend sample 2.
    let data_lines = |color| -> Vec<Vec<(f64, f64)>> {
        let lines = polylines(&svg, color).into_iter();
        lines.filter(|points| points.len() == 3).collect()
    };
    let first = data_lines(FIRST_LINE);
    assert_eq!(
        first.len(),
        4,
        "reconstruction, tokens, entropy, value loss"
    );
    assert_eq!(
        data_lines(SECOND_LINE).len(),
        3,
        "commitment, reward, imagined reward"
    );
    assert_eq!(data_lines(THIRD_LINE).len(), 1, "the end's cross-entropy");

    // Two panels a row: the tokenizer's upper left, the actor-critic's values lower
    // right; a falling loss is drawn going down the page (pixel y grows).
    let (reconstruction, tokens, entropy, value) = (&first[0], &first[1], &first[2], &first[3]);
    let all = |line: &[(f64, f64)], inside: fn(&(f64, f64)) -> bool| line.iter().all(inside);
    let left = |line: &[(f64, f64)]| all(line, |p| p.0 < 600.0);
    let right = |line: &[(f64, f64)]| all(line, |p| p.0 > 600.0);
    let top = |line: &[(f64, f64)]| all(line, |p| p.1 < 464.0);
    let bottom = |line: &[(f64, f64)]| all(line, |p| p.1 > 464.0);
    assert!(left(reconstruction) && top(reconstruction));
    assert!(right(tokens) && top(tokens));
    assert!(left(entropy) && bottom(entropy));
    assert!(right(value) && bottom(value));
    for falling in [reconstruction, tokens, entropy, value] {
        assert!(falling
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1));
    }
    assert_texts(
        &svg,
        &[
            "Pong: losses",
            "tokenizer",
            "world model",
            "actor-critic: policy",
            "actor-critic: values",
            "reconstruction (MSE)",
            "next frame&apos;s tokens",
            "reward sign",
            "episode end",
            "policy entropy",
            "imagined reward",
        ],
    );
}

#[test]
fn rem_plot_redraws_a_runs_plots_and_names_a_folder_without_metrics() {
    let dir = fresh_dir("rem-plot");
    write_metrics(
        &dir,
        &[
            r#"{"epoch": 1, "env_steps": 200, "tokenizer": {"reconstruction": 0.3}, "eval": {"mean_return": 1.0}, "seconds": {}}"#,
        ],
    );
    let out = rem().arg("plot").arg(&dir).output().unwrap();
    assert_success(&out);
    for plot in ["learning_curve.svg", "losses.svg"] {
        assert_well_formed(&std::fs::read_to_string(dir.join(plot)).unwrap());
    }
    let empty = fresh_dir("rem-plot-empty");
    let out = rem().arg("plot").arg(&dir).arg(&empty).output().unwrap();
    assert_one_line_error(&out, &empty.join("metrics.jsonl").display().to_string());
}

#[test]
fn tick_labels_are_round_and_use_thousands() {
    let dir = fresh_dir("ticks");
    write_metrics(
        &dir,
        &[
            r#"{"epoch": 0, "env_steps": 0, "eval": {"mean_return": -0.5}, "seconds": {}}"#,
            r#"{"epoch": 1, "env_steps": 100000, "eval": {"mean_return": 0.5}, "seconds": {}}"#,
        ],
    );
    let svg = plot(&dir);
    assert_texts(&svg, &["0", "20k", "100k", "-0.5", "0.5"]);
    assert!(!texts(&svg).iter().any(|t| t == "-0"));
}

#[test]
fn an_unterminated_last_line_is_skipped_but_a_broken_middle_line_is_an_error() {
    let dir = fresh_dir("partial");
    let path = dir.join("metrics.jsonl");
    std::fs::write(
        &path,
        "{\"epoch\": 0, \"env_steps\": 1}\n{\"epoch\": 1, \"env_st",
    )
    .unwrap();
    assert_eq!(read_metrics(&path).unwrap().len(), 1);

    std::fs::write(
        &path,
        "{\"epoch\": 0, \"env_steps\": 1}\n{\"epoch\": 1,\n{\"epoch\": 2, \"env_steps\": 3}\n",
    )
    .unwrap();
    let error = read_metrics(&path).unwrap_err().to_string();
    assert!(
        error.contains("line 2") && error.contains("metrics.jsonl"),
        "{error}"
    );
}

#[test]
fn a_missing_metrics_file_is_an_error_naming_it() {
    let dir = fresh_dir("missing");
    let Err(error) = RunPlots::read(&dir.join("metrics.jsonl")) else {
        panic!("a missing metrics file must be an error");
    };
    assert!(
        format!("{error:#}").contains(&dir.join("metrics.jsonl").display().to_string()),
        "{error:#}"
    );
    assert!(!dir.join("curve.svg").exists());
}

#[test]
fn writes_are_atomic_and_create_the_folder() {
    let dir = fresh_dir("atomic");
    write_metrics(
        &dir,
        &[r#"{"epoch": 0, "env_steps": 200, "eval": {"mean_return": 1.0}, "seconds": {}}"#],
    );
    let svg_path = dir.join("plots").join("curve.svg");
    for _ in 0..2 {
        let plots = RunPlots::read(&dir.join("metrics.jsonl")).unwrap();
        plots.write_learning_curve(&svg_path).unwrap();
    }
    let names: Vec<String> = std::fs::read_dir(dir.join("plots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec!["curve.svg".to_string()],
        "no temporary file is left behind"
    );
}

#[test]
fn bar_chart_draws_present_values_on_both_sides_of_zero() {
    let chart = BarChart {
        title: "scores".into(),
        y_label: "human-normalised score".into(),
        categories: vec!["Pong".into(), "Breakout".into(), "Alien".into()],
        groups: vec![
            BarGroup {
                label: "ours".into(),
                color: "#123456".into(),
                values: vec![Some(-0.5), Some(2.0), Some(0.1)],
                intervals: vec![],
            },
            BarGroup {
                label: "REM".into(),
                color: "#654321".into(),
                values: vec![Some(0.5), None, Some(f64::NAN)],
                intervals: vec![],
            },
        ],
        reference_line: Some((1.0, "human".into())),
    };
    let svg = chart.to_svg().unwrap();
    assert_well_formed(&svg);
    // Each group's bars, then its legend swatch, as rects filled in its colour.
    let tops = |color: &str| -> Vec<f64> {
        svg.split("<rect")
            .skip(1)
            .filter(|rect| rect.contains(&format!(r#"fill="{color}""#)))
            .map(|rect| {
                let y = rect.split(r#" y=""#).nth(1).unwrap();
                y[..y.find('"').unwrap()].parse().unwrap()
            })
            .collect()
    };
    let ours = tops("#123456");
    let rem = tops("#654321");
    assert_eq!(ours.len(), 3 + 1);
    assert_eq!(rem.len(), 1 + 1, "missing and NaN values draw no bar");
    let (pong_ours, breakout_ours, pong_rem) = (ours[0], ours[1], rem[0]);
    assert!(
        pong_ours > pong_rem,
        "a negative bar hangs below a positive one"
    );
    assert!(breakout_ours < pong_rem);
    let labels = texts(&svg);
    for label in ["Pong", "Alien", "human", "ours", "REM", "scores"] {
        assert!(labels.iter().any(|t| t == label), "missing {label}");
    }

    // An interval is one whisker, and the scale stretches to its top.
    let mut with_interval = chart.clone();
    with_interval.groups[0].intervals = vec![None, Some((1.5, 4.0)), None];
    let whiskered = with_interval.to_svg().unwrap();
    assert_well_formed(&whiskered);
    let polylines = |svg: &str| svg.matches("<polyline").count();
    assert_eq!(polylines(&whiskered), polylines(&svg) + 1);
    assert!(
        texts(&whiskered).iter().any(|t| t == "4"),
        "the axis reaches 4"
    );
}

#[test]
fn learning_curves_draw_each_run_beside_the_random_policy() {
    let root = fresh_dir("curves");
    let seed0 = run_folder(
        &root,
        "catch-seed0",
        "catch",
        0,
        None,
        &[
            r#"{"epoch": 1, "env_steps": 200, "eval": {"episodes": 8, "mean_return": -9.0, "returns": []}, "seconds": {}}"#,
            r#"{"epoch": 2, "env_steps": 400, "collect": {"episodes": 1, "mean_return": 4.0}, "seconds": {}}"#,
            r#"{"epoch": 3, "env_steps": 600, "eval": {"episodes": 8, "mean_return": -7.0, "returns": []}, "seconds": {}}"#,
            r#"{"epoch": 4, "env_steps": 800, "eval": {"episodes": 32, "mean_return": 8.5, "returns": []}, "seconds": {}}"#,
        ],
    );
    let seed1 = run_folder(
        &root,
        "catch-seed1",
        "catch",
        1,
        None,
        &[
            r#"{"epoch": 2, "env_steps": 400, "eval": {"episodes": 8, "mean_return": -3.0, "returns": []}, "seconds": {}}"#,
            r#"{"epoch": 4, "env_steps": 800, "eval": {"episodes": 8, "mean_return": 2.0, "returns": []}, "seconds": {}}"#,
        ],
    );
    let random = random_policy_folder(&root, "catch", &[-8.0, -6.0]);
    let report = rem_agent::report::report(&[seed0, seed1, random]).unwrap();
    let folder = root.join("curves");
    let written = write_learning_curves(&report, &folder).unwrap();
    assert_eq!(written, vec![folder.join("catch.svg")]);
    let svg = std::fs::read_to_string(&written[0]).unwrap();
    assert_well_formed(&svg);

    // One line per run, in the order given, with a point per logged evaluation.
    let first = series_line(&svg, "#1F5FA8").unwrap();
    let second = series_line(&svg, "#E07B39").unwrap();
    assert_eq!(
        first.len(),
        3,
        "the epoch without an evaluation is no point"
    );
    assert_eq!(second.len(), 2);
    assert_eq!(first[2].0, second[1].0, "both end at 800 environment steps");
    // The random policy's mean (-7) is a dashed line at the height of seed 0's -7.
    let dashes = polylines(&svg, "#505050");
    assert!(dashes.len() > 4, "a dashed line: {} pieces", dashes.len());
    let at_minus_seven = first[1].1;
    let data_dashes = &dashes[..dashes.len() - 3]; // the legend's sample is 3 dashes
    assert!(data_dashes
        .iter()
        .flatten()
        .all(|&(_, y)| y == at_minus_seven));
    assert_texts(
        &svg,
        &[
            "catch: evaluation during training",
            "catch-seed0",
            "catch-seed1",
            "random policy (-7.0)",
        ],
    );

    // Nothing to draw is an error, not an empty folder.
    let no_curves = run_folder(
        &root,
        "catch-final-only",
        "catch",
        2,
        Some(
            r#"{"game": "catch", "checkpoint": "ckpt", "episodes": 1, "returns": [1.0], "mean_return": 1.0}"#,
        ),
        &[],
    );
    let report = rem_agent::report::report(&[no_curves]).unwrap();
    let error = write_learning_curves(&report, &root.join("none")).unwrap_err();
    assert!(error.to_string().contains("no learning curve"), "{error}");
}

#[test]
fn comparison_curves_draw_both_sets_of_each_game_they_share_in_two_families() {
    let root = fresh_dir("compare-curves");
    let eval_line = |epoch: u64, mean: f64| {
        format!(
            r#"{{"epoch": {epoch}, "env_steps": {}, "eval": {{"episodes": 8, "mean_return": {mean}, "returns": []}}, "seconds": {{}}}}"#,
            epoch * 200
        )
    };
    let logged = |name: &str, game: &str, seed: i64, means: &[f64]| {
        let lines: Vec<String> = (1..).zip(means).map(|(e, &m)| eval_line(e, m)).collect();
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        run_folder(&root, name, game, seed, None, &lines)
    };
    let a = [
        logged("a-catch-0", "catch", 0, &[-9.0, -2.0, 5.0]),
        logged("a-catch-1", "catch", 1, &[-8.0, 1.0]),
        logged("a-dodge-0", "dodge", 0, &[10.0, 20.0]),
    ];
    let b = [
        logged("b-catch-0", "catch", 0, &[-9.0, -6.0, -4.0, -1.0]),
        // Scored, but it logged no evaluation during training: no line.
        run_folder(
            &root,
            "b-catch-1",
            "catch",
            1,
            Some(&common::eval_json("catch", &[1.0, 2.0])),
            &[],
        ),
    ];
    let (runs_a, runs_b) = read_sets(&a, &b).unwrap();
    let random = read_random_policy(&[random_policy_folder(&root, "catch", &[-8.0, -6.0])]);
    let folder = root.join("curves");
    let written = write_comparison_curves(&runs_a, &runs_b, &random.unwrap(), &folder).unwrap();
    assert_eq!(
        written,
        vec![folder.join("catch.svg")],
        "dodge is A's alone"
    );
    let svg = std::fs::read_to_string(&written[0]).unwrap();
    assert_well_formed(&svg);

    // A's runs in two blues, B's in an orange, a point per logged evaluation.
    let lengths = ["#1F5FA8", "#6A9FD8", "#E07B39"].map(|c| series_line(&svg, c).unwrap().len());
    assert_eq!(lengths, [3, 2, 4]);
    assert!(
        series_line(&svg, "#F2AB7A").is_none(),
        "b-catch-1 has no curve"
    );
    assert!(
        polylines(&svg, "#505050").len() > 4,
        "a dashed random-policy line"
    );
    assert_texts(
        &svg,
        &[
            "catch: A against B, evaluation during training",
            "A: a-catch-0",
            "A: a-catch-1",
            "B: b-catch-0",
            "random policy (-7.0)",
        ],
    );

    // No game with curves on both sides is an error, not an empty folder; a training
    // run is no random policy's line.
    let error = write_comparison_curves(&runs_a[2..], &runs_b, &[], &root.join("none"));
    let error = error.unwrap_err().to_string();
    assert!(error.contains("no pair of learning curves"), "{error}");
    let error = read_random_policy(&a[..1]).unwrap_err().to_string();
    assert!(
        error.contains("not an evaluation of the random policy"),
        "{error}"
    );
}

#[test]
fn kept_models_scored_again_replace_their_points_and_carry_whiskers() {
    // Training evaluated epochs 2 (8 episodes) and 4 (the final, 4 episodes); the kept
    // models of epochs 2 and 3 were scored again; epoch 9's evaluation lies beyond
    // the metrics, and the one in epoch-1/ scored another epoch's models: both are
    // left out.
    let root = fresh_dir("kept-curves");
    let run = run_folder(
        &root,
        "catch-seed0",
        "catch",
        0,
        None,
        &[
            r#"{"epoch": 1, "env_steps": 200, "seconds": {}}"#,
            r#"{"epoch": 2, "env_steps": 400, "eval": {"episodes": 2, "mean_return": -9.0, "returns": [-9.0, -9.0]}, "seconds": {}}"#,
            r#"{"epoch": 3, "env_steps": 600, "seconds": {}}"#,
            r#"{"epoch": 4, "env_steps": 800, "eval": {"episodes": 4, "mean_return": 2.5, "returns": [1.0, 2.0, 3.0, 4.0]}, "seconds": {}}"#,
        ],
    );
    let scored = [
        (2, 2, "[5.0, 6.0, 7.0]"),
        (3, 3, "[3.0, 5.0]"),
        (9, 9, "[1.0, 1.0]"),
        (1, 4, "[8.0, 8.0]"),
    ];
    for (epoch, models, returns) in scored {
        let dir = run.join(format!("epoch-{epoch}"));
        std::fs::create_dir_all(&dir).unwrap();
        let eval = format!(
            r#"{{"game": "catch", "checkpoint": "models/epoch-{models:06}", "temperature": 0.5, "episodes": 2, "returns": {returns}}}"#
        );
        std::fs::write(dir.join("eval.json"), eval).unwrap();
    }
    let report = rem_agent::report::report(&[run]).unwrap();
    let kept = &report.runs[0].kept_evaluations;
    let read: Vec<(usize, u64, f64)> = kept
        .iter()
        .map(|k| (k.epoch, k.env_steps, k.mean_return))
        .collect();
    assert_eq!(read, [(2, 400, 6.0), (3, 600, 4.0)]);
    assert_eq!(kept[0].ci95, bootstrap_ci(&[5.0, 6.0, 7.0]));

    let written = write_learning_curves(&report, &root.join("curves")).unwrap();
    let svg = std::fs::read_to_string(&written[0]).unwrap();
    assert_well_formed(&svg);
    let lines = polylines(&svg, "#1F5FA8");
    let data = &lines[0];
    assert_eq!(data.len(), 3, "epochs 2 and 3 rescored, epoch 4 the final");
    // Rescored, epoch 2 sits at 6.0, above the final 2.5; as logged it was -9.0.
    assert!(data[0].1 < data[2].1, "pixel y grows downwards: {data:?}");
    // One whisker per rescored epoch and one at the final evaluation, each a
    // six-point path centred on its point and spanning it, with whole caps even at
    // the last x, on the frame's edge.
    let whiskers: Vec<_> = lines.iter().filter(|l| l.len() == 6).collect();
    assert_eq!(whiskers.len(), 3, "{lines:?}");
    for (whisker, point) in whiskers.iter().zip(data) {
        assert_eq!(whisker[2].0, point.0);
        let (left, right) = (point.0 - whisker[0].0, whisker[1].0 - point.0);
        assert!(left > 0.0 && (left - right).abs() <= 1.0, "{whisker:?}");
        let (top, bottom) = (whisker[3].1, whisker[2].1);
        assert!(
            top <= point.1 && point.1 <= bottom,
            "{whisker:?} around {point:?}"
        );
    }
}
