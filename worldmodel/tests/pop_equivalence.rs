//! POP's imagination must reproduce its training pass, its chunk call must equal
//! the recurrent form, and imagination must not grow its state with the horizon.

use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rem_worldmodel::imagination::{PopImagination, TokenByToken};
use rem_worldmodel::world_model::{WorldModel, WorldModelConfig};
use std::sync::MutexGuard;

mod common;
use common::own_generator;

type B = common::EquivalenceBackend;

const K: usize = 4;
const VOCAB: usize = 8;
const ACTIONS: usize = 3;
const TOLERANCE: f32 = 1e-4;

struct Fixture {
    model: WorldModel<B>,
    codebook: Tensor<B, 2>,
    tokens: Tensor<B, 3, Int>,
    actions: Tensor<B, 2, Int>,
    /// burn's generator, held while the model draws its parameters at first use.
    _generator: MutexGuard<'static, ()>,
}

fn fixture(batch: usize, blocks: usize, seed: u64) -> Fixture {
    fixture_of(
        WorldModelConfig::tiny(K, VOCAB, ACTIONS),
        batch,
        blocks,
        seed,
    )
}

fn fixture_of(config: WorldModelConfig, batch: usize, blocks: usize, seed: u64) -> Fixture {
    let generator = own_generator();
    let device = Default::default();
    B::seed(&device, seed);
    let model = config.init::<B>(&device);
    let codebook = Tensor::random([VOCAB, 16], Distribution::Normal(0.0, 1.0), &device);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let tokens: Vec<i64> = (0..batch * blocks * K)
        .map(|_| rng.random_range(0..VOCAB as i64))
        .collect();
    let actions: Vec<i64> = (0..batch * blocks)
        .map(|_| rng.random_range(0..ACTIONS as i64))
        .collect();
    Fixture {
        model,
        codebook,
        tokens: Tensor::from_data(TensorData::new(tokens, [batch, blocks, K]), &device),
        actions: Tensor::from_data(TensorData::new(actions, [batch, blocks]), &device),
        _generator: generator,
    }
}

impl Fixture {
    /// The first `n` real blocks' tokens `[B, n, K]` and actions `[B, n]`.
    fn first_blocks(&self, n: usize) -> (Tensor<B, 3, Int>, Tensor<B, 2, Int>) {
        (
            self.tokens.clone().narrow(1, 0, n),
            self.actions.clone().narrow(1, 0, n),
        )
    }

    /// POP imagination started on the first `n` real blocks.
    fn imagine_from(&self, n: usize) -> PopImagination<'_, B> {
        let (tokens, actions) = self.first_blocks(n);
        PopImagination::start(&self.model, self.codebook.clone(), tokens, actions, 1.0).0
    }

    /// Real block `t`: its frame's tokens `[B, K]` and its action `[B]`.
    fn real_step(&self, t: usize) -> (Tensor<B, 2, Int>, Tensor<B, 1, Int>) {
        (
            self.tokens.clone().narrow(1, t, 1).squeeze_dim(1),
            self.actions.clone().narrow(1, t, 1).squeeze_dim(1),
        )
    }
}

fn max_abs_diff<const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> f32 {
    assert_eq!(a.dims(), b.dims());
    (a - b).abs().max().into_scalar()
}

#[test]
fn imagined_next_frame_logits_equal_the_training_pass() {
    let (batch, blocks, context) = (2, 6, 2);
    let f = fixture(batch, blocks, 1);
    let train = f
        .model
        .forward_train(&f.codebook, f.tokens.clone(), f.actions.clone(), context);
    for t in context..blocks {
        let imagined = f.imagine_from(t).next_frame_logits();
        let trained = train
            .obs_logits
            .clone()
            .narrow(1, t - context, 1)
            .squeeze_dim::<3>(1);
        let diff = max_abs_diff(imagined, trained);
        assert!(diff <= TOLERANCE, "block {t}: max abs diff {diff}");
    }
}

/// Stepped with the real tokens, imagination predicts every frame as the training
/// pass does, with the spec's prediction tokens and with the frame before added.
#[test]
fn imagined_frames_after_real_steps_equal_the_training_pass() {
    let (batch, blocks, context) = (2, 6, 2);
    for sees_frame_before in [false, true] {
        let config = WorldModelConfig {
            prediction_sees_frame_before: sees_frame_before,
            ..WorldModelConfig::tiny(K, VOCAB, ACTIONS)
        };
        let f = fixture_of(config, batch, blocks, 5);
        let train =
            f.model
                .forward_train(&f.codebook, f.tokens.clone(), f.actions.clone(), context);
        let mut imagination = f.imagine_from(context);
        for t in context..blocks {
            let trained = train
                .obs_logits
                .clone()
                .narrow(1, t - context, 1)
                .squeeze_dim::<3>(1);
            let diff = max_abs_diff(imagination.next_frame_logits(), trained);
            assert!(
                diff <= TOLERANCE,
                "frame before seen: {sees_frame_before}, block {t}: max abs diff {diff}"
            );
            let (frame, action) = f.real_step(t);
            imagination.step(frame, action);
        }
    }
}

