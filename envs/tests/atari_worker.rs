//! The Atari worker process: games, action sets, failures, restarts and clean-up.

mod atari_support;

use std::process::Command;
use std::time::{Duration, Instant};

use atari_support::{ale_py_available, process_state, python};
use rem_envs::atari::{AtariConfig, AtariEnv, ATARI_100K_GAMES};
use rem_envs::{Env, EnvError};

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid} failed");
}

#[test]
fn unknown_game_lists_the_known_names() {
    let err = AtariEnv::new(AtariConfig::train("Breakoutt"))
        .err()
        .expect("unknown game");
    match &err {
        EnvError::UnknownGame { name, known } => {
            assert_eq!(name, "Breakoutt");
            assert_eq!(known.split(", ").count(), 26);
            assert!(known.contains("Breakout") && known.contains("UpNDown"));
        }
        other => panic!("expected UnknownGame, got {other}"),
    }
}

#[test]
fn every_atari_100k_rom_ships_with_ale_py() {
    if !ale_py_available("every_atari_100k_rom_ships_with_ale_py") {
        return;
    }
    let ids: Vec<&str> = ATARI_100K_GAMES.iter().map(|(_, rom)| *rom).collect();
    let script = "import sys; from ale_py import roms; known = set(roms.get_all_rom_ids()); \
                  print(','.join(r for r in sys.argv[1].split(',') if r not in known))";
    let out = Command::new(python())
        .args(["-c", script, &ids.join(",")])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "",
        "ROM ids missing from ale-py"
    );
}

#[test]
fn breakout_has_lives_and_its_minimal_action_set() {
    if !ale_py_available("breakout_has_lives_and_its_minimal_action_set") {
        return;
    }
    let mut env = AtariEnv::new(AtariConfig::train("breakout")).unwrap();
    assert_eq!(env.name(), "Breakout");
    assert_eq!(env.action_space().names, ["NOOP", "FIRE", "RIGHT", "LEFT"]);
    assert!(matches!(env.step(0), Err(EnvError::NeedsReset)));
    let (obs, info) = env.reset(Some(3)).unwrap();
    assert_eq!(info.lives, Some(5));
    assert!(
        (1..=30).contains(&info.episode_frame),
        "no-op reset of {} frames",
        info.episode_frame
    );
    assert!(obs.as_bytes().iter().any(|&b| b != 0), "blank first frame");
    assert!(matches!(
        env.step(4),
        Err(EnvError::InvalidAction { action: 4, n: 4 })
    ));
    let step = env.step(1).unwrap();
    assert_eq!(step.info.episode_frame, info.episode_frame + 4);
}

#[test]
fn killed_worker_fails_fast_and_restarts() {
    if !ale_py_available("killed_worker_fails_fast_and_restarts") {
        return;
    }
    let mut env = AtariEnv::new(AtariConfig::train("Breakout")).unwrap();
    env.reset(Some(1)).unwrap();
    for _ in 0..10 {
        env.step(1).unwrap();
    }
    let pid = env.worker_pid().unwrap();
    signal(pid, "KILL");
    let start = Instant::now();
    let err = env
        .step(0)
        .expect_err("a step on a killed worker must fail");
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "error took {:?}",
        start.elapsed()
    );
    assert!(
        err.to_string().contains("stopped"),
        "unexpected error: {err}"
    );
    assert_eq!(process_state(pid), None, "the killed worker was not reaped");
    assert!(matches!(env.step(0), Err(EnvError::NeedsReset)));

    env.restart().unwrap();
    assert_ne!(env.worker_pid(), Some(pid));
    let (_, info) = env.reset(None).unwrap();
    assert_eq!(info.lives, Some(5), "a restart begins a new game");
    env.step(1).unwrap();
}

