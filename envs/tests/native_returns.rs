//! Mean episode return of a uniform random policy and of each game's scripted
//! policy. The numbers in envs/README.md come from the optimised build, which
//! plays 100 episodes per policy:
//! `cargo test -p rem-envs --release --test native_returns -- --nocapture`
//! Unoptimised builds play fewer episodes to keep the suite fast.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rem_envs::native::{make_native_game, NativeGame, NATIVE_GAMES};

const EPISODES: u64 = if cfg!(debug_assertions) { 20 } else { 100 };

/// Averages over `episodes` episodes of one policy.
struct Summary {
    mean_return: f64,
    mean_length: f64,
    truncated_episodes: u64,
    lives_lost: u64,
}

fn evaluate(game: &mut dyn NativeGame, scripted: bool, episodes: u64) -> Summary {
    let mut policy_rng = StdRng::seed_from_u64(1234);
    let n = game.action_space().n();
    let (mut total, mut steps, mut truncated_episodes, mut lives_lost) = (0.0, 0u64, 0, 0);
    for episode in 0..episodes {
        game.reset(Some(10_000 + episode)).unwrap();
        loop {
            let action = if scripted {
                game.heuristic_action()
            } else {
                policy_rng.random_range(0..n)
            };
            let step = game.step(action).unwrap();
            total += step.reward as f64;
            steps += 1;
            lives_lost += step.info.life_lost as u64;
            if step.done() {
                truncated_episodes += step.truncated as u64;
                break;
            }
        }
    }
    Summary {
        mean_return: total / episodes as f64,
        mean_length: steps as f64 / episodes as f64,
        truncated_episodes,
        lives_lost,
    }
}

#[test]
fn scripted_policy_clearly_beats_random() {
    for &name in NATIVE_GAMES {
        let mut game = make_native_game(name).unwrap();
        let random = evaluate(game.as_mut(), false, EPISODES);
        let scripted = evaluate(game.as_mut(), true, EPISODES);
        for (policy, s) in [("random", &random), ("scripted", &scripted)] {
            println!(
                "{name} {policy}: mean return {:.2}, mean length {:.1}, truncated {}/{EPISODES}, \
                 lives lost {}",
                s.mean_return, s.mean_length, s.truncated_episodes, s.lives_lost
            );
        }
        let (r, g) = (random.mean_return, scripted.mean_return);
        let margin = 0.25 * (g.abs() + r.abs()).max(1.0);
        assert!(g > r + margin, "{name}: scripted {g} vs random {r}");
    }
}
