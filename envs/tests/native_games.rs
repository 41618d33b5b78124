//! Behaviour of the native games through the `Env` trait.

use rem_envs::native::{make_native, make_native_game, Bricks, Dodge, NativeGame, NATIVE_GAMES};
use rem_envs::{Env, EnvError, Frame, Step};

fn game(name: &str) -> Box<dyn Env> {
    make_native(name).unwrap_or_else(|| panic!("{name} is a native game"))
}

/// A fixed, varied action sequence valid for every game.
fn actions(n_actions: usize, len: usize) -> Vec<usize> {
    (0..len).map(|t| (t * 7 + t / 3) % n_actions).collect()
}

/// Plays `actions` from `reset(Some(seed))` until the episode ends.
fn rollout(env: &mut dyn Env, seed: u64, actions: &[usize]) -> (Frame, Vec<Step>) {
    let (first, _) = env.reset(Some(seed)).unwrap();
    let mut steps = Vec::new();
    for &a in actions {
        let step = env.step(a).unwrap();
        let done = step.done();
        steps.push(step);
        if done {
            break;
        }
    }
    (first, steps)
}

#[test]
fn registry_lists_every_game_and_rejects_unknown_names() {
    for &name in NATIVE_GAMES {
        let env = game(name);
        assert_eq!(env.name(), name);
        assert!(env.action_space().n() >= 3);
        assert_eq!(env.action_space().names[0], "NOOP");
    }
    assert!(make_native("pong").is_none());
    assert!(make_native_game("pong").is_none());
}

#[test]
fn same_seed_and_actions_give_identical_episodes() {
    for &name in NATIVE_GAMES {
        let (mut a, mut b) = (game(name), game(name));
        let acts = actions(a.action_space().n(), 300);
        let (first_a, steps_a) = rollout(a.as_mut(), 42, &acts);
        let (first_b, steps_b) = rollout(b.as_mut(), 42, &acts);
        assert_eq!(first_a, first_b, "{name}");
        assert_eq!(steps_a.len(), steps_b.len(), "{name}");
        for (sa, sb) in steps_a.iter().zip(&steps_b) {
            assert_eq!(sa.obs, sb.obs, "{name}");
            assert_eq!(sa.reward, sb.reward, "{name}");
            assert_eq!(
                (sa.terminated, sa.truncated),
                (sb.terminated, sb.truncated),
                "{name}"
            );
            assert_eq!(sa.info, sb.info, "{name}");
        }
        // Reseeding the same instance replays the episode too.
        let (first_again, steps_again) = rollout(a.as_mut(), 42, &acts);
        assert_eq!(first_again, first_a, "{name}");
        assert!(
            steps_again
                .iter()
                .zip(&steps_a)
                .all(|(x, y)| x.obs == y.obs),
            "{name}"
        );
    }
}

#[test]
fn different_seeds_give_different_episodes() {
    for &name in NATIVE_GAMES {
        let mut env = game(name);
        let acts = actions(env.action_space().n(), 40);
        let (_, a) = rollout(env.as_mut(), 1, &acts);
        let (_, b) = rollout(env.as_mut(), 2, &acts);
        let same = a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x.obs == y.obs);
        assert!(!same, "{name}: seeds 1 and 2 gave the same episode");
    }
}

#[test]
fn consecutive_frames_differ() {
    for &name in NATIVE_GAMES {
        let mut env = game(name);
        let (first, steps) = rollout(env.as_mut(), 7, &vec![0; 30]);
        assert!(!steps.is_empty());
        let mut previous = first;
        for (t, step) in steps.iter().enumerate() {
            assert_ne!(
                step.obs, previous,
                "{name}: frame {t} repeats the previous one"
            );
            previous = step.obs.clone();
        }
    }
}

#[test]
fn frames_are_not_blank() {
    for &name in NATIVE_GAMES {
        let (frame, _) = game(name).reset(Some(3)).unwrap();
        let distinct: std::collections::HashSet<[u8; 3]> = (0..64)
            .flat_map(|y| (0..64).map(move |x| (x, y)))
            .map(|(x, y)| frame.pixel(x, y))
            .collect();
        assert!(
            distinct.len() >= 3,
            "{name}: only {} colours",
            distinct.len()
        );
    }
}

