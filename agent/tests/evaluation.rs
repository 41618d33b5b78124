//! Evaluation steps and computes only the episodes still running. It must play what
//! the protocol's plain form plays: every environment stepped and every row of the
//! policy computed until the last episode ends, the rewards after an episode's end
//! not counted. Dodge's episodes end whenever a hazard hits, so they end apart.

use burn::backend::Flex;
use burn::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rem_agent::actor_critic::{sample_actions, sample_actions_in_rows};
use rem_agent::evaluation::{evaluate, Episodes};
use rem_agent::figures::recording::Recording;
use rem_agent::models::{AgentModels, ModelShapes};
use rem_envs::vector::EnvPool;
use rem_envs::{make_envs, EnvMode};

const GAME: &str = "dodge";
const TEMPERATURE: f32 = 0.5;

/// The returns and lengths of `episodes` played the plain way, every environment
/// stepped (the pool resets the finished ones) and every row computed to the end.
fn played_in_full(
    models: &AgentModels<Flex>,
    episodes: Episodes<'_>,
    rng: &mut StdRng,
) -> (Vec<f32>, Vec<usize>) {
    let Episodes { game, count, seed } = episodes;
    let mut envs = make_envs(game, EnvMode::Eval, seed, 1).unwrap();
    envs.extend(make_envs(game, EnvMode::Eval, seed.wrapping_add(1), count - 1).unwrap());
    let mut pool = EnvPool::new(envs, seed);
    let mut observations = pool.reset_all().unwrap();
    let mut state = models
        .actor_critic
        .initial_state(count, &Default::default());
    let (mut returns, mut lengths) = (vec![0.0f32; count], vec![0usize; count]);
    let mut running = vec![true; count];
    while running.contains(&true) {
        let (sampled, next) = models
            .act(&observations, state, TEMPERATURE, 0.0, rng)
            .unwrap();
        state = next;
        let results = pool.step(&sampled.taken).unwrap();
        for (i, result) in results.iter().enumerate() {
            if !running[i] {
                continue;
            }
            returns[i] += result.step.reward;
            lengths[i] += 1;
            running[i] = !result.step.done();
        }
        observations = results.iter().map(|r| r.next_obs().clone()).collect();
    }
    (returns, lengths)
}

#[test]
fn an_evaluation_plays_what_stepping_every_episode_to_the_last_end_plays() {
    let device = Default::default();
    Flex::seed(&device, 3);
    let n_actions = make_envs(GAME, EnvMode::Eval, 0, 1).unwrap()[0]
        .action_space()
        .n();
    let models = ModelShapes::small(n_actions).init::<Flex>(&device).unwrap();
    for (count, seed) in [(6, 21), (4, 22)] {
        let episodes = Episodes {
            game: GAME,
            count,
            seed,
        };
        let mut full_rng = StdRng::seed_from_u64(seed);
        let (want, lengths) = played_in_full(&models, episodes, &mut full_rng);
        let mut distinct = lengths.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(
            distinct.len() >= 3,
            "episodes should end apart: {lengths:?}"
        );

        let mut rng = StdRng::seed_from_u64(seed);
        let got = evaluate(
            &models,
            episodes,
            TEMPERATURE,
            &mut rng,
            &mut Recording::none(),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(got.returns, want, "lengths {lengths:?}");
        // The generator is left where the plain form leaves it, so a training run's
        // draws after an evaluation are the same too.
        assert_eq!(rng.random::<u64>(), full_rng.random::<u64>());
    }
}

#[test]
fn rows_left_out_of_a_sample_draw_as_if_they_were_in_it() {
    let logits = [
        [2.0, 0.0, -1.0],
        [0.0, 0.5, 0.5],
        [-3.0, 1.0, 0.0],
        [1.0, 1.0, 1.0],
    ];
    let tensor = |rows: &[usize]| {
        let values: Vec<f32> = rows.iter().flat_map(|&r| logits[r]).collect();
        Tensor::<Flex, 2>::from_data(
            TensorData::new(values, [rows.len(), 3]),
            &Default::default(),
        )
    };
    for (temperature, epsilon) in [(0.5, 0.0), (1.0, 0.3), (0.0, 0.0)] {
        let mut whole_rng = StdRng::seed_from_u64(5);
        let mut some_rng = StdRng::seed_from_u64(5);
        for _ in 0..50 {
            let whole = sample_actions(tensor(&[0, 1, 2, 3]), temperature, epsilon, &mut whole_rng);
            let mask = [true, false, true, false];
            let some =
                sample_actions_in_rows(tensor(&[0, 2]), &mask, temperature, epsilon, &mut some_rng);
            let (whole, some) = (whole.unwrap(), some.unwrap());
            assert_eq!(some.taken, [whole.taken[0], whole.taken[2]]);
            assert_eq!(some.was_random, [whole.was_random[0], whole.was_random[2]]);
        }
        assert_eq!(whole_rng.random::<u64>(), some_rng.random::<u64>());
    }
    let mut rng = StdRng::seed_from_u64(0);
    let err = sample_actions_in_rows(tensor(&[0, 1]), &[true, false], 1.0, 0.0, &mut rng);
    assert!(err
        .unwrap_err()
        .to_string()
        .contains("2 rows of logits for 1 computed rows"));
}
