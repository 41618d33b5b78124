//! `rem bench phases` on a small configuration: every phase is timed with the
//! configuration's batches, and the epoch and run projections follow its schedule.

use burn::backend::{Autodiff, Flex};
use rem_agent::bench::{run_phases_bench, PhasesBench};
use rem_agent::config::RunConfig;

#[test]
fn phases_are_timed_and_projected_over_the_schedule() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let sets: Vec<String> = [
        "tokenizer.optim.batch=4",
        "world_model.optim.batch=2",
        "actor_critic.optim.batch=2",
    ]
    .map(String::from)
    .to_vec();
    let config = RunConfig::load(&root.join("runs/catch.toml"), &sets).unwrap();
    let bench = PhasesBench {
        config,
        n_actions: 3,
        iterations: 1,
        seed: 0,
    };
    let mut printed = 0;
    let report =
        run_phases_bench::<Autodiff<Flex>>(&bench, &Default::default(), |_| printed += 1).unwrap();
    assert_eq!(printed, 4);

    let phases: Vec<&str> = report.timings.iter().map(|t| t.phase).collect();
    assert_eq!(
        phases,
        ["acting", "tokenizer", "world_model", "actor_critic"]
    );
    let works: Vec<&str> = report.timings.iter().map(|t| t.work.as_str()).collect();
    assert_eq!(
        works,
        [
            "1 env(s), one step",
            "4 frames",
            "2 x 6 blocks",
            "2 rows, horizon 6"
        ]
    );
    let steps: Vec<usize> = report.timings.iter().map(|t| t.steps_per_epoch).collect();
    assert_eq!(
        steps,
        [200, 60, 100, 120],
        "runs/catch.toml's steps per epoch"
    );
    let epochs: Vec<usize> = report.timings.iter().map(|t| t.epochs).collect();
    assert_eq!(epochs, [40, 5, 36, 10], "runs/catch.toml's schedule");
    assert!(report.timings.iter().all(|t| t.seconds_per_step > 0.0));
    assert!(report.timings.iter().all(|t| t.warm_up_seconds > 0.0));

    // runs/catch.toml: 40 epochs of collection, tokenizer epochs 1-5, world model
    // 5-40, actor-critic 31-40.
    let epoch_cost: Vec<f64> = report
        .timings
        .iter()
        .map(|t| t.seconds_per_step * t.steps_per_epoch as f64)
        .collect();
    let expected_run =
        40.0 * epoch_cost[0] + 5.0 * epoch_cost[1] + 36.0 * epoch_cost[2] + 10.0 * epoch_cost[3];
    assert_eq!(report.epochs, 40);
    assert!((report.run_seconds - expected_run).abs() <= 1e-9 * expected_run);
    let expected_epoch: f64 = epoch_cost.iter().sum();
    assert!((report.epoch_seconds - expected_epoch).abs() <= 1e-12 * expected_epoch);
}
