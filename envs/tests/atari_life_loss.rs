//! Training-mode life loss (algorithm.md, section 1, item 5): a lost life ends the
//! learner's episode only while lives remain. BankHeist drops to 0 lives and keeps
//! playing its last life; that drop is no episode end, and the game over after it is.

mod atari_support;

use atari_support::ale_py_available;
use rem_envs::atari::{AtariConfig, AtariEnv};
use rem_envs::rng::SplitMix64;
use rem_envs::store::{EpisodeStore, Transition};
use rem_envs::Env;

/// Seed of the env; the random actions come from `SplitMix64::new(SEED + 1000)`.
/// With ale-py 0.12.1 this episode loses lives at agent steps 60, 114 and 243 (3, 2
/// and 1 left), drops to 0 lives at step 337 and ends at game over at step 454.
const SEED: u64 = 5;
const MAX_STEPS: usize = 3000;

#[test]
fn bankheist_drop_to_zero_lives_is_no_episode_end_in_training() {
    if !ale_py_available("bankheist_drop_to_zero_lives_is_no_episode_end_in_training") {
        return;
    }
    let mut env = AtariEnv::new(AtariConfig::train("BankHeist")).expect("start BankHeist");
    let n = env.action_space().n() as u64;
    let mut rng = SplitMix64::new(SEED + 1000);
    let (mut obs, info) = env.reset(Some(SEED)).unwrap();
    assert_eq!(info.lives, Some(4));
    // What the learner stores: its episodes must split exactly where the env ended them.
    let mut store = EpisodeStore::new(usize::MAX);

    let mut life_loss_ends = Vec::new();
    let mut zero_drop = None;
    let mut game_over = None;
    for step in 0..MAX_STEPS {
        let action = (rng.next_u64() % n) as usize;
        let s = env.step(action).unwrap();
        store.push(0, Transition::new(obs, action, &s));
        obs = s.obs.clone();
        let lives = s.info.lives.expect("BankHeist has lives");
        assert!(!s.truncated, "step {step}: truncated");
        if s.info.life_lost && lives > 0 {
            assert!(s.terminated, "step {step}: life lost, {lives} left, no end");
            life_loss_ends.push(step);
        } else if s.info.life_lost {
            assert!(
                !s.terminated,
                "step {step}: the drop to 0 lives ended the episode"
            );
            zero_drop = Some(step);
        } else if s.terminated {
            assert_eq!(lives, 0, "step {step}: ended without a life lost");
            game_over = Some(step);
            break;
        }
        if s.done() {
            assert!(
                zero_drop.is_none(),
                "step {step}: an end after the drop to 0"
            );
            // A life-loss end continues the emulator: no real reset, no new no-ops.
            let before = s.info.episode_frame;
            let (next, info) = env.reset(None).unwrap();
            obs = next;
            assert_eq!(
                info.episode_frame,
                before + 4,
                "step {step}: reset for real"
            );
        }
    }
    assert!(
        life_loss_ends.len() >= 3,
        "life-loss ends at steps {life_loss_ends:?}"
    );
    let zero_drop = zero_drop.expect("no drop to 0 lives without game over");
    let game_over = game_over.expect("no game over");
    assert!(life_loss_ends.iter().all(|&s| s < zero_drop) && zero_drop < game_over);
    let ends: Vec<usize> = life_loss_ends.iter().copied().chain([game_over]).collect();
    let lens: Vec<usize> = ends
        .iter()
        .scan(None, |previous: &mut Option<usize>, &end| {
            let len = end + 1 - previous.map_or(0, |p| p + 1);
            *previous = Some(end);
            Some(len)
        })
        .collect();
    assert_eq!(
        store.episode_lens(),
        lens,
        "the learner's episodes end at life losses with lives left and at game over only"
    );
    // Only game over resets the emulator: the next episode starts with its no-ops.
    let (_, info) = env.reset(None).unwrap();
    assert_eq!(info.lives, Some(4));
    assert!(info.episode_frame <= 30, "frame {}", info.episode_frame);
    eprintln!(
        "life-loss ends at steps {life_loss_ends:?}, 0 lives at step {zero_drop}, \
         game over at step {game_over}"
    );
}
