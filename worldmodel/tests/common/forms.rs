//! The four forms of retention (parallel, recurrent, chunkwise, read-only) checked
//! against each other, for one multi-scale retention layer and for a RetNet stack
//! alike: both implement [`Forms`].

use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};
use rem_worldmodel::retention::{MultiScaleRetention, RetentionState};
use rem_worldmodel::retnet::{RetNet, RetNetState};

/// Largest elementwise difference the forms may show: f32 rounding of sums taken in
/// other orders.
pub const TOLERANCE: f32 = 1e-4;

/// A retention layer or stack in its four forms. Inputs are `[B, T, d]`, one
/// recurrent token `[B, d]`.
pub trait Forms<B: Backend> {
    type State: Clone;
    fn parallel(&self, x: Tensor<B, 3>, state: &Self::State) -> (Tensor<B, 3>, Self::State);
    fn recurrent(&self, token: Tensor<B, 2>, state: &Self::State) -> (Tensor<B, 2>, Self::State);
    fn chunkwise(
        &self,
        x: Tensor<B, 3>,
        state: &Self::State,
        chunk: usize,
    ) -> (Tensor<B, 3>, Self::State);
    fn readonly(&self, x: Tensor<B, 3>, state: &Self::State) -> Tensor<B, 3>;
    /// The state of each layer, bottom first.
    fn layer_states(state: &Self::State) -> Vec<RetentionState<B>>;
}

/// Each form is the type's own method of that name; only the layer states differ.
macro_rules! forms_by_methods {
    ($model:ident, $state:ident, |$s:ident| $layers:expr) => {
        impl<B: Backend> Forms<B> for $model<B> {
            type State = $state<B>;
            fn parallel(&self, x: Tensor<B, 3>, state: &$state<B>) -> (Tensor<B, 3>, $state<B>) {
                self.forward_parallel(x, state)
            }
            fn recurrent(&self, x: Tensor<B, 2>, state: &$state<B>) -> (Tensor<B, 2>, $state<B>) {
                self.forward_recurrent(x, state)
            }
            fn chunkwise(
                &self,
                x: Tensor<B, 3>,
                state: &$state<B>,
                chunk: usize,
            ) -> (Tensor<B, 3>, $state<B>) {
                self.forward_chunkwise(x, state, chunk)
            }
            fn readonly(&self, x: Tensor<B, 3>, state: &$state<B>) -> Tensor<B, 3> {
                self.forward_readonly(x, state)
            }
            fn layer_states($s: &$state<B>) -> Vec<RetentionState<B>> {
                $layers
            }
        }
    };
}

forms_by_methods!(MultiScaleRetention, RetentionState, |state| vec![
    state.clone()
]);
forms_by_methods!(RetNet, RetNetState, |state| state.layers.clone());

pub fn random<B: Backend, const D: usize>(shape: [usize; D]) -> Tensor<B, D> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), &Default::default())
}

pub fn max_abs_diff<B: Backend, const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> f32 {
    assert_eq!(a.dims(), b.dims(), "shapes differ");
    (a - b)
        .abs()
        .into_data()
        .to_vec::<f32>()
        .unwrap()
        .into_iter()
        .fold(0.0, f32::max)
}

pub fn assert_close<B: Backend, const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>, what: &str) {
    let diff = max_abs_diff(a, b);
    assert!(diff <= TOLERANCE, "{what}: max abs diff {diff}");
}

/// Same positions and, within [`TOLERANCE`], the same memory in every layer.
pub fn assert_same_state<B: Backend, F: Forms<B>>(a: &F::State, b: &F::State, what: &str) {
    let (a, b) = (F::layer_states(a), F::layer_states(b));
    assert_eq!(a.len(), b.len(), "{what}: layer count");
    for (i, (la, lb)) in a.iter().zip(&b).enumerate() {
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

/// Runs the recurrent form token by token; returns the outputs `[B, T, d]` and the
/// state after every token.
pub fn run_recurrent<B: Backend, F: Forms<B>>(
    forms: &F,
    x: Tensor<B, 3>,
    state: &F::State,
) -> (Tensor<B, 3>, Vec<F::State>) {
    let [batch, time, width] = x.dims();
    let mut state = state.clone();
    let (mut outputs, mut states) = (Vec::new(), Vec::new());
    for t in 0..time {
        let token = x.clone().narrow(1, t, 1).reshape([batch, width]);
        let (y, next) = forms.recurrent(token, &state);
        outputs.push(y.reshape([batch, 1, width]));
        states.push(next.clone());
        state = next;
    }
    (Tensor::cat(outputs, 1), states)
}

/// On `time` random tokens of `width` after `state`: the parallel form's outputs equal
/// the recurrent, chunkwise (chunks of `chunk`) and read-only forms', its final state
/// the recurrent form's and the chunkwise form's, every row `time` positions further on.
pub fn check_forms_agree<B: Backend, F: Forms<B>>(
    forms: &F,
    state: &F::State,
    width: usize,
    time: usize,
    chunk: usize,
) {
    let start = F::layer_states(state)[0].next_positions.clone();
    let what = format!("time {time}, chunk {chunk}, positions {start:?}");
    let x = random([start.len(), time, width]);
    let (parallel, parallel_state) = forms.parallel(x.clone(), state);
    let (recurrent, recurrent_states) = run_recurrent(forms, x.clone(), state);
    let (chunkwise, chunkwise_state) = forms.chunkwise(x.clone(), state, chunk);
    let readonly = forms.readonly(x, state);

    let moved_on: Vec<usize> = start.iter().map(|p| p + time).collect();
    for layer in F::layer_states(&parallel_state) {
        assert_eq!(layer.next_positions, moved_on, "{what}");
    }
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
    assert_same_state::<B, F>(&parallel_state, last, &format!("parallel state, {what}"));
    assert_same_state::<B, F>(&chunkwise_state, last, &format!("chunkwise state, {what}"));
}
