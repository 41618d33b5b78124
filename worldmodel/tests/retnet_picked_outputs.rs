//! A chunkwise RetNet pass that returns the outputs of some tokens only (a world
//! model's action slots: `Outputs::LastOfEvery(block)`) runs its last layer's gate,
//! output projection and feed-forward on those tokens alone. With autodiff a loss on
//! those tokens has the same gradients (of the input and of every parameter) as the
//! same loss on the whole pass, and the outputs, states and checkpoints are the same:
//! in f32 (the tracked kernels of training) and in f64 (burn's operations). Without
//! autodiff, `retnet_forms.rs` checks the outputs and states.

mod common;

use burn::backend::{Autodiff, Flex};
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{FloatDType, Tensor};

use common::{assert_close, use_f64_by_default, values, CastTo, Draws};
use rem_worldmodel::retention::Outputs;
use rem_worldmodel::retnet::{RetNet, RetNetConfig, RetNetState};

const WIDTH: usize = 16;
/// Tokens of a block; the output kept is each block's last.
const BLOCK: usize = 5;
const BLOCKS: usize = 4;

/// Of the largest value compared (at least 1): rounding of sums in another order.
const TOLERANCE_F32: f32 = 2e-5;
const TOLERANCE_F64: f32 = 1e-6;

/// The stack's parameters in `dtype`. The binary computes in f64 unless cast: burn's
/// operations, which the f64 pass runs, make their constants in the default dtype.
fn stack<B: Backend>(dtype: FloatDType) -> RetNet<B> {
    use_f64_by_default::<B>();
    let _generator = common::own_generator();
    RetNetConfig {
        n_layers: 2,
        d_model: WIDTH,
        n_heads: 2,
        ffn: 32,
        dropout: 0.0,
    }
    .init(&Default::default())
    .map(&mut CastTo(dtype))
}

/// The input and, after a prefix of one block, the state the pass starts from.
fn input_and_state<B: Backend>(
    net: &RetNet<B>,
    dtype: FloatDType,
) -> (Tensor<B, 3>, RetNetState<B>) {
    let mut draws = Draws::new(7);
    let prefix = draws
        .normal::<B, 3>([2, BLOCK, WIDTH], 0.0, 1.0)
        .cast(dtype);
    let mut empty = net.zero_state(2, &Default::default());
    for layer in &mut empty.layers {
        layer.memory = layer.memory.clone().cast(dtype);
    }
    let (_, state) = net.forward_parallel(prefix, &empty);
    let x = draws
        .normal::<B, 3>([2, BLOCKS * BLOCK, WIDTH], 0.0, 1.0)
        .cast(dtype);
    (x, state)
}

/// The whole pass, then its outputs at the kept tokens; and the picked pass. Each
/// returns (outputs, final state, checkpoints after every block).
type Pass<B> = (Tensor<B, 3>, RetNetState<B>, Vec<RetNetState<B>>);

fn both_passes<B: Backend>(
    net: &RetNet<B>,
    x: Tensor<B, 3>,
    state: &RetNetState<B>,
    chunk: usize,
) -> (Pass<B>, Pass<B>) {
    let kept = Outputs::LastOfEvery(BLOCK);
    let (all, all_state, all_checkpoints) =
        net.forward_chunkwise_with_checkpoints(x.clone(), state, chunk, BLOCK);
    let whole = (kept.pick(all), all_state, all_checkpoints);
    let picked = net.forward_chunkwise_at(x, state, chunk, Some(BLOCK), kept);
    (whole, picked)
}

fn assert_same_pass<B: Backend>(whole: &Pass<B>, picked: &Pass<B>, tolerance: f32, what: &str) {
    assert_eq!(
        picked.0.dims(),
        [2, BLOCKS, WIDTH],
        "{what}: one output per block"
    );
    let close = |a: &Tensor<B, 4>, b: &Tensor<B, 4>, part: &str| {
        assert_close(
            &values(a.clone()),
            &values(b.clone()),
            tolerance,
            &format!("{what}: {part}"),
        );
    };
    assert_close(
        &values(picked.0.clone()),
        &values(whole.0.clone()),
        tolerance,
        &format!("{what}: outputs"),
    );
    let states = |pass: &Pass<B>| {
        let mut all = vec![pass.1.clone()];
        all.extend(pass.2.iter().cloned());
        all
    };
    let (a, b) = (states(whole), states(picked));
    assert_eq!(a.len(), 1 + BLOCKS, "{what}: checkpoints");
    for (i, (sa, sb)) in a.iter().zip(&b).enumerate() {
        assert_eq!(
            sa.next_positions(),
            sb.next_positions(),
            "{what}: positions {i}"
        );
        for (layer, (la, lb)) in sa.layers.iter().zip(&sb.layers).enumerate() {
            close(&la.memory, &lb.memory, &format!("state {i}, layer {layer}"));
        }
    }
}

