//! The Rust Atari backend against the plain-Python wrapper stack over ale-py run in
//! process (`reference_wrappers.py`, which resizes with Pillow): same seed, same
//! actions, every frame compared byte for byte, with rewards, flags and info.

mod atari_support;

use std::process::Command;
use std::thread;

use atari_support::{ale_py_available, pillow_available, python, reference_script};
use rem_envs::atari::{AtariConfig, AtariEnv};
use rem_envs::rng::SplitMix64;
use rem_envs::{Env, Frame, FRAME_BYTES};

/// The reference needs ale-py and Pillow; prints why the test skips without them.
fn reference_available(test: &str) -> bool {
    ale_py_available(test) && pillow_available(test)
}

/// One reset (kind 0) or step (kind 1), as `reference_wrappers.py` writes it.
#[derive(Debug, Clone, PartialEq)]
struct Record {
    kind: u8,
    terminated: bool,
    truncated: bool,
    life_lost: bool,
    reward: f32,
    lives: i32,
    episode_frame: u64,
    frame: Vec<u8>,
}

const RECORD_HEADER: usize = 20;

fn parse_records(bytes: &[u8]) -> Vec<Record> {
    let size = RECORD_HEADER + FRAME_BYTES;
    assert_eq!(
        bytes.len() % size,
        0,
        "reference output is not whole records"
    );
    bytes
        .chunks(size)
        .map(|r| Record {
            kind: r[0],
            terminated: r[1] != 0,
            truncated: r[2] != 0,
            life_lost: r[3] != 0,
            reward: f32::from_le_bytes(r[4..8].try_into().unwrap()),
            lives: i32::from_le_bytes(r[8..12].try_into().unwrap()),
            episode_frame: u64::from_le_bytes(r[12..20].try_into().unwrap()),
            frame: r[RECORD_HEADER..].to_vec(),
        })
        .collect()
}

fn reset_record(obs: Frame, info: rem_envs::Info) -> Record {
    Record {
        kind: 0,
        terminated: false,
        truncated: false,
        life_lost: info.life_lost,
        reward: 0.0,
        lives: info.lives.map_or(-1, |l| l as i32),
        episode_frame: info.episode_frame,
        frame: obs.as_bytes().to_vec(),
    }
}

fn actions(n_actions: usize, count: usize, seed: u64) -> Vec<usize> {
    let mut rng = SplitMix64::new(seed);
    (0..count)
        .map(|_| (rng.next_u64() % n_actions as u64) as usize)
        .collect()
}

fn play_rust(env: &mut AtariEnv, seed: u64, actions: &[usize]) -> Vec<Record> {
    let (obs, info) = env.reset(Some(seed)).unwrap();
    let mut records = vec![reset_record(obs, info)];
    for &action in actions {
        step_and_record(env, action, &mut records);
    }
    records
}

/// One step, and the reset after it if the episode ended, as the reference does.
fn step_and_record(env: &mut AtariEnv, action: usize, records: &mut Vec<Record>) {
    let step = env.step(action).unwrap();
    let done = step.done();
    records.push(Record {
        kind: 1,
        terminated: step.terminated,
        truncated: step.truncated,
        life_lost: step.info.life_lost,
        reward: step.reward,
        lives: step.info.lives.map_or(-1, |l| l as i32),
        episode_frame: step.info.episode_frame,
        frame: step.obs.as_bytes().to_vec(),
    });
    if done {
        let (obs, info) = env.reset(None).unwrap();
        records.push(reset_record(obs, info));
    }
}

fn play_python(cfg: &AtariConfig, seed: u64, actions: &[usize]) -> Vec<Record> {
    let list: Vec<String> = actions.iter().map(usize::to_string).collect();
    let mode = if cfg.life_loss_ends_episode {
        "train"
    } else {
        "eval"
    };
    let output = Command::new(python())
        .arg(reference_script())
        .args([
            "--game",
            &cfg.game,
            "--mode",
            mode,
            "--seed",
            &seed.to_string(),
        ])
        .args(["--time-limit", &cfg.time_limit_frames.to_string()])
        .args(["--actions", &list.join(",")])
        .output()
        .expect("run the reference wrapper stack");
    assert!(
        output.status.success(),
        "reference failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    parse_records(&output.stdout)
}

/// Plays both sides at once and compares them record by record.
fn assert_parity(cfg: AtariConfig, seed: u64, action_count: usize) -> Vec<Record> {
    let mut env = AtariEnv::new(cfg.clone()).expect("start the Atari env");
    let actions = actions(env.action_space().n(), action_count, seed + 1000);
    let python_side = {
        let (cfg, actions) = (cfg.clone(), actions.clone());
        thread::spawn(move || play_python(&cfg, seed, &actions))
    };
    let ours = play_rust(&mut env, seed, &actions);
    assert_same_records(&ours, &python_side.join().unwrap());
    ours
}

fn assert_same_records(ours: &[Record], theirs: &[Record]) {
    assert_eq!(
        ours.len(),
        theirs.len(),
        "different numbers of resets and steps"
    );
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        let differing = a.frame.iter().zip(&b.frame).filter(|(x, y)| x != y).count();
        assert_eq!(differing, 0, "record {i}: {differing} frame bytes differ");
        assert_eq!(a, b, "record {i} differs");
    }
}

fn steps(records: &[Record]) -> impl Iterator<Item = &Record> {
    records.iter().filter(|r| r.kind == 1)
}

