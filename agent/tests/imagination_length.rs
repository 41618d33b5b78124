//! Imagined rollouts have the reference's length (algorithm.md, section 4): the spec's horizon 10
//! with the 2-frame context gives 9 observations per row, the last real frame's and 8
//! imagined ones, and the world model never runs past the 10 blocks it trains on.
//! The burn-in before a rollout feeds the real actions, or only observes as REM's
//! does, as its settings say.

use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rem_agent::config::RunConfig;
use rem_agent::imagination::rollout::{
    roll_out, FrozenModels, Generator, Rollout, RolloutSettings, StartSegments,
};
use rem_agent::models::{AgentModels, ModelShapes};

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

/// POP or token-by-token rollouts at temperature 1 with drawn outcomes.
fn settings(horizon: usize, generator: Generator, burn_in_feeds_actions: bool) -> RolloutSettings {
    RolloutSettings {
        horizon,
        generator,
        world_temperature: 1.0,
        expected_outcomes: false,
        burn_in_feeds_actions,
    }
}

/// One batch of rollouts of `models` from `segments`, always with the same draws.
fn roll_out_with(
    models: &AgentModels<Train>,
    segments: StartSegments<Train>,
    settings: RolloutSettings,
) -> Rollout<Train> {
    let (tokenizer, world_model) = (models.tokenizer.valid(), models.world_model.valid());
    let frozen = FrozenModels::<Train> {
        tokenizer: &tokenizer,
        world_model: &world_model,
    };
    let mut rng = StdRng::seed_from_u64(2);
    roll_out(&frozen, &models.actor_critic, segments, settings, &mut rng).unwrap()
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
    let trained_positions = seq_blocks * shapes.world_model.block_len();
    for generator in [Generator::Pop, Generator::TokenByToken] {
        let segments = start(
            3,
            config.actor_critic.burn_in + 1,
            k,
            shapes.tokenizer.vocab,
            n_actions,
        );
        let rollout = roll_out_with(&models, segments, settings(horizon, generator, true));
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

/// The first observation's logits, the policy after burn-in on the last real frame:
/// with `feeds_actions` the burn-in feeds each real frame's action, without it it
/// only observes.
#[test]
fn the_rollouts_burn_in_feeds_actions_or_only_observes_as_set() {
    let n_actions = 4;
    let shapes = ModelShapes::small(n_actions);
    let k = shapes.world_model.tokens_per_frame;
    let device = Default::default();
    let models = shapes.init::<Train>(&device).unwrap();
    let (n, t) = (3, 6);
    let first_logits = |feeds_actions: bool| {
        let segments = start(n, t, k, shapes.tokenizer.vocab, n_actions);
        let rollout = roll_out_with(
            &models,
            segments,
            settings(4, Generator::Pop, feeds_actions),
        );
        let logits = rollout.logits.narrow(1, 0, 1).reshape([n, n_actions]);
        logits.inner().into_data().to_vec::<f32>().unwrap()
    };
    let expected = |feeds_actions: bool| {
        let segments = start(n, t, k, shapes.tokenizer.vocab, n_actions);
        let latents = models
            .tokenizer
            .valid()
            .embed_tokens_grid(segments.tokens.reshape([n * t, k]));
        let [_, e, side, _] = latents.dims();
        let latents = latents.reshape([n, t, e, side, side]);
        let controller = models.actor_critic.valid();
        let actions = segments.actions.narrow(1, 0, t - 1);
        let state = controller.burn_in(
            latents.clone().narrow(1, 0, t - 1),
            feeds_actions.then_some(actions),
            segments.mask.narrow(1, 0, t - 1),
        );
        let last = latents.narrow(1, t - 1, 1).reshape([n, e, side, side]);
        let observed = controller.observe(last, state);
        observed.logits.into_data().to_vec::<f32>().unwrap()
    };
    let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
    let [feeding, observing] = [true, false].map(|feeds_actions| {
        let (got, want) = (first_logits(feeds_actions), expected(feeds_actions));
        assert!(
            close(&got, &want),
            "feeds_actions {feeds_actions}: {got:?} against {want:?}"
        );
        got
    });
    assert!(!close(&feeding, &observing), "the actions change the state");
}
