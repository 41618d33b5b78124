//! Episode bookkeeping, segment sampling and the byte cap of the episode store.

use rand::rngs::StdRng;
use rand::SeedableRng;
use rem_envs::store::{EpisodeStore, Padding, StoreError, Transition, STEP_BYTES};
use rem_envs::{Frame, FRAME_BYTES};

const UNCAPPED: usize = usize::MAX;

/// A frame whose every byte is `tag`, so sampled frames can be traced back.
fn tagged(tag: u8) -> Frame {
    Frame::from_bytes(vec![tag; FRAME_BYTES])
}

fn step(tag: u8) -> Transition {
    Transition {
        obs: tagged(tag),
        action: tag as usize % 3,
        reward: tag as f32,
        terminated: false,
        truncated: false,
        life_lost: false,
    }
}

fn terminal(tag: u8) -> Transition {
    Transition {
        terminated: true,
        ..step(tag)
    }
}

/// Pushes an episode of `len` steps tagged `first..first+len`, ended by termination.
fn push_episode(store: &mut EpisodeStore, env_id: usize, first: u8, len: u8) {
    for tag in first..first + len - 1 {
        store.push(env_id, step(tag));
    }
    store.push(env_id, terminal(first + len - 1));
}

#[test]
fn counts_steps_episodes_and_bytes() {
    let mut store = EpisodeStore::new(UNCAPPED);
    push_episode(&mut store, 0, 1, 5);
    for tag in 10..13 {
        store.push(1, step(tag));
    }
    assert_eq!(store.num_steps(), 8);
    assert_eq!(store.num_episodes(), 2);
    assert_eq!(store.num_complete_episodes(), 1);
    assert_eq!(store.bytes(), 8 * STEP_BYTES);
    assert_eq!(store.episode_lens(), vec![5, 3]);
}

#[test]
fn interleaved_envs_keep_separate_episodes() {
    let mut store = EpisodeStore::new(UNCAPPED);
    for t in 0..6u8 {
        store.push(0, step(t));
        store.push(1, step(100 + t));
    }
    store.push(1, terminal(106));
    assert_eq!(store.episode_lens(), vec![7, 6]);
    let mut rng = StdRng::seed_from_u64(0);
    let batch = store
        .sample_segments(&mut rng, 64, 3, Padding::Right, 1)
        .unwrap();
    for b in 0..64 {
        let tags: Vec<u8> = (0..3)
            .filter(|&t| batch.mask[b * 3 + t])
            .map(|t| batch.frame(b, t)[0])
            .collect();
        // Real steps of one segment are consecutive steps of one environment.
        assert!(tags.windows(2).all(|w| w[1] == w[0] + 1), "{tags:?}");
    }
}

#[test]
fn life_loss_and_truncation_split_episodes() {
    let mut store = EpisodeStore::new(UNCAPPED);
    for tag in 0..10u8 {
        let t = Transition {
            life_lost: tag == 3 || tag == 6,
            truncated: tag == 9,
            ..step(tag)
        };
        store.push(0, t);
    }
    assert_eq!(store.episode_lens(), vec![4, 3, 3]);
    assert_eq!(store.num_complete_episodes(), 3);

    let mut rng = StdRng::seed_from_u64(1);
    let len = 5;
    let batch = store
        .sample_segments(&mut rng, 200, len, Padding::Right, 1)
        .unwrap();
    for b in 0..200 {
        let real: Vec<usize> = (0..len).filter(|&t| batch.mask[b * len + t]).collect();
        let first = batch.frame(b, 0)[0];
        let last_tag = first + real.len() as u8 - 1;
        // A segment never crosses a lost life: it stops at the episode's last step.
        assert_eq!(real, (0..real.len()).collect::<Vec<_>>());
        assert!(
            matches!(last_tag, 3 | 6 | 9),
            "segment from {first} ends at {last_tag}"
        );
        for (t, &is_real) in batch.mask[b * len..(b + 1) * len].iter().enumerate() {
            let tag = first as usize + t;
            // Life loss is an end for the learner; truncation is not.
            let expected_end = is_real && (tag == 3 || tag == 6);
            assert_eq!(batch.ends[b * len + t], expected_end, "tag {tag}");
        }
    }
}