#[test]
fn imagined_outcomes_equal_the_training_pass() {
    let (batch, blocks, context) = (2, 5, 2);
    let f = fixture(batch, blocks, 2);
    let train = f
        .model
        .forward_train(&f.codebook, f.tokens.clone(), f.actions.clone(), context);
    let mut imagination = f.imagine_from(context);
    for t in context..blocks {
        let (frame, action) = f.real_step(t);
        let outcome = imagination.step(frame, action);
        let j = t - context;
        let reward = train
            .reward_logits
            .clone()
            .narrow(1, j, 1)
            .squeeze_dim::<2>(1);
        let done = train
            .done_logits
            .clone()
            .narrow(1, j, 1)
            .squeeze_dim::<2>(1);
        assert!(
            max_abs_diff(outcome.reward_logits, reward) <= TOLERANCE,
            "reward, block {t}"
        );
        assert!(
            max_abs_diff(outcome.done_logits, done) <= TOLERANCE,
            "done, block {t}"
        );
    }
}

#[test]
fn pop_chunk_call_equals_the_recurrent_form_on_true_tokens() {
    let (batch, blocks, context) = (3, 5, 2);
    let f = fixture(batch, blocks, 3);
    let (tokens, actions) = f.first_blocks(context);
    let mut pop = f.imagine_from(context);
    let (mut oracle, _) = TokenByToken::start(&f.model, f.codebook.clone(), tokens, actions, 1.0);
    for t in context..blocks {
        let (frame, action) = f.real_step(t);
        let pop_outcome = pop.step(frame.clone(), action.clone());
        for k in 0..K {
            let token = frame.clone().narrow(1, k, 1).squeeze_dim::<1>(1);
            oracle.feed(f.codebook.clone().select(0, token));
        }
        let oracle_outcome = oracle.step(action);
        let diff = max_abs_diff(pop_outcome.reward_logits, oracle_outcome.reward_logits);
        assert!(
            diff <= TOLERANCE,
            "reward logits differ by {diff} at block {t}"
        );
        for (p, o) in pop.state().layers.iter().zip(&oracle.state().layers) {
            assert_eq!(p.next_positions, o.next_positions);
            let diff = max_abs_diff(p.memory.clone(), o.memory.clone());
            assert!(diff <= TOLERANCE, "state differs by {diff} at block {t}");
        }
    }
}

#[test]
fn imagination_state_does_not_grow_with_the_horizon() {
    let (batch, context) = (2, 2);
    let f = fixture(batch, context, 4);
    let mut pop = f.imagine_from(context);
    let shapes = |s: &rem_worldmodel::retnet::RetNetState<B>| {
        s.layers.iter().map(|l| l.memory.dims()).collect::<Vec<_>>()
    };
    let initial = shapes(pop.state());
    let device = Default::default();
    for step in 0..8 {
        let frame = pop.predict_frame();
        assert_eq!(frame.dims(), [batch, K]);
        let actions = Tensor::<B, 1, Int>::from_data(
            TensorData::new(vec![step % ACTIONS as i64; batch], [batch]),
            &device,
        );
        pop.step(frame, actions);
        assert_eq!(shapes(pop.state()), initial, "state grew at step {step}");
        let expected_position = (context + step as usize + 1) * (K + 1);
        assert!(pop
            .state()
            .layers
            .iter()
            .all(|l| l.next_positions.iter().all(|&p| p == expected_position)));
    }
}

#[test]
fn token_by_token_samples_a_full_frame_per_step() {
    let f = fixture(2, 2, 5);
    let (mut generator, _) = TokenByToken::start(
        &f.model,
        f.codebook.clone(),
        f.tokens.clone(),
        f.actions.clone(),
        1.0,
    );
    let frame = generator.predict_frame();
    assert_eq!(frame.dims(), [2, K]);
    let values: Vec<i64> = frame.into_data().convert::<i64>().into_vec().unwrap();
    assert!(values.iter().all(|&v| (0..VOCAB as i64).contains(&v)));
}