#[test]
fn stuck_worker_times_out_and_reset_replaces_it() {
    if !ale_py_available("stuck_worker_times_out_and_reset_replaces_it") {
        return;
    }
    let cfg = AtariConfig {
        reply_timeout: Duration::from_millis(300),
        ..AtariConfig::train("Pong")
    };
    let mut env = AtariEnv::new(cfg).unwrap();
    env.reset(None).unwrap();
    let pid = env.worker_pid().unwrap();
    signal(pid, "STOP");
    let start = Instant::now();
    let err = env
        .step(0)
        .expect_err("a step on a stopped worker must fail");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "timeout took {:?}",
        start.elapsed()
    );
    assert!(
        err.to_string().contains("did not answer"),
        "unexpected error: {err}"
    );
    assert_eq!(process_state(pid), None, "the stuck worker was not reaped");
    // reset starts a new worker by itself.
    env.reset(None).unwrap();
    assert_ne!(env.worker_pid(), Some(pid));
    env.step(0).unwrap();
}

#[test]
fn dropping_the_env_reaps_the_worker() {
    if !ale_py_available("dropping_the_env_reaps_the_worker") {
        return;
    }
    let env = AtariEnv::new(AtariConfig::eval("Pong")).unwrap();
    let pid = env.worker_pid().unwrap();
    assert!(
        process_state(pid).is_some_and(|s| s != 'Z'),
        "the worker is not running"
    );
    drop(env);
    assert_eq!(process_state(pid), None, "the worker was not reaped");
}

#[test]
fn environments_sharing_a_worker_outlive_each_other_and_its_death() {
    if !ale_py_available("environments_sharing_a_worker_outlive_each_other_and_its_death") {
        return;
    }
    let cfgs = (0..3).map(|seed| AtariConfig::eval("Pong").with_seed(seed));
    let mut envs = AtariEnv::start_many(cfgs.collect(), 1).unwrap();
    let pid = envs[0].worker_pid().unwrap();
    for env in &mut envs {
        env.reset(None).unwrap();
    }
    // The process lives while any of its environments does.
    drop(envs.remove(0));
    assert!(
        process_state(pid).is_some_and(|s| s != 'Z'),
        "the worker died"
    );
    envs[0].step(1).unwrap();
    // Killed, it fails each of them; each restarts with a worker of its own.
    signal(pid, "KILL");
    for env in &mut envs {
        let err = env
            .step(0)
            .expect_err("a step on a killed worker must fail");
        assert!(
            err.to_string().contains("stopped"),
            "unexpected error: {err}"
        );
    }
    assert_eq!(process_state(pid), None, "the killed worker was not reaped");
    for env in &mut envs {
        env.reset(None).unwrap();
        env.step(0).unwrap();
    }
    let (a, b) = (envs[0].worker_pid().unwrap(), envs[1].worker_pid().unwrap());
    assert!(a != pid && b != pid && a != b, "pids {pid}, {a}, {b}");
    drop(envs);
    for restarted in [a, b] {
        assert_eq!(process_state(restarted), None, "a worker was not reaped");
    }
}

#[test]
fn an_emulator_loaded_at_its_first_reset_plays_as_one_loaded_at_start() {
    if !ale_py_available("an_emulator_loaded_at_its_first_reset_plays_as_one_loaded_at_start") {
        return;
    }
    // In a shared process only the first emulator loads at start; the second loads
    // at its first reset, unseeded here, so with its config's seed.
    let cfgs = [3, 4].map(|seed| AtariConfig::train("Breakout").with_seed(seed));
    let mut shared = AtariEnv::start_many(cfgs.to_vec(), 1).unwrap().remove(1);
    let mut alone = AtariEnv::new(cfgs[1].clone()).unwrap();
    let (a, _) = shared.reset(None).unwrap();
    let (b, _) = alone.reset(None).unwrap();
    assert_eq!(a, b);
    for i in 0..200 {
        let action = i % alone.action_space().n();
        let (a, b) = (shared.step(action).unwrap(), alone.step(action).unwrap());
        assert_eq!(
            (a.obs, a.reward, a.info),
            (b.obs, b.reward, b.info),
            "step {i}"
        );
        if a.terminated || a.truncated {
            assert_eq!(shared.reset(None).unwrap(), alone.reset(None).unwrap());
        }
    }
}