#[test]
fn sampled_batches_have_the_documented_shapes() {
    let mut store = EpisodeStore::new(UNCAPPED);
    push_episode(&mut store, 0, 1, 20);
    let mut rng = StdRng::seed_from_u64(2);
    for padding in [Padding::Right, Padding::Left] {
        let batch = store.sample_segments(&mut rng, 4, 6, padding, 1).unwrap();
        assert_eq!((batch.batch, batch.len), (4, 6));
        assert_eq!(batch.frames.len(), 4 * 6 * 64 * 64 * 3);
        assert_eq!(batch.actions.len(), 24);
        assert_eq!(batch.rewards.len(), 24);
        assert_eq!(batch.ends.len(), 24);
        assert_eq!(batch.mask.len(), 24);
    }
}

#[test]
fn right_padding_fills_after_the_episode_end() {
    let mut store = EpisodeStore::new(UNCAPPED);
    push_episode(&mut store, 0, 1, 3);
    let mut rng = StdRng::seed_from_u64(3);
    let len = 5;
    let batch = store
        .sample_segments(&mut rng, 300, len, Padding::Right, 1)
        .unwrap();
    let mut starts = [0usize; 3];
    for b in 0..300 {
        let first = batch.frame(b, 0)[0];
        assert!(
            batch.mask[b * len],
            "right padding always starts on a real step"
        );
        let real = 4 - first as usize; // steps from `first` to the last tag, 3
        starts[first as usize - 1] += 1;
        for t in 0..len {
            let i = b * len + t;
            if t < real {
                assert!(batch.mask[i]);
                assert_eq!(batch.frame(b, t)[0], first + t as u8);
                assert_eq!(batch.rewards[i], (first + t as u8) as f32);
                assert_eq!(batch.actions[i], (first as usize + t) % 3);
                assert_eq!(batch.ends[i], first as usize + t == 3);
            } else {
                assert!(!batch.mask[i] && !batch.ends[i]);
                assert_eq!((batch.actions[i], batch.rewards[i]), (0, 0.0));
                assert!(batch.frame(b, t).iter().all(|&p| p == 0));
            }
        }
    }
    assert!(
        starts.iter().all(|&n| n > 60),
        "every start index is drawn: {starts:?}"
    );
}

#[test]
fn left_padding_fills_before_the_episode_start() {
    let mut store = EpisodeStore::new(UNCAPPED);
    push_episode(&mut store, 0, 1, 3);
    let mut rng = StdRng::seed_from_u64(4);
    let len = 5;
    let batch = store
        .sample_segments(&mut rng, 300, len, Padding::Left, 1)
        .unwrap();
    let mut last_tags = [0usize; 3];
    for b in 0..300 {
        assert!(
            batch.mask[b * len + len - 1],
            "left padding always ends on a real step"
        );
        let last = batch.frame(b, len - 1)[0];
        last_tags[last as usize - 1] += 1;
        let real = last as usize; // tags 1..=last are real
        for t in 0..len {
            let i = b * len + t;
            let is_real = t >= len - real;
            assert_eq!(batch.mask[i], is_real);
            if is_real {
                assert_eq!(batch.frame(b, t)[0] as usize, last as usize + t + 1 - len);
            } else {
                assert!(batch.frame(b, t).iter().all(|&p| p == 0));
                assert_eq!(
                    (batch.actions[i], batch.rewards[i], batch.ends[i]),
                    (0, 0.0, false)
                );
            }
        }
    }
    assert!(
        last_tags.iter().all(|&n| n > 60),
        "every end index is drawn: {last_tags:?}"
    );
}

