//! The controller network: shapes, burn-in, gradients, parameter count.

use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::optim::GradientsParams;
use burn::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rem_agent::actor_critic::{
    latent_map, standardize_map, ActorCritic, ActorCriticConfig, ActorCriticState,
};

type Cpu = Flex;
type Train = Autodiff<Flex>;

const N_ACTIONS: usize = 5;

fn tiny_model<B: Backend>() -> (ActorCriticConfig, ActorCritic<B>) {
    let config = ActorCriticConfig::tiny(N_ACTIONS);
    let model = config
        .init::<B>(&Default::default())
        .expect("tiny config is valid");
    (config, model)
}

fn uniform_tensor<B: Backend, const D: usize>(shape: [usize; D], rng: &mut StdRng) -> Tensor<B, D> {
    let count = shape.iter().product();
    let values: Vec<f32> = (0..count).map(|_| rng.random_range(-1.0..1.0)).collect();
    Tensor::from_data(TensorData::new(values, shape), &Default::default())
}

fn int_tensor<B: Backend, const D: usize>(
    values: Vec<i64>,
    shape: [usize; D],
) -> Tensor<B, D, Int> {
    Tensor::from_data(TensorData::new(values, shape), &Default::default())
}

fn bool_tensor<B: Backend, const D: usize>(
    values: Vec<bool>,
    shape: [usize; D],
) -> Tensor<B, D, Bool> {
    Tensor::from_data(TensorData::new(values, shape), &Default::default())
}

fn to_vec<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn assert_states_close<B: Backend>(a: ActorCriticState<B>, b: ActorCriticState<B>, tol: f32) {
    let dh = max_abs_diff(&to_vec(a.h), &to_vec(b.h));
    let dc = max_abs_diff(&to_vec(a.c), &to_vec(b.c));
    assert!(
        dh <= tol && dc <= tol,
        "states differ: |dh| {dh}, |dc| {dc}"
    );
}

/// Latents for one step of `batch` frames in the tiny config, [B, E, S, S].
fn step_latents<B: Backend>(
    config: &ActorCriticConfig,
    batch: usize,
    rng: &mut StdRng,
) -> Tensor<B, 4> {
    let (e, s) = (config.embed_dim, config.tokens_per_side);
    uniform_tensor([batch, e, s, s], rng)
}

#[test]
fn observe_and_feed_action_have_the_documented_shapes() {
    let (config, model) = tiny_model::<Cpu>();
    let mut rng = StdRng::seed_from_u64(1);
    let batch = 3;
    let state = model.initial_state(batch, &Default::default());
    assert_eq!(state.h.dims(), [batch, config.lstm]);
    assert_eq!(state.c.dims(), [batch, config.lstm]);

    let out = model.observe(step_latents(&config, batch, &mut rng), state);
    assert_eq!(out.logits.dims(), [batch, N_ACTIONS]);
    assert_eq!(out.value.dims(), [batch]);
    assert_eq!(out.state.h.dims(), [batch, config.lstm]);

    let next = model.feed_action(int_tensor(vec![0, 4, 2], [batch]), out.state.clone());
    assert_eq!(next.h.dims(), [batch, config.lstm]);
    // The action step really moves the state.
    assert!(max_abs_diff(&to_vec(next.h), &to_vec(out.state.h)) > 0.0);
}

#[test]
#[should_panic(expected = "actor-critic latents must be")]
fn observe_rejects_latents_of_the_wrong_size() {
    let (config, model) = tiny_model::<Cpu>();
    let mut rng = StdRng::seed_from_u64(2);
    let wrong = uniform_tensor::<Cpu, 4>([2, config.embed_dim + 1, 4, 4], &mut rng);
    model.observe(wrong, model.initial_state(2, &Default::default()));
}

#[test]
fn config_rejects_zero_sizes_with_a_clear_message() {
    let err = ActorCriticConfig::tiny(0)
        .init::<Cpu>(&Default::default())
        .unwrap_err();
    assert!(
        err.to_string().contains("n_actions must be positive"),
        "{err}"
    );
}