#[test]
fn invalid_action_is_rejected() {
    for &name in NATIVE_GAMES {
        let mut env = game(name);
        env.reset(Some(0)).unwrap();
        let n = env.action_space().n();
        match env.step(n) {
            Err(EnvError::InvalidAction { action, n: size }) => assert_eq!((action, size), (n, n)),
            other => panic!("{name}: expected InvalidAction, got {other:?}"),
        }
        // The rejected action left the episode running.
        env.step(0).unwrap();
    }
}

#[test]
fn step_before_reset_and_after_the_end_needs_reset() {
    for &name in NATIVE_GAMES {
        let mut env = game(name);
        assert!(matches!(env.step(0), Err(EnvError::NeedsReset)), "{name}");
        env.reset(Some(0)).unwrap();
        let mut ended = false;
        for _ in 0..5000 {
            if env.step(0).unwrap().done() {
                ended = true;
                break;
            }
        }
        assert!(ended, "{name}: NOOP episode never ended");
        assert!(matches!(env.step(0), Err(EnvError::NeedsReset)), "{name}");
        env.reset(None).unwrap();
        env.step(0).unwrap();
    }
}

#[test]
fn catch_terminates_after_ten_drops_with_one_reward_each() {
    let mut env = game("catch");
    env.reset(Some(5)).unwrap();
    let (mut rewards, mut steps) = (Vec::new(), 0);
    loop {
        let step = env.step(1).unwrap();
        steps += 1;
        assert!(!step.truncated);
        if step.reward != 0.0 {
            rewards.push(step.reward);
        }
        if step.terminated {
            break;
        }
    }
    assert_eq!(rewards.len(), 10);
    assert!(rewards.iter().all(|&r| r == 1.0 || r == -1.0));
    assert_eq!(steps, 70, "each ball falls for seven steps");
}

#[test]
fn bricks_loses_lives_then_terminates() {
    let mut env = Bricks::new();
    let (_, info) = env.reset(Some(3)).unwrap();
    assert_eq!(info.lives, Some(3));
    let mut lives_seen = vec![3];
    loop {
        // Staying at the far left misses most serves.
        let step = env.step(1).unwrap();
        let lives = step.info.lives.unwrap();
        if step.info.life_lost {
            assert_eq!(lives + 1, *lives_seen.last().unwrap());
            lives_seen.push(lives);
        } else {
            assert_eq!(lives, *lives_seen.last().unwrap());
        }
        assert!(!step.truncated);
        if step.terminated {
            assert_eq!(lives, 0);
            break;
        }
    }
    assert_eq!(lives_seen, vec![3, 2, 1, 0]);
}

#[test]
fn step_limit_truncates_without_terminating() {
    let limit = 25;
    let games: Vec<Box<dyn NativeGame>> = vec![
        Box::new(Bricks::with_step_limit(limit)),
        Box::new(Dodge::with_step_limit(limit)),
    ];
    for mut game in games {
        game.reset(Some(11)).unwrap();
        for t in 1..=limit {
            // The scripted policy survives this long, so only the limit can end it.
            let step = game.step(game.heuristic_action()).unwrap();
            assert_eq!(step.info.episode_frame, t);
            assert!(!step.terminated, "{} terminated at step {t}", game.name());
            assert_eq!(step.truncated, t == limit, "{} at step {t}", game.name());
        }
        assert!(matches!(game.step(0), Err(EnvError::NeedsReset)));
    }
}

#[test]
fn dodge_terminates_on_a_hit() {
    let mut env = Dodge::new();
    env.reset(Some(9)).unwrap();
    // Running into the top edge, where hazards enter, gets hit quickly.
    let mut hit = false;
    for _ in 0..500 {
        let step = env.step(1).unwrap();
        if step.terminated {
            assert!(!step.truncated);
            hit = true;
            break;
        }
    }
    assert!(hit, "a player parked at the top was never hit");
}