#[test]
fn anchors_are_uniform_over_all_steps() {
    let mut store = EpisodeStore::new(UNCAPPED);
    push_episode(&mut store, 0, 1, 1);
    push_episode(&mut store, 0, 10, 9);
    let mut rng = StdRng::seed_from_u64(5);
    let mut counts = std::collections::BTreeMap::new();
    let (rounds, per_round) = (10, 500);
    for _ in 0..rounds {
        let batch = store
            .sample_segments(&mut rng, per_round, 1, Padding::Right, 1)
            .unwrap();
        for b in 0..per_round {
            *counts.entry(batch.frame(b, 0)[0]).or_insert(0usize) += 1;
        }
    }
    let n = rounds * per_round;
    // Ten steps in all: each is drawn a tenth of the time, whatever its episode's length.
    assert_eq!(counts.len(), 10);
    for (tag, count) in counts {
        let share = count as f64 / n as f64;
        assert!(
            (share - 0.1).abs() < 0.02,
            "step {tag} drawn {share:.3} of the time"
        );
    }
}

#[test]
fn episodes_in_progress_are_sampled() {
    let mut store = EpisodeStore::new(UNCAPPED);
    for tag in 1..=4 {
        store.push(0, step(tag));
    }
    assert_eq!(store.num_complete_episodes(), 0);
    let mut rng = StdRng::seed_from_u64(6);
    let batch = store
        .sample_segments(&mut rng, 8, 2, Padding::Right, 1)
        .unwrap();
    assert!((0..8).all(|b| (1..=4).contains(&batch.frame(b, 0)[0])));
}

#[test]
fn sampling_is_deterministic_for_a_seed() {
    let mut store = EpisodeStore::new(UNCAPPED);
    push_episode(&mut store, 0, 1, 7);
    push_episode(&mut store, 1, 20, 5);
    let a = store
        .sample_segments(&mut StdRng::seed_from_u64(9), 6, 4, Padding::Left, 1)
        .unwrap();
    let b = store
        .sample_segments(&mut StdRng::seed_from_u64(9), 6, 4, Padding::Left, 1)
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn bad_sampling_requests_are_errors() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut store = EpisodeStore::new(UNCAPPED);
    assert!(matches!(
        store.sample_segments(&mut rng, 2, 3, Padding::Right, 1),
        Err(StoreError::Empty)
    ));
    store.push(0, step(1));
    assert!(matches!(
        store.sample_segments(&mut rng, 2, 0, Padding::Left, 1),
        Err(StoreError::ZeroLength)
    ));
}

#[test]
fn cap_drops_the_oldest_completed_episodes() {
    let mut store = EpisodeStore::new(10 * STEP_BYTES);
    push_episode(&mut store, 0, 10, 4);
    push_episode(&mut store, 1, 20, 4);
    assert_eq!(store.num_steps(), 8);
    push_episode(&mut store, 0, 30, 4);
    assert_eq!(store.episode_lens(), vec![4, 4]);
    assert_eq!(store.dropped_episodes(), 1);
    assert!(store.bytes() <= store.max_bytes());
    // The survivors are the two newest episodes.
    let batch = store
        .sample_segments(&mut StdRng::seed_from_u64(8), 100, 1, Padding::Right, 1)
        .unwrap();
    assert!((0..100).all(|b| batch.frame(b, 0)[0] >= 20));
}

#[test]
fn cap_never_drops_episodes_in_progress() {
    let mut store = EpisodeStore::new(2 * STEP_BYTES);
    for tag in 0..5 {
        store.push(0, step(tag));
    }
    assert_eq!(
        store.num_steps(),
        5,
        "the open episode is kept above the cap"
    );
    push_episode(&mut store, 1, 50, 1);
    assert_eq!(
        store.dropped_episodes(),
        1,
        "a completed episode goes as soon as the store is over the cap"
    );
    assert_eq!(store.episode_lens(), vec![5]);
    store.push(0, terminal(5));
    assert_eq!(
        store.num_steps(),
        0,
        "once completed, an episode larger than the cap is dropped too"
    );
}