#[test]
fn breakout_train_matches_the_python_wrapper_stack() {
    if !reference_available("breakout_train_matches_the_python_wrapper_stack") {
        return;
    }
    let records = assert_parity(AtariConfig::train("Breakout"), 5, 300);
    // The run must cover life-loss ends, game over, and rewards.
    let life_loss_ends = steps(&records)
        .filter(|r| r.terminated && r.lives > 0)
        .count();
    assert!(life_loss_ends >= 2, "only {life_loss_ends} life-loss ends");
    assert!(
        steps(&records).any(|r| r.terminated && r.lives == 0),
        "no game over"
    );
    assert!(steps(&records).any(|r| r.reward > 0.0), "no reward");
    // A life-loss end continues the emulator: the next reset keeps the frame count.
    let continued = records
        .windows(2)
        .any(|w| w[0].terminated && w[0].lives > 0 && w[1].episode_frame > w[0].episode_frame);
    assert!(continued, "no continuation after a life loss");
}

#[test]
fn pong_train_with_mid_skip_truncation_matches_the_python_wrapper_stack() {
    if !reference_available("pong_train_with_mid_skip_truncation_matches_the_python_wrapper_stack")
    {
        return;
    }
    let cfg = AtariConfig {
        time_limit_frames: 1003,
        ..AtariConfig::train("Pong")
    };
    let records = assert_parity(cfg, 5, 300);
    let cut: Vec<&Record> = steps(&records).filter(|r| r.truncated).collect();
    assert!(!cut.is_empty(), "no truncation");
    assert!(cut.iter().all(|r| r.episode_frame == 1003 && r.lives == -1));
    assert!(steps(&records).any(|r| r.reward < 0.0), "no reward");
}

#[test]
fn breakout_eval_matches_the_python_wrapper_stack() {
    if !reference_available("breakout_eval_matches_the_python_wrapper_stack") {
        return;
    }
    let records = assert_parity(AtariConfig::eval("Breakout"), 5, 280);
    // Evaluation ends only at game over, and a real reset always runs one no-op.
    assert!(
        steps(&records).any(|r| r.life_lost && !r.terminated),
        "no life loss"
    );
    assert!(steps(&records)
        .filter(|r| r.terminated)
        .all(|r| r.lives == 0));
    assert!(records
        .iter()
        .filter(|r| r.kind == 0)
        .all(|r| r.episode_frame == 1));
}

#[test]
fn bankheist_train_drop_to_zero_lives_matches_the_python_wrapper_stack() {
    if !reference_available("bankheist_train_drop_to_zero_lives_matches_the_python_wrapper_stack") {
        return;
    }
    // Seed 5 loses lives to 3, 2, 1, then 0 without game over, then the game ends
    // (see atari_life_loss.rs).
    let records = assert_parity(AtariConfig::train("BankHeist"), 5, 460);
    assert!(
        steps(&records).any(|r| r.life_lost && r.lives == 0 && !r.terminated),
        "no drop to 0 lives"
    );
    assert!(steps(&records).any(|r| r.terminated && r.lives == 0 && !r.life_lost));
}

#[test]
fn environments_sharing_a_worker_each_match_the_python_wrapper_stack() {
    if !reference_available("environments_sharing_a_worker_each_match_the_python_wrapper_stack") {
        return;
    }
    // Three Breakout environments in one worker process, stepped in turn: each
    // matches the reference for its own seed, as with a process of its own.
    let seeds = [5, 6, 7];
    let cfgs = seeds.map(|seed| AtariConfig::train("Breakout").with_seed(seed));
    let mut envs = AtariEnv::start_many(cfgs.to_vec(), 1).expect("start the Atari envs");
    let pids: Vec<_> = envs.iter().map(|env| env.worker_pid().unwrap()).collect();
    assert!(pids.iter().all(|&pid| pid == pids[0]), "pids {pids:?}");
    let n_actions = envs[0].action_space().n();
    let actions = seeds.map(|seed| actions(n_actions, 200, seed + 1000));
    let python_sides: Vec<_> = (0..seeds.len())
        .map(|i| {
            let (cfg, seed, actions) = (cfgs[i].clone(), seeds[i], actions[i].clone());
            thread::spawn(move || play_python(&cfg, seed, &actions))
        })
        .collect();
    let mut ours: Vec<Vec<Record>> = envs
        .iter_mut()
        .zip(seeds)
        .map(|(env, seed)| {
            let (obs, info) = env.reset(Some(seed)).unwrap();
            vec![reset_record(obs, info)]
        })
        .collect();
    // One step of each in turn.
    let mut next_actions: Vec<_> = actions.iter().map(|list| list.iter()).collect();
    for _ in 0..200 {
        for ((env, records), next) in envs.iter_mut().zip(&mut ours).zip(&mut next_actions) {
            step_and_record(env, *next.next().unwrap(), records);
        }
    }
    for (ours, theirs) in ours.iter().zip(python_sides) {
        assert_same_records(ours, &theirs.join().unwrap());
        assert!(steps(ours).any(|r| r.terminated), "no episode end");
    }
}

/// DemonAttack, where uniform play scores more through `rem eval --policy random`
/// (189.9 over 100 episodes) than in raw ALE under the same protocol (151.9,
/// `scripts/random_protocols.py`): whole evaluation episodes, frame for frame.
#[test]
fn demonattack_eval_episodes_match_the_python_wrapper_stack() {
    if !reference_available("demonattack_eval_episodes_match_the_python_wrapper_stack") {
        return;
    }
    let records = assert_parity(AtariConfig::eval("DemonAttack"), 5, 2500);
    let game_overs = steps(&records).filter(|r| r.terminated).count();
    assert!(game_overs >= 2, "only {game_overs} game overs");
    assert!(steps(&records).any(|r| r.reward > 0.0), "no reward");
}
