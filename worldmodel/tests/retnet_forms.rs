//! The parallel, recurrent, chunkwise and read-only forms agree through a
//! two-layer RetNet stack.

mod common;

use burn::tensor::{Distribution, Tensor};
use rem_worldmodel::retnet::{RetNet, RetNetConfig, RetNetState};

type B = common::EquivalenceBackend;

const TOLERANCE: f32 = 1e-4;
const WIDTH: usize = 16;

fn stack() -> RetNet<B> {
    let config = RetNetConfig {
        n_layers: 2,
        d_model: WIDTH,
        n_heads: 2,
        ffn: 32,
        dropout: 0.0,
    };
    config.init(&Default::default())
}

fn random<const D: usize>(shape: [usize; D]) -> Tensor<B, D> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), &Default::default())
}

fn assert_close<const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>, what: &str) {
    assert_eq!(a.dims(), b.dims(), "{what}: shapes differ");
    let diff = (a - b)
        .abs()
        .into_data()
        .to_vec::<f32>()
        .unwrap()
        .into_iter()
        .fold(0.0, f32::max);
    assert!(diff <= TOLERANCE, "{what}: max abs diff {diff}");
}

fn assert_same_state(a: &RetNetState<B>, b: &RetNetState<B>, what: &str) {
    assert_eq!(a.layers.len(), b.layers.len(), "{what}: layer count");
    for (i, (la, lb)) in a.layers.iter().zip(&b.layers).enumerate() {
        assert_eq!(
            la.next_positions, lb.next_positions,
            "{what}: layer {i} positions"
        );
        assert_close(
            la.memory.clone(),
            lb.memory.clone(),
            &format!("{what}: layer {i}"),
        );
    }
}

fn run_recurrent(
    net: &RetNet<B>,
    x: Tensor<B, 3>,
    state: &RetNetState<B>,
) -> (Tensor<B, 3>, Vec<RetNetState<B>>) {
    let [batch, time, width] = x.dims();
    let mut state = state.clone();
    let (mut outputs, mut states) = (Vec::new(), Vec::new());
    for t in 0..time {
        let token = x.clone().narrow(1, t, 1).reshape([batch, width]);
        let (y, next) = net.forward_recurrent(token, &state);
        outputs.push(y.reshape([batch, 1, width]));
        states.push(next.clone());
        state = next;
    }
    (Tensor::cat(outputs, 1), states)
}

fn check_forms_agree(net: &RetNet<B>, state: &RetNetState<B>, time: usize, chunk: usize) {
    let what = format!(
        "time {time}, chunk {chunk}, positions {:?}",
        state.next_positions()
    );
    let x = random([state.batch_size(), time, WIDTH]);
    let (parallel, parallel_state) = net.forward_parallel(x.clone(), state);
    let (recurrent, recurrent_states) = run_recurrent(net, x.clone(), state);
    let (chunkwise, chunkwise_state) = net.forward_chunkwise(x.clone(), state, chunk);
    let readonly = net.forward_readonly(x, state);
    assert_close(
        parallel.clone(),
        recurrent,
        &format!("parallel vs recurrent, {what}"),
    );
    assert_close(
        parallel.clone(),
        chunkwise,
        &format!("parallel vs chunkwise, {what}"),
    );
    assert_close(
        parallel,
        readonly,
        &format!("parallel vs read-only, {what}"),
    );
    let last = recurrent_states.last().unwrap();
    assert_same_state(&parallel_state, last, &format!("parallel state, {what}"));
    assert_same_state(&chunkwise_state, last, &format!("chunkwise state, {what}"));
}

#[test]
fn forms_agree_through_the_stack_from_an_empty_state() {
    let net = stack();
    let state = net.zero_state(2, &Default::default());
    for time in [1, 5, 8] {
        check_forms_agree(&net, &state, time, 3);
    }
}

#[test]
fn forms_agree_through_the_stack_after_a_prefix() {
    let net = stack();
    let (_, state) = net.forward_parallel(
        random([2, 6, WIDTH]),
        &net.zero_state(2, &Default::default()),
    );
    assert_eq!(state.next_positions(), &[6, 6]);
    check_forms_agree(&net, &state, 7, 4);
}

#[test]
fn stack_checkpoints_are_the_states_after_every_block() {
    let net = stack();
    let state = net.zero_state(2, &Default::default());
    let x = random([2, 11, WIDTH]);
    let (_, recurrent_states) = run_recurrent(&net, x.clone(), &state);
    let (output, final_state, checkpoints) =
        net.forward_chunkwise_with_checkpoints(x.clone(), &state, 6, 3);
    let (parallel, _) = net.forward_parallel(x, &state);
    assert_close(output, parallel, "checkpointed output");
    assert_eq!(checkpoints.len(), 3);
    for (i, checkpoint) in checkpoints.iter().enumerate() {
        assert_same_state(
            checkpoint,
            &recurrent_states[3 * i + 2],
            &format!("checkpoint {i}"),
        );
    }
    assert_same_state(
        &final_state,
        recurrent_states.last().unwrap(),
        "final state",
    );
}

#[test]
fn checkpoints_stack_into_one_batch_of_readonly_passes() {
    let net = stack();
    let x = random([1, 8, WIDTH]);
    let (_, _, checkpoints) =
        net.forward_chunkwise_with_checkpoints(x, &net.zero_state(1, &Default::default()), 8, 4);
    let stacked = RetNetState::cat(checkpoints.clone());
    assert_eq!(stacked.next_positions(), &[4, 8]);
    let queries = random([2, 3, WIDTH]);
    let together = net.forward_readonly(queries.clone(), &stacked);
    let apart: Vec<_> = checkpoints
        .iter()
        .enumerate()
        .map(|(i, c)| net.forward_readonly(queries.clone().narrow(0, i, 1), c))
        .collect();
    assert_close(together, Tensor::cat(apart, 0), "stacked read-only pass");
}

#[test]
#[should_panic(expected = "layers but the stack has")]
fn a_state_for_another_depth_is_rejected() {
    let net = stack();
    let mut state = net.zero_state(1, &Default::default());
    state.layers.pop();
    let _ = net.forward_parallel(random([1, 2, WIDTH]), &state);
}