#[test]
fn closing_an_episode_marks_it_truncated() {
    let mut store = EpisodeStore::new(UNCAPPED);
    store.push(0, step(1));
    store.push(0, step(2));
    store.push(1, step(3));
    store.close_episode(0);
    store.close_episode(7); // no episode in progress: nothing happens
    assert_eq!(store.num_complete_episodes(), 1);
    store.push(0, step(4));
    assert_eq!(store.episode_lens(), vec![2, 1, 1]);
    store.close_open_episodes();
    assert_eq!(store.num_complete_episodes(), 3);
    let batch = store
        .sample_segments(&mut StdRng::seed_from_u64(0), 50, 2, Padding::Right, 1)
        .unwrap();
    assert!(
        batch.ends.iter().all(|&e| !e),
        "truncation is not a learner end"
    );
}

/// Episodes of 1, 2, 3, 4 and 7 steps tagged by episode (tens) and step (units).
fn short_episodes() -> EpisodeStore {
    let mut store = EpisodeStore::new(UNCAPPED);
    for (i, len) in [1u8, 2, 3, 4, 7].into_iter().enumerate() {
        push_episode(&mut store, 0, 10 * (i as u8 + 1), len);
    }
    store
}

#[test]
fn world_model_segments_hold_their_context_and_a_frame_with_a_loss() {
    // The spec's 10-block segments with 2 context blocks need 3 real frames: only the
    // episodes of 3, 4 and 7 steps qualify, with 1, 2 and 5 valid starts.
    let store = short_episodes();
    let (len, need) = (10, 3);
    let batch = store
        .sample_segments(
            &mut StdRng::seed_from_u64(5),
            4000,
            len,
            Padding::Right,
            need,
        )
        .unwrap();
    let mut starts = std::collections::BTreeMap::<u8, usize>::new();
    for b in 0..batch.batch {
        let real = batch.mask[b * len..(b + 1) * len]
            .iter()
            .filter(|&&m| m)
            .count();
        assert!(real >= need, "segment {b} holds {real} real frames");
        *starts.entry(batch.frame(b, 0)[0]).or_default() += 1;
    }
    // Uniform over the 8 valid starts: 30; 40, 41; 50..=54.
    let valid: Vec<u8> = vec![30, 40, 41, 50, 51, 52, 53, 54];
    assert_eq!(starts.keys().copied().collect::<Vec<_>>(), valid);
    for (start, count) in &starts {
        assert!(
            (400..600).contains(count),
            "start {start} drawn {count} times of 4000, expected ~500"
        );
    }
}

#[test]
fn actor_critic_segments_end_on_a_real_frame_after_a_real_frame() {
    let store = short_episodes();
    let len = 21;
    let batch = store
        .sample_segments(&mut StdRng::seed_from_u64(6), 2000, len, Padding::Left, 2)
        .unwrap();
    let mut ends = std::collections::BTreeSet::new();
    for b in 0..batch.batch {
        assert!(
            batch.mask[b * len + len - 1] && batch.mask[b * len + len - 2],
            "segment {b}: the imagination's context would hold padding"
        );
        ends.insert(batch.frame(b, len - 1)[0]);
    }
    // Every step but the first of each episode ends some segment; the 1-step
    // episode never does.
    let expected: std::collections::BTreeSet<u8> = [21, 31, 32, 41, 42, 43, 51, 52, 53, 54, 55, 56]
        .into_iter()
        .collect();
    assert_eq!(ends, expected);
}

#[test]
fn a_store_without_a_long_enough_episode_says_so() {
    let mut store = EpisodeStore::new(UNCAPPED);
    push_episode(&mut store, 0, 1, 2);
    let result = store.sample_segments(&mut StdRng::seed_from_u64(0), 1, 10, Padding::Right, 3);
    assert!(matches!(
        result,
        Err(StoreError::NoEpisodeLongEnough { steps: 3 })
    ));
    // A shorter segment needs no more than its length.
    assert!(store
        .sample_segments(&mut StdRng::seed_from_u64(0), 1, 2, Padding::Right, 3)
        .is_ok());
}