#[test]
fn burn_in_equals_the_manual_observe_and_feed_action_sequence() {
    let (config, model) = tiny_model::<Cpu>();
    let mut rng = StdRng::seed_from_u64(3);
    let (batch, steps) = (3, 4);
    let frames: Vec<Tensor<Cpu, 4>> = (0..steps)
        .map(|_| step_latents(&config, batch, &mut rng))
        .collect();
    let actions: Vec<i64> = (0..batch * steps)
        .map(|_| rng.random_range(0..N_ACTIONS as i64))
        .collect();

    let mut manual = model.initial_state(batch, &Default::default());
    for (t, frame) in frames.iter().enumerate() {
        let step_actions = (0..batch).map(|b| actions[b * steps + t]).collect();
        let observed = model.observe(frame.clone(), manual).state;
        manual = model.feed_action(int_tensor(step_actions, [batch]), observed);
    }

    let latents = Tensor::stack::<5>(frames, 1);
    let burned = model.burn_in(
        latents,
        Some(int_tensor(actions, [batch, steps])),
        bool_tensor(vec![true; batch * steps], [batch, steps]),
    );
    assert_states_close(burned, manual, 1e-5);
}

#[test]
fn burn_in_feeds_the_actions() {
    let (config, model) = tiny_model::<Cpu>();
    let mut rng = StdRng::seed_from_u64(4);
    let (batch, steps) = (2, 3);
    let frames: Vec<Tensor<Cpu, 4>> = (0..steps)
        .map(|_| step_latents(&config, batch, &mut rng))
        .collect();
    let latents = Tensor::stack::<5>(frames, 1);
    let mask = bool_tensor(vec![true; batch * steps], [batch, steps]);
    let zeros = model.burn_in(
        latents.clone(),
        Some(int_tensor(vec![0; 6], [batch, steps])),
        mask.clone(),
    );
    let threes = model.burn_in(latents, Some(int_tensor(vec![3; 6], [batch, steps])), mask);
    assert!(max_abs_diff(&to_vec(zeros.h), &to_vec(threes.h)) > 1e-4);
}

#[test]
fn burn_in_without_actions_only_observes_as_rems_does() {
    let (config, model) = tiny_model::<Cpu>();
    let mut rng = StdRng::seed_from_u64(9);
    let (batch, steps, pad) = (2, 4, 1);
    let frames: Vec<Tensor<Cpu, 4>> = (0..steps)
        .map(|_| step_latents(&config, batch, &mut rng))
        .collect();
    // Row 0 is left-padded by one step; row 1 is real throughout.
    let real = |b: usize, t: usize| b == 1 || t >= pad;

    let mut manual = model.initial_state(batch, &Default::default());
    for (t, frame) in frames.iter().enumerate() {
        let observed = model.observe(frame.clone(), manual.clone()).state;
        let rows = (0..batch).map(|b| real(b, t)).collect();
        manual = manual.select_rows(bool_tensor(rows, [batch]), observed);
    }

    let mask = (0..batch * steps).map(|i| real(i / steps, i % steps));
    let burned = model.burn_in(
        Tensor::stack::<5>(frames, 1),
        None,
        bool_tensor(mask.collect(), [batch, steps]),
    );
    assert_states_close(burned, manual, 1e-5);
}

#[test]
fn burn_in_holds_the_state_over_left_padding() {
    let (config, model) = tiny_model::<Cpu>();
    let mut rng = StdRng::seed_from_u64(5);
    let (batch, steps, pad) = (2, 5, 2);
    let frames: Vec<Tensor<Cpu, 4>> = (0..steps)
        .map(|_| step_latents(&config, batch, &mut rng))
        .collect();
    let latents = Tensor::stack::<5>(frames, 1);
    let actions: Vec<i64> = (0..batch * steps)
        .map(|_| rng.random_range(0..N_ACTIONS as i64))
        .collect();
    // Row 0: `pad` padded steps then real ones. Row 1: all padding.
    let mask: Vec<bool> = (0..batch * steps)
        .map(|i| i / steps == 0 && i % steps >= pad)
        .collect();
    let padded = model.burn_in(
        latents.clone(),
        Some(int_tensor(actions.clone(), [batch, steps])),
        bool_tensor(mask, [batch, steps]),
    );

    // Row 0 must equal a burn-in over its real steps only.
    let real_steps = steps - pad;
    let row0_latents = latents.narrow(0, 0, 1).narrow(1, pad, real_steps);
    let row0_actions = actions[pad..steps].to_vec();
    let unpadded = model.burn_in(
        row0_latents,
        Some(int_tensor(row0_actions, [1, real_steps])),
        bool_tensor(vec![true; real_steps], [1, real_steps]),
    );
    let row0 = ActorCriticState {
        h: padded.h.clone().narrow(0, 0, 1),
        c: padded.c.clone().narrow(0, 0, 1),
    };
    assert_states_close(row0, unpadded, 1e-5);

    // Row 1 saw only padding: still the initial (zero) state.
    let row1 = ActorCriticState {
        h: padded.h.narrow(0, 1, 1),
        c: padded.c.narrow(0, 1, 1),
    };
    assert_states_close(row1, model.initial_state(1, &Default::default()), 0.0);
}

