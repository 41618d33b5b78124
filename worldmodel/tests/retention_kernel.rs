//! Without autodiff on the CPU backend every form of retention runs the kernel of
//! `retention::kernel`; with autodiff, burn's tensor operations around the kernels of
//! `retention/tracked/` (which `retention_tracked_kernel.rs` checks against burn's
//! operations alone). The same layer and inputs through both give the same outputs
//! and states, for every form, per-row positions, incoming memories, chunks that do
//! not divide the input, and one head as well as four.

mod common;

use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::tensor::{Distribution, Tensor};
use common::{assert_close, values};
use rem_worldmodel::retention::{MultiScaleRetention, MultiScaleRetentionConfig, RetentionState};

type Tracked = Autodiff<Flex>;

const TOLERANCE: f32 = 1e-5;

/// Asserts that `kernel` is close to `composed` and returns whether any value
/// differs in its bits.
fn assert_close_and_differ(kernel: Vec<f32>, composed: Vec<f32>, what: &str) -> bool {
    assert_close(&kernel, &composed, TOLERANCE, what);
    kernel != composed
}

/// A layer of width 32 in `heads` heads and its copy without autodiff; an input; a
/// random memory at the given per-row positions on both backends.
struct Case {
    tracked: MultiScaleRetention<Tracked>,
    plain: MultiScaleRetention<Flex>,
    x: Tensor<Flex, 3>,
    state: RetentionState<Flex>,
}

impl Case {
    fn new(heads: usize, positions: Vec<usize>, time: usize) -> Self {
        let tracked =
            MultiScaleRetentionConfig::new(32, heads).init::<Tracked>(&Default::default());
        let plain = tracked.valid();
        let batch = positions.len();
        let random = |shape: [usize; 4]| {
            Tensor::<Flex, 4>::random(shape, Distribution::Normal(0.0, 1.0), &Default::default())
        };
        let x = random([batch, time, 32, 1]).reshape([batch, time, 32]);
        let head_dim = 32 / heads;
        let state = RetentionState::new(random([batch, heads, head_dim, head_dim]), positions);
        Self {
            tracked,
            plain,
            x,
            state,
        }
    }

    fn tracked_input(&self) -> (Tensor<Tracked, 3>, RetentionState<Tracked>) {
        let x = Tensor::from_inner(self.x.clone());
        let state = RetentionState::new(
            Tensor::from_inner(self.state.memory.clone()),
            self.state.next_positions.clone(),
        );
        (x, state)
    }
}

#[test]
fn every_form_of_the_kernel_matches_burns_operations() {
    let mut some_bits_differ = false;
    let cases = [
        (vec![0, 0, 0], 9, 4),
        (vec![3, 70, 1000], 7, 3),
        (vec![5, 6], 12, 12),
        (vec![2], 1, 1),
    ];
    for ((positions, time, chunk), heads) in
        cases.into_iter().flat_map(|c| [(c.clone(), 4), (c, 1)])
    {
        let case = Case::new(heads, positions.clone(), time);
        let (x, state) = case.tracked_input();
        let what = format!("{heads} heads, positions {positions:?}, time {time}, chunk {chunk}");
        let mut check = |kernel: Vec<f32>, composed: Vec<f32>, form: &str| {
            some_bits_differ |=
                assert_close_and_differ(kernel, composed, &format!("{form}, {what}"));
        };

        let (y, s) = case.plain.forward_parallel(case.x.clone(), &case.state);
        let (y_ref, s_ref) = case.tracked.forward_parallel(x.clone(), &state);
        assert_eq!(s.next_positions, s_ref.next_positions, "{what}");
        check(values(y), values(y_ref), "parallel output");
        check(values(s.memory), values(s_ref.memory), "parallel memory");

        let (y, s) = case
            .plain
            .forward_chunkwise(case.x.clone(), &case.state, chunk);
        let (y_ref, s_ref) = case.tracked.forward_chunkwise(x.clone(), &state, chunk);
        assert_eq!(s.next_positions, s_ref.next_positions, "{what}");
        check(values(y), values(y_ref), "chunkwise output");
        check(values(s.memory), values(s_ref.memory), "chunkwise memory");

        let y = case.plain.forward_readonly(case.x.clone(), &case.state);
        let y_ref = case.tracked.forward_readonly(x.clone(), &state);
        check(values(y), values(y_ref), "read-only output");

        let [batch, _, width] = case.x.dims();
        let first = case.x.clone().narrow(1, 0, 1).reshape([batch, width]);
        let (y, s) = case.plain.forward_recurrent(first, &case.state);
        let first_ref = x.narrow(1, 0, 1).reshape([batch, width]);
        let (y_ref, s_ref) = case.tracked.forward_recurrent(first_ref, &state);
        assert_eq!(s.next_positions, s_ref.next_positions, "{what}");
        check(values(y), values(y_ref), "recurrent output");
        check(values(s.memory), values(s_ref.memory), "recurrent memory");
    }
    // The two paths round differently; equal bits everywhere would mean that both
    // ran the same code, and this test compared nothing.
    assert!(some_bits_differ, "the kernel did not run");
}