#[test]
fn losing_the_last_life_without_game_over_does_not_end_the_learner_episode() {
    use rem_envs::{Info, Step};
    let step_with = |lives: u32, life_lost: bool| Step {
        obs: tagged(1),
        reward: 0.0,
        terminated: false,
        truncated: false,
        info: Info {
            lives: Some(lives),
            life_lost,
            episode_frame: 0,
        },
    };
    let lost_one = Transition::new(tagged(1), 0, &step_with(2, true));
    assert!(lost_one.life_lost && lost_one.ends_episode());
    let lost_last = Transition::new(tagged(1), 0, &step_with(0, true));
    assert!(!lost_last.life_lost && !lost_last.ends_episode());

    let mut store = EpisodeStore::new(UNCAPPED);
    store.push(0, Transition::new(tagged(1), 0, &step_with(1, false)));
    store.push(0, lost_last);
    store.push(0, Transition::new(tagged(2), 0, &step_with(0, false)));
    assert_eq!(
        store.episode_lens(),
        vec![3],
        "the game goes on in one episode"
    );
}

#[test]
fn tiled_segments_hold_every_step_after_the_context_once() {
    let mut store = EpisodeStore::new(UNCAPPED);
    push_episode(&mut store, 0, 0, 13); // windows start at steps 0, 4 and 8
    push_episode(&mut store, 0, 100, 2); // too short for a context of 2 and one step
    push_episode(&mut store, 0, 200, 3);
    let (len, context) = (6, 2);
    let batches = store
        .tile_segments(len, len - context, context + 1, 2)
        .unwrap();
    assert_eq!(batches.iter().map(|b| b.batch).collect::<Vec<_>>(), [2, 2]);
    let mut scored = Vec::new();
    for batch in &batches {
        for b in 0..batch.batch {
            for t in 0..len {
                let i = b * len + t;
                if batch.mask[i] {
                    assert_eq!(batch.frame(b, t)[0] as f32, batch.rewards[i]);
                    if t >= context {
                        scored.push(batch.rewards[i] as u8);
                    }
                }
            }
        }
    }
    let expected: Vec<u8> = (2..13).chain([202]).collect();
    assert_eq!(scored, expected);
    // The third window of the first episode starts at step 8 and pads after step 12.
    let third = &batches[1];
    assert_eq!(third.frame(0, 4)[0], 12);
    assert!(!third.mask[5]);
    assert!(store.tile_segments(20, 4, 20, 2).is_err());
    assert!(store.tile_segments(6, 0, 3, 2).is_err());
}

#[test]
fn open_episode_tails_hold_each_episode_in_progress_last_steps_left_padded() {
    let mut store = EpisodeStore::new(UNCAPPED);
    push_episode(&mut store, 0, 1, 3); // env 0: ended, then 5 steps in progress
    for tag in 10..15 {
        store.push(0, step(tag));
    }
    for tag in 20..22 {
        store.push(1, step(tag)); // env 1: 2 steps in progress
    }
    push_episode(&mut store, 2, 30, 4); // env 2: its episode just ended

    let tails = store.open_episode_tails(&[2, 0, 1], 3);
    assert_eq!((tails.batch, tails.len), (3, 3));
    let tags = |b: usize| (0..3).map(|t| tails.frame(b, t)[0]).collect::<Vec<_>>();
    assert_eq!(tags(0), [0, 0, 0]);
    assert_eq!(tags(1), [12, 13, 14]);
    assert_eq!(tags(2), [0, 20, 21]);
    assert_eq!(
        tails.mask,
        [false, false, false, true, true, true, false, true, true]
    );
    assert_eq!(tails.actions, [0, 0, 0, 0, 1, 2, 0, 2, 0]);
}

/// An episode of `len` steps tagged `first..`, rewarded only at the tags in `rewarded`.
fn push_sparse_episode(store: &mut EpisodeStore, first: u8, len: u8, rewarded: &[u8]) {
    let rewards: Vec<(u8, f32)> = rewarded.iter().map(|&tag| (tag, 1.0)).collect();
    push_signed_episode(store, first, len, &rewards);
}

