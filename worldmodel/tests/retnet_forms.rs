//! The parallel, recurrent, chunkwise and read-only forms agree through a
//! two-layer RetNet stack.

mod common;

use burn::tensor::Tensor;
use common::forms::{assert_close, random, run_recurrent};
use rem_worldmodel::retention::Outputs;
use rem_worldmodel::retnet::{RetNet, RetNetConfig, RetNetState};

type B = common::EquivalenceBackend;

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

fn assert_same_state(a: &RetNetState<B>, b: &RetNetState<B>, what: &str) {
    common::forms::assert_same_state::<B, RetNet<B>>(a, b, what);
}

fn check_forms_agree(net: &RetNet<B>, state: &RetNetState<B>, time: usize, chunk: usize) {
    common::forms::check_forms_agree(net, state, WIDTH, time, chunk);
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
fn a_pass_that_keeps_each_blocks_last_output_gives_the_whole_passs_there() {
    let net = stack();
    let (_, state) = net.forward_parallel(
        random([2, 5, WIDTH]),
        &net.zero_state(2, &Default::default()),
    );
    let x = random([2, 20, WIDTH]);
    let kept = Outputs::LastOfEvery(5);
    for chunk in [5, 10, 3] {
        let (all, all_state, all_checkpoints) =
            net.forward_chunkwise_with_checkpoints(x.clone(), &state, chunk, 5);
        let (picked, picked_state, picked_checkpoints) =
            net.forward_chunkwise_at(x.clone(), &state, chunk, Some(5), kept);
        assert_eq!(picked.dims(), [2, 4, WIDTH]);
        assert_close(picked, kept.pick(all), "kept outputs");
        assert_same_state(&picked_state, &all_state, "final state");
        assert_eq!(picked_checkpoints.len(), all_checkpoints.len());
        for (i, (p, a)) in picked_checkpoints.iter().zip(&all_checkpoints).enumerate() {
            assert_same_state(p, a, &format!("checkpoint {i}"));
        }
    }
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