#[test]
fn reset_rows_zeroes_only_the_chosen_rows() {
    let (config, model) = tiny_model::<Cpu>();
    let mut rng = StdRng::seed_from_u64(6);
    let state = model
        .observe(
            step_latents(&config, 3, &mut rng),
            model.initial_state(3, &Default::default()),
        )
        .state;
    let before = to_vec(state.h.clone());
    let after = to_vec(
        state
            .reset_rows(bool_tensor(vec![false, true, false], [3]))
            .h,
    );
    let width = config.lstm;
    assert_eq!(after[..width], before[..width]);
    assert!(after[width..2 * width].iter().all(|&x| x == 0.0));
    assert_eq!(after[2 * width..], before[2 * width..]);
}

#[test]
fn latent_map_lays_tokens_out_row_major() {
    let (batch, side, width) = (2, 3, 4);
    let tokens = side * side;
    // codes[b, k, e] = 100 b + 10 k + e, easy to trace.
    let values: Vec<f32> = (0..batch * tokens * width)
        .map(|i| {
            let (b, k, e) = (i / (tokens * width), (i / width) % tokens, i % width);
            (100 * b + 10 * k + e) as f32
        })
        .collect();
    let codes = Tensor::<Cpu, 3>::from_data(
        TensorData::new(values, [batch, tokens, width]),
        &Default::default(),
    );
    let map = to_vec(latent_map(codes, side));
    for b in 0..batch {
        for e in 0..width {
            for row in 0..side {
                for col in 0..side {
                    let at = ((b * width + e) * side + row) * side + col;
                    let k = row * side + col;
                    assert_eq!(map[at], (100 * b + 10 * k + e) as f32);
                }
            }
        }
    }
}

#[test]
fn standardized_maps_have_zero_channel_means_and_unit_spread() {
    let mut rng = StdRng::seed_from_u64(7);
    let (batch, channels, side) = (3, 4, 5);
    let map = to_vec(standardize_map(uniform_tensor::<Cpu, 4>(
        [batch, channels, side, side],
        &mut rng,
    )));
    let cells = side * side;
    for frame in map.chunks(channels * cells) {
        for channel in frame.chunks(cells) {
            let mean = channel.iter().sum::<f32>() / cells as f32;
            assert!(mean.abs() < 1e-5, "channel mean {mean}");
        }
        let variance = frame.iter().map(|x| x * x).sum::<f32>() / frame.len() as f32;
        assert!((variance - 1.0).abs() < 1e-3, "map variance {variance}");
    }
}

#[test]
fn standardized_maps_ignore_the_codebook_scale_and_offset() {
    let mut rng = StdRng::seed_from_u64(8);
    let map = uniform_tensor::<Cpu, 4>([2, 3, 4, 4], &mut rng);
    let plain = to_vec(standardize_map(map.clone()));
    let moved = to_vec(standardize_map(map.mul_scalar(0.1).add_scalar(5.0)));
    assert!(max_abs_diff(&plain, &moved) < 1e-3);
}

#[test]
fn standardized_maps_treat_each_frame_alone() {
    let mut rng = StdRng::seed_from_u64(9);
    let map = uniform_tensor::<Cpu, 4>([4, 3, 4, 4], &mut rng);
    let whole = to_vec(standardize_map(map.clone()));
    let first = to_vec(standardize_map(map.narrow(0, 0, 1)));
    assert!(max_abs_diff(&whole[..first.len()], &first) < 1e-6);
}

#[test]
fn a_controller_with_standardized_input_reads_only_the_frame_contents() {
    let config = ActorCriticConfig::tiny(N_ACTIONS).with_standardize_input(true);
    let model = config.init::<Cpu>(&Default::default()).unwrap();
    let mut rng = StdRng::seed_from_u64(10);
    let latents = uniform_tensor::<Cpu, 4>(
        [
            2,
            config.embed_dim,
            config.tokens_per_side,
            config.tokens_per_side,
        ],
        &mut rng,
    );
    let observe = |latents: Tensor<Cpu, 4>| {
        to_vec(
            model
                .observe(latents, model.initial_state(2, &Default::default()))
                .logits,
        )
    };
    let plain = observe(latents.clone());
    // A rescaled and shifted codebook describes the same frame.
    assert!(
        max_abs_diff(
            &plain,
            &observe(latents.clone().mul_scalar(3.0).add_scalar(1.0))
        ) < 1e-4
    );
    // Without standardisation the same change moves the outputs.
    let raw = config
        .with_standardize_input(false)
        .init::<Cpu>(&Default::default())
        .unwrap();
    let raw_observe = |latents: Tensor<Cpu, 4>| {
        to_vec(
            raw.observe(latents, raw.initial_state(2, &Default::default()))
                .logits,
        )
    };
    assert!(
        max_abs_diff(
            &raw_observe(latents.clone()),
            &raw_observe(latents.mul_scalar(3.0).add_scalar(1.0))
        ) > 1e-3
    );
}