/// An episode of `len` steps tagged `first..`, with reward `r` at each `(tag, r)` of
/// `rewards` and 0 elsewhere.
fn push_signed_episode(store: &mut EpisodeStore, first: u8, len: u8, rewards: &[(u8, f32)]) {
    for tag in first..first + len {
        let reward = rewards.iter().find(|(t, _)| *t == tag).map_or(0.0, |r| r.1);
        store.push(
            0,
            Transition {
                reward,
                terminated: tag == first + len - 1,
                ..step(tag)
            },
        );
    }
}

#[test]
fn rewarded_rows_hold_a_reward_where_the_world_model_has_a_loss() {
    let mut store = EpisodeStore::new(UNCAPPED);
    // Rewards at tags 1 (inside any segment's context), 25 and 104.
    push_sparse_episode(&mut store, 0, 30, &[1, 25]);
    push_sparse_episode(&mut store, 100, 6, &[104]);
    let (len, min_real, loss_from) = (5, 3, 2);
    let mut rng = StdRng::seed_from_u64(3);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let batch = store
            .sample_segments_with_rewarded(&mut rng, 4, len, min_real, 3, loss_from)
            .unwrap()
            .segments;
        for b in 0..3 {
            let first = batch.frame(b, 0)[0];
            let real = (0..len).filter(|&t| batch.mask[b * len + t]).count();
            assert!(
                real >= min_real,
                "row {b} from tag {first}: {real} real steps"
            );
            let rewarded: Vec<usize> = (loss_from..len)
                .filter(|&t| batch.rewards[b * len + t] != 0.0)
                .collect();
            assert!(
                !rewarded.is_empty(),
                "row {b} from tag {first} has no reward"
            );
            seen.insert(first);
        }
    }
    // Reward 25 sits at positions 2-4 from firsts 21-23 (firsts up to 27 are valid);
    // reward 104 from first 100 only (firsts past 103 leave under 3 real steps);
    // reward 1 never lies past the context.
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        vec![21, 22, 23, 100, 101, 102]
    );
}

#[test]
fn rewarded_rows_come_first_and_the_rest_are_the_uniform_draws() {
    let mut store = EpisodeStore::new(UNCAPPED);
    push_sparse_episode(&mut store, 0, 40, &[20]);
    let draw = |rewarded: usize| {
        store
            .sample_segments_with_rewarded(&mut StdRng::seed_from_u64(9), 6, 4, 2, rewarded, 1)
            .unwrap()
            .segments
    };
    let uniform = |rows: usize| {
        store
            .sample_segments(&mut StdRng::seed_from_u64(9), rows, 4, Padding::Right, 2)
            .unwrap()
    };
    assert_eq!(
        draw(0),
        uniform(6),
        "no rewarded rows: the uniform draws, draw for draw"
    );
    let mixed = draw(2);
    let rest = uniform(4);
    for b in 0..4 {
        for t in 0..4 {
            assert_eq!(mixed.frame(b + 2, t), rest.frame(b, t));
        }
    }
    assert_eq!(mixed.actions[8..], rest.actions[..]);
    assert_eq!(mixed.mask[8..], rest.mask[..]);

    // Without a reward past any context, every row is uniform.
    let mut plain = EpisodeStore::new(UNCAPPED);
    push_sparse_episode(&mut plain, 0, 40, &[]);
    let all = plain
        .sample_segments_with_rewarded(&mut StdRng::seed_from_u64(9), 6, 4, 2, 6, 1)
        .unwrap()
        .segments;
    let expected = plain
        .sample_segments(&mut StdRng::seed_from_u64(9), 6, 4, Padding::Right, 2)
        .unwrap();
    assert_eq!(all, expected);
}

/// A store whose rewards are rare where the world model has a loss: +1 at tags 25
/// and 104, -1 at 102, and one reward (tag 1) that only a context ever holds.
fn sparse_signed_store() -> EpisodeStore {
    let mut store = EpisodeStore::new(UNCAPPED);
    push_signed_episode(&mut store, 0, 60, &[(1, 1.0), (25, 1.0)]);
    push_signed_episode(&mut store, 100, 8, &[(102, -1.0), (104, 1.0)]);
    store
}

