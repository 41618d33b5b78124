//! Imagined rollouts have the reference's length (algorithm.md, section 4): the spec's horizon 10
//! with the 2-frame context gives 9 observations per row, the last real frame's and 8
//! imagined ones, and the world model never runs past the 10 blocks it trains on.

use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rem_agent::config::RunConfig;
use rem_agent::models::ModelShapes;
use rem_agent::rollout::{roll_out, FrozenModels, Generator, RolloutSettings, StartSegments};

type Train = Autodiff<Flex>;

fn start(n: usize, t: usize, k: usize, vocab: usize, actions: usize) -> StartSegments<Train> {
    let device = Default::default();
    let mut rng = StdRng::seed_from_u64(1);
    let tokens: Vec<i64> = (0..n * t * k)
        .map(|_| rng.random_range(0..vocab as i64))
        .collect();
    let taken: Vec<i64> = (0..n * t)
        .map(|_| rng.random_range(0..actions as i64))
        .collect();
    StartSegments {
        tokens: Tensor::from_data(TensorData::new(tokens, [n, t, k]), &device),
        actions: Tensor::from_data(TensorData::new(taken, [n, t]), &device),
        mask: Tensor::from_data(TensorData::new(vec![true; n * t], [n, t]), &device),
    }
}

#[test]
fn spec_rollouts_have_nine_observations_within_the_training_length() {
    let config = RunConfig::default();
    let (horizon, seq_blocks) = (config.actor_critic.horizon, config.world_model.seq_blocks);
    assert_eq!((horizon, seq_blocks), (10, 10), "the spec's lengths");
    // Small widths, but the spec's 64 tokens per frame and so its positions.
    let n_actions = 4;
    let shapes = ModelShapes::small(n_actions);
    let k = shapes.world_model.tokens_per_frame;
    assert_eq!(k, 64);
    let device = Default::default();
    let models = shapes.init::<Train>(&device).unwrap();
    let (tokenizer, world_model) = (models.tokenizer.valid(), models.world_model.valid());
    let frozen = FrozenModels::<Train> {
        tokenizer: &tokenizer,
        world_model: &world_model,
    };
    let trained_positions = seq_blocks * shapes.world_model.block_len();
    for generator in [Generator::Pop, Generator::TokenByToken] {
        let settings = RolloutSettings {
            horizon,
            generator,
            world_temperature: 1.0,
            expected_outcomes: false,
        };
        let segments = start(
            3,
            config.actor_critic.burn_in + 1,
            k,
            shapes.tokenizer.vocab,
            n_actions,
        );
        let rollout = roll_out(
            &frozen,
            &models.actor_critic,
            segments,
            settings,
            &mut StdRng::seed_from_u64(2),
        )
        .unwrap();
        assert_eq!(rollout.values.dims(), [3, 9], "{generator:?}: observations");
        assert_eq!(rollout.logits.dims(), [3, 9, n_actions]);
        assert_eq!(rollout.rewards.dims(), [3, 8], "{generator:?}: transitions");
        assert_eq!(rollout.continues.dims(), [3, 8]);
        assert_eq!(
            rollout.frames.dims(),
            [3, 8, k],
            "{generator:?}: imagined frames"
        );
        // The last imagined frame fills the observation slots of block 10 of 10.
        assert_eq!(
            rollout.world_positions,
            (seq_blocks - 1) * shapes.world_model.block_len() + k,
            "{generator:?}"
        );
        assert!(rollout.world_positions <= trained_positions);
    }
}
