//! The parallel, recurrent, chunkwise and read-only forms of multi-scale retention
//! compute the same function.

mod common;

use burn::tensor::Tensor;
use common::forms::{assert_close, check_forms_agree, max_abs_diff, random, run_recurrent};
use rem_worldmodel::retention::{MultiScaleRetention, MultiScaleRetentionConfig, RetentionState};

type B = common::EquivalenceBackend;

const WIDTH: usize = 16;

fn layer() -> MultiScaleRetention<B> {
    MultiScaleRetentionConfig::new(WIDTH, 2).init(&Default::default())
}

fn assert_same_state(a: &RetentionState<B>, b: &RetentionState<B>, what: &str) {
    common::forms::assert_same_state::<B, MultiScaleRetention<B>>(a, b, what);
}

fn check_all_forms_agree(
    layer: &MultiScaleRetention<B>,
    state: &RetentionState<B>,
    time: usize,
    chunk: usize,
) {
    check_forms_agree(layer, state, WIDTH, time, chunk);
}

#[test]
fn forms_agree_from_an_empty_state() {
    let layer = layer();
    let state = layer.zero_state(2, &Default::default());
    for time in [1, 4, 7, 10] {
        check_all_forms_agree(&layer, &state, time, 4);
    }
}

#[test]
fn forms_agree_after_an_incoming_state_at_per_row_positions() {
    let layer = layer();
    let state = RetentionState::new(random([2, 2, 8, 8]), vec![5, 23]);
    for (time, chunk) in [(3, 4), (9, 4), (9, 2), (6, 3)] {
        check_all_forms_agree(&layer, &state, time, chunk);
    }
}

#[test]
fn forms_agree_from_a_nonzero_start_position() {
    let layer = layer();
    let state = layer.zero_state(1, &Default::default()).starting_at(130);
    check_all_forms_agree(&layer, &state, 11, 5);
}

#[test]
fn a_sequence_split_across_parallel_calls_gives_the_same_result() {
    let layer = layer();
    let state = layer.zero_state(2, &Default::default());
    let x = random([2, 9, WIDTH]);
    let (whole, whole_state) = layer.forward_parallel(x.clone(), &state);
    let (head, mid_state) = layer.forward_parallel(x.clone().narrow(1, 0, 4), &state);
    let (tail, end_state) = layer.forward_parallel(x.narrow(1, 4, 5), &mid_state);
    assert_eq!(mid_state.next_positions, vec![4, 4]);
    assert_close(whole, Tensor::cat(vec![head, tail], 1), "split outputs");
    assert_same_state(&whole_state, &end_state, "split final state");
}

#[test]
fn checkpoints_are_the_states_after_every_interval() {
    let layer = layer();
    let state = RetentionState::new(random([2, 2, 8, 8]), vec![3, 65]);
    let x = random([2, 13, WIDTH]);
    let (_, recurrent_states) = run_recurrent(&layer, x.clone(), &state);
    // Interval longer than, shorter than, and equal to the chunk.
    for (chunk, every) in [(6, 4), (3, 6), (4, 4), (13, 5)] {
        let (output, final_state, checkpoints) =
            layer.forward_chunkwise_with_checkpoints(x.clone(), &state, chunk, every);
        let (plain, _) = layer.forward_chunkwise(x.clone(), &state, chunk);
        assert_close(output, plain, "checkpointed output");
        assert_eq!(
            checkpoints.len(),
            13 / every,
            "chunk {chunk}, every {every}"
        );
        for (i, checkpoint) in checkpoints.iter().enumerate() {
            let expected = &recurrent_states[(i + 1) * every - 1];
            assert_same_state(
                checkpoint,
                expected,
                &format!("chunk {chunk}, checkpoint {i}"),
            );
        }
        assert_same_state(
            &final_state,
            recurrent_states.last().unwrap(),
            "final state",
        );
    }
}

#[test]
fn stacked_states_keep_each_row_at_its_own_position() {
    let layer = layer();
    let prefix = random([1, 7, WIDTH]);
    let (_, early) = layer.forward_parallel(
        prefix.clone().narrow(1, 0, 3),
        &layer.zero_state(1, &Default::default()),
    );
    let (_, late) = layer.forward_parallel(prefix, &layer.zero_state(1, &Default::default()));
    let queries = random([2, 4, WIDTH]);
    let stacked = RetentionState::cat(vec![early.clone(), late.clone()]);
    assert_eq!(stacked.next_positions, vec![3, 7]);
    let together = layer.forward_readonly(queries.clone(), &stacked);
    let alone_early = layer.forward_readonly(queries.clone().narrow(0, 0, 1), &early);
    let alone_late = layer.forward_readonly(queries.narrow(0, 1, 1), &late);
    assert_close(
        together,
        Tensor::cat(vec![alone_early, alone_late], 0),
        "stacked rows",
    );
}

#[test]
fn rotary_positions_are_relative_within_a_sequence_and_absolute_against_memory() {
    let layer = layer();
    let x = random([1, 6, WIDTH]);
    let empty = layer.zero_state(1, &Default::default());
    let (at_zero, _) = layer.forward_parallel(x.clone(), &empty);
    let (shifted, _) = layer.forward_parallel(x.clone(), &empty.clone().starting_at(40));
    // With nothing remembered only differences of positions enter the scores.
    assert_close(at_zero, shifted, "shift with empty memory");

    let memory = RetentionState::new(random([1, 2, 8, 8]), vec![0]);
    let (near, _) = layer.forward_parallel(x.clone(), &memory);
    let (far, _) = layer.forward_parallel(x, &memory.starting_at(40));
    assert!(
        max_abs_diff(near, far) > 1e-2,
        "a remembered past must be read at the tokens' absolute positions"
    );
}

#[test]
#[should_panic(expected = "differs from d_model")]
fn a_wrong_input_width_is_rejected() {
    let layer = layer();
    let _ = layer.forward_parallel(
        random([1, 3, 12]),
        &layer.zero_state(1, &Default::default()),
    );
}

#[test]
#[should_panic(expected = "for a batch of")]
fn a_state_of_another_batch_size_is_rejected() {
    let layer = layer();
    let state = RetentionState::new(random([2, 2, 8, 8]), vec![0, 0]);
    let _ = layer.forward_parallel(random([3, 3, WIDTH]), &state);
}

#[test]
fn bad_shapes_are_reported() {
    assert!(MultiScaleRetentionConfig::new(16, 3).validate().is_err());
    assert!(MultiScaleRetentionConfig::new(6, 2).validate().is_err());
    assert!(MultiScaleRetentionConfig::new(16, 0).validate().is_err());
    assert!(MultiScaleRetentionConfig::new(256, 4).validate().is_ok());
}