/// Every valid segment once: the uniform draw's whole distribution.
fn every_segment(
    store: &EpisodeStore,
    len: usize,
    min_real: usize,
) -> Vec<rem_envs::store::SegmentBatch> {
    store.tile_segments(len, 1, min_real, 64).unwrap()
}

/// Reward signs -1, 0, +1 at real positions `loss_from..` of row `b`, counted.
fn loss_signs(batch: &rem_envs::store::SegmentBatch, b: usize, loss_from: usize) -> [f64; 3] {
    let mut counts = [0.0; 3];
    for t in loss_from..batch.len {
        let i = b * batch.len + t;
        if batch.mask[i] {
            let r = batch.rewards[i];
            counts[if r < 0.0 {
                0
            } else if r == 0.0 {
                1
            } else {
                2
            }] += 1.0;
        }
    }
    counts
}

#[test]
fn importance_weighted_rows_estimate_the_uniform_draws_means() {
    let store = sparse_signed_store();
    let (len, min_real, loss_from, batch, rewarded) = (5, 3, 2, 4, 2);
    // Two row statistics: the positive rewards where the loss is, and the first tag.
    let stats = |b: &rem_envs::store::SegmentBatch, row: usize| {
        [loss_signs(b, row, loss_from)[2], b.frame(row, 0)[0] as f64]
    };
    let (mut uniform, mut segments) = ([0.0; 2], 0.0);
    for tile in every_segment(&store, len, min_real) {
        for row in 0..tile.batch {
            let s = stats(&tile, row);
            (0..2).for_each(|k| uniform[k] += s[k]);
            segments += 1.0;
        }
    }
    uniform.iter_mut().for_each(|u| *u /= segments);

    let mut rng = StdRng::seed_from_u64(5);
    let draws = 40_000;
    let (mut weighted, mut unweighted) = ([0.0; 2], [0.0; 2]);
    for _ in 0..draws {
        let drawn = store
            .sample_segments_with_rewarded(&mut rng, batch, len, min_real, rewarded, loss_from)
            .unwrap();
        for row in 0..batch {
            let s = stats(&drawn.segments, row);
            let w = drawn.row_weights[row] as f64;
            (0..2).for_each(|k| {
                weighted[k] += w * s[k] / (draws * batch) as f64;
                unweighted[k] += s[k] / (draws * batch) as f64;
            });
        }
    }
    // The rewarded rows make positive rewards about 9 times as frequent as uniform
    // draws do; the weights take that back out, and leave the tags' mean as it is.
    assert!(
        unweighted[0] > 5.0 * uniform[0],
        "{unweighted:?} against {uniform:?}"
    );
    for k in 0..2 {
        let error = (weighted[k] - uniform[k]).abs() / uniform[k];
        assert!(
            error < 0.03,
            "statistic {k}: weighted {} against uniform {}",
            weighted[k],
            uniform[k]
        );
    }
}

#[test]
fn the_sign_shift_is_the_log_ratio_of_each_signs_rate_drawn_and_uniform() {
    let store = sparse_signed_store();
    let (len, min_real, loss_from, batch, rewarded) = (5, 3, 2, 4, 2);
    let rates = |counts: [f64; 3]| counts.map(|c| c / counts.iter().sum::<f64>());
    let mut uniform = [0.0; 3];
    for tile in every_segment(&store, len, min_real) {
        for row in 0..tile.batch {
            let c = loss_signs(&tile, row, loss_from);
            (0..3).for_each(|k| uniform[k] += c[k]);
        }
    }
    let mut rng = StdRng::seed_from_u64(6);
    let (mut drawn_counts, mut shift) = ([0.0; 3], [0.0f32; 3]);
    for _ in 0..40_000 {
        let drawn = store
            .sample_segments_with_rewarded(&mut rng, batch, len, min_real, rewarded, loss_from)
            .unwrap();
        for row in 0..batch {
            let c = loss_signs(&drawn.segments, row, loss_from);
            (0..3).for_each(|k| drawn_counts[k] += c[k]);
        }
        shift = drawn.sign_shift;
    }
    let (uniform, drawn_rates) = (rates(uniform), rates(drawn_counts));
    for k in 0..3 {
        let measured = (drawn_rates[k] / uniform[k]).ln();
        assert!(
            (measured - shift[k] as f64).abs() < 0.03,
            "sign {k}: shift {} against the measured log ratio {measured}",
            shift[k]
        );
    }
    assert!(
        shift[0] > 1.0 && shift[2] > 1.0 && shift[1] < 0.0,
        "{shift:?}"
    );
}