#[test]
fn gradient_flows_through_the_lstm_over_steps() {
    let (config, model) = tiny_model::<Train>();
    let mut rng = StdRng::seed_from_u64(7);
    let batch = 2;
    let first_frame = step_latents::<Train>(&config, batch, &mut rng).require_grad();
    let mut state = model.initial_state(batch, &Default::default());
    state = model.observe(first_frame.clone(), state).state;
    state = model.feed_action(int_tensor(vec![1, 2], [batch]), state);
    for _ in 0..2 {
        state = model
            .observe(step_latents(&config, batch, &mut rng), state)
            .state;
        state = model.feed_action(int_tensor(vec![3, 0], [batch]), state);
    }
    // The loss reads only the last step; the first frame reaches it only through
    // the recurrent state.
    let last = model.observe(step_latents(&config, batch, &mut rng), state);
    let loss = last.value.sum() + last.logits.sum();
    let grads = loss.backward();

    let frame_grad = to_vec(
        first_frame
            .grad(&grads)
            .expect("first frame has a gradient"),
    );
    assert!(
        frame_grad.iter().any(|g| g.abs() > 0.0),
        "no gradient reached the first frame"
    );
    assert!(frame_grad.iter().all(|g| g.is_finite()));
    // Every parameter tensor took part, the action table included (15 tensors:
    // weight and bias of 2 convs, projection, 2 LSTM maps, actor, critic; the table).
    assert_eq!(GradientsParams::from_grads(grads, &model).len(), 15);
}

#[test]
fn gradient_free_burn_in_lifts_into_the_autodiff_backend() {
    let (config, model) = tiny_model::<Train>();
    let mut rng = StdRng::seed_from_u64(8);
    let (batch, steps) = (2, 3);
    let frames: Vec<Tensor<Cpu, 4>> = (0..steps)
        .map(|_| step_latents(&config, batch, &mut rng))
        .collect();
    let actions = int_tensor::<Cpu, 2>(vec![0, 1, 2, 3, 4, 0], [batch, steps]);
    let mask = bool_tensor::<Cpu, 2>(vec![true; batch * steps], [batch, steps]);
    let inner = model
        .valid()
        .burn_in(Tensor::stack::<5>(frames, 1), Some(actions), mask);
    let state = ActorCriticState::<Train>::from_inner(inner);

    let out = model.observe(step_latents(&config, batch, &mut rng), state);
    let grads = out.value.sum().backward();
    // Imagined steps still train the trunk, the LSTM and the critic after a burn-in
    // without a graph: weight and bias of conv1, conv2, projection, both LSTM maps
    // and the critic. The actor and the action table played no part in this loss.
    let params = GradientsParams::from_grads(grads, &model);
    assert_eq!(params.len(), 12);
}

#[test]
fn spec_size_parameter_count_matches_the_layer_sizes() {
    let n_actions = 18;
    let config = ActorCriticConfig::new(n_actions);
    assert_eq!(
        (
            config.embed_dim,
            config.tokens_per_side,
            config.conv1,
            config.conv2,
            config.hidden,
            config.lstm
        ),
        (256, 8, 128, 64, 512, 512)
    );
    let model = config.init::<Cpu>(&Default::default()).unwrap();
    let conv = |i: usize, o: usize| i * o * 9 + o;
    let linear = |i: usize, o: usize| i * o + o;
    let expected = conv(256, 128)
        + conv(128, 64)
        + linear(64 * 8 * 8, 512)
        + linear(512, 4 * 512)
        + linear(512, 4 * 512)
        + n_actions * 512
        + linear(512, n_actions)
        + linear(512, 1);
    let counted = model.num_params();
    println!("actor-critic parameters with {n_actions} actions: {counted}");
    assert_eq!(counted, expected);
}