/// The gradient of every float parameter, in the module's order.
struct Gradients<'a, Bk: AutodiffBackend> {
    grads: &'a Bk::Gradients,
    found: Vec<Vec<f32>>,
}

impl<Bk: AutodiffBackend> ModuleVisitor<Bk> for Gradients<'_, Bk> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<Bk, D>>) {
        let grad = param
            .val()
            .grad(self.grads)
            .expect("every parameter has a gradient");
        self.found.push(values(grad));
    }
}

/// The gradients of the input and of every parameter of a weighted sum of `outputs`.
fn gradients<Bk: AutodiffBackend>(
    net: &RetNet<Bk>,
    x: &Tensor<Bk, 3>,
    outputs: Tensor<Bk, 3>,
    weights: Tensor<Bk, 3>,
) -> Vec<Vec<f32>> {
    let grads = (outputs * weights).sum().backward();
    let mut visitor = Gradients::<Bk> {
        grads: &grads,
        found: vec![values(x.grad(&grads).expect("the input's gradient"))],
    };
    net.visit(&mut visitor);
    visitor.found
}

fn check_gradients(dtype: FloatDType, tolerance: f32) {
    type Bk = Autodiff<Flex>;
    let net = stack::<Bk>(dtype);
    let weights = Draws::new(8)
        .normal::<Bk, 3>([2, BLOCKS, WIDTH], 0.0, 1.0)
        .cast(dtype);
    // A backward pass consumes its graph, the starting state's included: each pass
    // builds its own.
    let start = || {
        let (x, state) = input_and_state(&net, dtype);
        (x.require_grad(), state)
    };
    let kept = Outputs::LastOfEvery(BLOCK);
    for chunk in [BLOCK, 2 * BLOCK] {
        let what = format!("{dtype:?}, chunks of {chunk}");
        let (x, state) = start();
        let (whole, picked) = both_passes(&net, x.clone(), &state, chunk);
        assert_same_pass(&whole, &picked, tolerance, &what);
        let expected = gradients(&net, &x, whole.0, weights.clone());
        let (x, state) = start();
        let picked = net.forward_chunkwise_at(x.clone(), &state, chunk, Some(BLOCK), kept);
        let found = gradients(&net, &x, picked.0, weights.clone());
        assert_eq!(found.len(), expected.len(), "{what}: parameters");
        for (i, (f, e)) in found.iter().zip(&expected).enumerate() {
            assert_close(
                f,
                e,
                tolerance,
                &format!("{what}: gradient {i} (0: the input)"),
            );
        }
    }
}

#[test]
fn with_autodiff_in_f32_the_tracked_kernels_give_the_same_gradients() {
    check_gradients(FloatDType::F32, TOLERANCE_F32);
}

#[test]
fn with_autodiff_in_f64_burns_operations_give_the_same_gradients() {
    check_gradients(FloatDType::F64, TOLERANCE_F64);
}

#[test]
fn the_kept_tokens_are_the_last_of_every_block() {
    use_f64_by_default::<Flex>();
    let numbers: Vec<f32> = (0..24).map(|i| i as f32).collect();
    let x =
        Tensor::<Flex, 1>::from_floats(numbers.as_slice(), &Default::default()).reshape([2, 6, 2]);
    let kept = Outputs::LastOfEvery(3).pick(x.clone());
    assert_eq!(values(kept), [4.0, 5.0, 10.0, 11.0, 16.0, 17.0, 22.0, 23.0]);
    assert_eq!(values(Outputs::All.pick(x.clone())), values(x.clone()));
    assert_eq!(
        values(Outputs::LastOfEvery(6).pick(x)),
        [10.0, 11.0, 22.0, 23.0]
    );
}