#[test]
fn without_rewarded_rows_nothing_is_corrected() {
    let store = sparse_signed_store();
    let mut rng = StdRng::seed_from_u64(7);
    let drawn = store
        .sample_segments_with_rewarded(&mut rng, 4, 5, 3, 0, 2)
        .unwrap();
    assert_eq!(drawn.row_weights, [1.0; 4]);
    assert_eq!(drawn.sign_shift, [0.0; 3]);
    // No reward past any context: rewarded rows are asked for and none is drawn.
    let mut plain = EpisodeStore::new(UNCAPPED);
    push_sparse_episode(&mut plain, 0, 40, &[1]);
    let drawn = plain
        .sample_segments_with_rewarded(&mut rng, 4, 5, 3, 2, 2)
        .unwrap();
    assert_eq!(drawn.row_weights, [1.0; 4]);
    assert_eq!(drawn.sign_shift, [0.0; 3]);
}

#[test]
fn recent_rows_start_in_the_last_steps_collected() {
    let mut store = EpisodeStore::new(UNCAPPED);
    push_episode(&mut store, 0, 0, 30); // tags 0-29
    push_episode(&mut store, 0, 100, 6); // tags 100-105
    for tag in 200..204 {
        store.push(0, step(tag)); // in progress: tags 200-203
    }
    let (len, min_real) = (5, 3);
    // The last 12 steps: tags 28-29, 100-105 and 200-203.
    let mut rng = StdRng::seed_from_u64(5);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..300 {
        let batch = store
            .sample_segments_with_recent(&mut rng, 4, len, min_real, 3, 12)
            .unwrap();
        for b in 0..3 {
            let real = (0..len).filter(|&t| batch.mask[b * len + t]).count();
            assert!(real >= min_real, "row {b}: {real} real steps");
            seen.insert(batch.frame(b, 0)[0]);
        }
    }
    // Firsts 28-29 leave under 3 real steps, as do 104-105 and 202-203.
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        vec![100, 101, 102, 103, 200, 201]
    );
}

#[test]
fn recent_rows_come_first_and_the_rest_are_the_uniform_draws() {
    let mut store = EpisodeStore::new(UNCAPPED);
    push_episode(&mut store, 0, 0, 40);
    push_episode(&mut store, 0, 100, 20);
    let draw = |recent: usize, window: usize| {
        store
            .sample_segments_with_recent(&mut StdRng::seed_from_u64(9), 6, 4, 2, recent, window)
            .unwrap()
    };
    let uniform = |rows: usize| {
        store
            .sample_segments(&mut StdRng::seed_from_u64(9), rows, 4, Padding::Right, 2)
            .unwrap()
    };
    assert_eq!(
        draw(0, 10),
        uniform(6),
        "no recent rows: the uniform draws, draw for draw"
    );
    let mixed = draw(2, 10);
    let rest = uniform(4);
    for b in 0..4 {
        for t in 0..4 {
            assert_eq!(mixed.frame(b + 2, t), rest.frame(b, t));
        }
    }
    assert_eq!(mixed.actions[8..], rest.actions[..]);
    for b in 0..2 {
        assert!(
            mixed.frame(b, 0)[0] >= 110,
            "row {b} starts before the window"
        );
    }
    // A window of one step holds no segment of 2 real steps: every row is uniform.
    assert_eq!(draw(2, 1), uniform(6));
}
