//! The acting policy's state when a collection starts: rebuilt, as REM's collector
//! does, it is the state that acting from the zero state over the episode's last
//! stored steps reaches (observing each frame, then feeding its action or not).

use burn::backend::Flex;
use burn::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rem_agent::actor_critic::ActorCriticState;
use rem_agent::models::{AgentModels, ModelShapes};
use rem_agent::training::collect::{Acting, Collector};
use rem_envs::store::{EpisodeStore, SegmentBatch};

const ENVS: usize = 2;
const BURN_IN: usize = 8;

/// The state of one environment's row: acting from the zero state over its real
/// steps of `tails`, one frame at a time.
fn acted_state(
    models: &AgentModels<Flex>,
    tails: &SegmentBatch,
    row: usize,
    feed_actions: bool,
) -> Vec<f32> {
    let device = Default::default();
    let mut state = models.actor_critic.initial_state(1, &device);
    for t in (0..tails.len).filter(|&t| tails.mask[row * tails.len + t]) {
        let latents = models.latents(tails.frame(row, t)).unwrap();
        state = models.actor_critic.observe(latents, state).state;
        if feed_actions {
            let action = tails.actions[row * tails.len + t] as i64;
            let action = Tensor::from_data(TensorData::new(vec![action], [1]), &device);
            state = models.actor_critic.feed_action(action, state);
        }
    }
    flat(&state)
}

/// `h` then `c`, row-major.
fn flat(state: &ActorCriticState<Flex>) -> Vec<f32> {
    let values = |t: &Tensor<Flex, 2>| t.clone().into_data().into_vec::<f32>().unwrap();
    [values(&state.h), values(&state.c)].concat()
}

/// The collector's state, as its checkpoint log keeps it, split into rows.
fn collector_rows(collector: &Collector<Flex>) -> Vec<Vec<f32>> {
    let (h, c) = collector.log().policy_state.expect("the policy has acted");
    let width = h.len() / ENVS;
    (0..ENVS)
        .map(|row| [&h[row * width..][..width], &c[row * width..][..width]].concat())
        .collect()
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn a_rebuilt_state_is_acting_from_zero_over_the_episodes_last_steps() {
    let device = Default::default();
    // The models' parameters are drawn from burn's generator: seeded, the test acts the
    // same on every run.
    Flex::seed(&device, 5);
    let mut collector = Collector::<Flex>::new("catch", ENVS, 3).unwrap();
    let models = ModelShapes::small(collector.n_actions())
        .init::<Flex>(&device)
        .unwrap();
    let mut store = EpisodeStore::new(usize::MAX);
    let mut rng = StdRng::seed_from_u64(4);
    let acting = Acting {
        temperature: 1.0,
        epsilon: 0.0,
    };
    // 20 steps: episodes longer than the burn-in; then into the next episodes
    // (catch's last 70 steps), shorter than the burn-in, so their tails are padded.
    for (steps, padded) in [(20, false), (56, true)] {
        collector
            .collect(&models, &mut store, steps, acting, &mut rng)
            .unwrap();
        let carried = collector_rows(&collector);
        let tails = store.open_episode_tails(&[0, 1], BURN_IN);
        assert_eq!(tails.mask.contains(&false), padded, "{:?}", tails.mask);
        for feed_actions in [true, false] {
            collector
                .rebuild_policy_state(&models, &store, BURN_IN, feed_actions)
                .unwrap();
            for (row, rebuilt) in collector_rows(&collector).iter().enumerate() {
                let acted = acted_state(&models, &tails, row, feed_actions);
                assert!(max_difference(rebuilt, &acted) < 1e-5, "row {row}");
                let from_carried = max_difference(rebuilt, &carried[row]);
                if !padded {
                    // A carried state also holds the steps before the burn-in's.
                    assert!(from_carried > 1e-4, "row {row}: {from_carried}");
                } else if feed_actions {
                    // The episode began within the burn-in: both acted over all of it.
                    assert!(from_carried < 1e-5, "row {row}: {from_carried}");
                }
            }
        }
    }
}
