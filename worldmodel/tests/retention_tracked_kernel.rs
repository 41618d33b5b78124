//! With autodiff on the CPU backend, retention in f32 runs the kernels of
//! `retention/tracked/` between the rotation and the dropout (the output over chunks,
//! the memories after every checkpoint) with a backward pass of their own; in f64 the
//! kernels do not apply and burn's tensor operations run, whose gradients
//! `retention_gradients.rs` checks against finite differences. The same layer and
//! inputs in both give the same outputs, states and gradients (with respect to the
//! input, the incoming memory and every weight) to f32 rounding: for every form,
//! per-row positions, incoming memories, chunks that do not divide the input,
//! checkpoints inside chunks, dropout (the same mask on both sides), and one head as
//! well as four; and the kernels give the same bits on one thread and on two.

mod common;

use burn::backend::{Autodiff, Flex};
use burn::module::Module;
use burn::tensor::{FloatDType, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use common::{assert_close, on_threads, own_generator, use_f64_by_default, values, CastTo};
use rem_worldmodel::retention::{MultiScaleRetention, MultiScaleRetentionConfig, RetentionState};
use rem_worldmodel::stream::with_thread_stream;

type B = Autodiff<Flex>;

/// Of the largest value compared (at least 1): f32 rounding through a few hundred
/// additions.
const TOLERANCE: f32 = 2e-5;

/// Which form runs, and what of its results the loss weighs.
#[derive(Debug, Clone, Copy)]
enum Form {
    Parallel,
    Readonly,
    /// Chunk length and checkpoint interval.
    Chunkwise(usize, usize),
}

/// A layer, an input, an incoming memory at per-row positions, and the weights of the
/// loss: all in f64, cast to f32 for the kernel's side.
struct Case {
    layer: MultiScaleRetention<B>,
    x: Tensor<B, 3>,
    memory: Tensor<B, 4>,
    positions: Vec<usize>,
    draws: StdRng,
}

impl Case {
    fn new(heads: usize, positions: Vec<usize>, time: usize, dropout: f64, seed: u64) -> Self {
        use_f64_by_default::<B>();
        let mut draws = StdRng::seed_from_u64(seed);
        // The layer's weights come from burn's generator: seeded, so that every run
        // checks the same cases (held until the cast below has drawn them all).
        let _generator = own_generator();
        <B as burn::tensor::backend::Backend>::seed(&Default::default(), seed);
        let layer = MultiScaleRetentionConfig::new(32, heads)
            .with_dropout(dropout)
            .init::<B>(&Default::default());
        let layer = layer.map(&mut CastTo(FloatDType::F64));
        let batch = positions.len();
        let head_dim = 32 / heads;
        let x = normal(&mut draws, [batch, time, 32]);
        let memory = normal(&mut draws, [batch, heads, head_dim, head_dim]);
        Self {
            layer,
            x,
            memory,
            positions,
            draws,
        }
    }

    /// The form's outputs in `dtype`, the loss sum(output * weights) over them, and
    /// the gradients of the input, the memory and the weights.
    fn run(&self, form: Form, dtype: FloatDType, weights: &[Tensor<B, 4>]) -> Run {
        let layer = self.layer.clone().map(&mut CastTo(dtype));
        let x = self.x.clone().cast(dtype).detach().require_grad();
        let memory = self.memory.clone().cast(dtype).detach().require_grad();
        let state = RetentionState::new(memory.clone(), self.positions.clone());
        // Both sides draw their dropout masks from the same stream.
        let outputs = with_thread_stream(7, || outputs(&layer, form, x.clone(), &state));
        let loss = outputs
            .iter()
            .zip(weights)
            .map(|(o, w)| (o.clone() * w.clone().cast(dtype)).sum())
            .reduce(|a, b| a + b)
            .unwrap();
        let grads = loss.backward();
        let mut gradients = vec![
            values(x.grad(&grads).unwrap()),
            values(memory.grad(&grads).unwrap()),
        ];
        for linear in [
            &layer.query,
            &layer.key,
            &layer.value,
            &layer.gate,
            &layer.out,
        ] {
            gradients.push(values(linear.weight.val().grad(&grads).unwrap()));
        }
        Run {
            outputs: outputs.into_iter().map(values).collect(),
            gradients,
        }
    }

    /// Loss weights shaped as the form's outputs.
    fn weights(&mut self, shapes: &[[usize; 4]]) -> Vec<Tensor<B, 4>> {
        shapes.iter().map(|&s| normal(&mut self.draws, s)).collect()
    }
}

struct Run {
    outputs: Vec<Vec<f32>>,
    gradients: Vec<Vec<f32>>,
}

fn normal<const D: usize>(draws: &mut StdRng, shape: [usize; D]) -> Tensor<B, D> {
    let n = shape.iter().product();
    let values: Vec<f64> = (0..n).map(|_| draws.sample(StandardNormal)).collect();
    Tensor::from_data(TensorData::new(values, shape), &Default::default())
}

/// The form's outputs, each as `[.., .., .., ..]`: the layer output (`[B, T, W, 1]`),
/// then the states' memories.
fn outputs(
    layer: &MultiScaleRetention<B>,
    form: Form,
    x: Tensor<B, 3>,
    state: &RetentionState<B>,
) -> Vec<Tensor<B, 4>> {
    let as4 = |y: Tensor<B, 3>| y.unsqueeze_dim::<4>(3);
    match form {
        Form::Parallel => {
            let (y, s) = layer.forward_parallel(x, state);
            vec![as4(y), s.memory]
        }
        Form::Readonly => vec![as4(layer.forward_readonly(x, state))],
        Form::Chunkwise(chunk, every) => {
            let (y, s, checkpoints) =
                layer.forward_chunkwise_with_checkpoints(x, state, chunk, every);
            let mut out = vec![as4(y), s.memory];
            out.extend(checkpoints.into_iter().map(|c| c.memory));
            out
        }
    }
}

#[test]
fn the_kernels_outputs_and_gradients_equal_burns_operations() {
    let cases = [
        (vec![0, 0, 0], 9, Form::Chunkwise(4, 3), 0.0),
        (vec![3, 70, 1000], 7, Form::Chunkwise(3, 3), 0.0),
        (vec![5, 6], 12, Form::Chunkwise(12, 4), 0.0),
        (vec![2, 9], 10, Form::Chunkwise(5, 20), 0.0),
        (vec![2], 1, Form::Chunkwise(1, 1), 0.0),
        (vec![1, 8], 11, Form::Chunkwise(4, 4), 0.3),
        (vec![4, 1], 6, Form::Parallel, 0.0),
        (vec![0, 30, 7], 8, Form::Readonly, 0.0),
        (vec![6, 3], 5, Form::Readonly, 0.3),
    ];
    for (seed, ((positions, time, form, dropout), heads)) in cases
        .into_iter()
        .flat_map(|c| [(c.clone(), 4), (c, 1)])
        .enumerate()
    {
        let mut case = Case::new(heads, positions.clone(), time, dropout, seed as u64);
        let what = format!(
            "{form:?}, {heads} heads, positions {positions:?}, time {time}, dropout {dropout}"
        );
        let weights = case.weights(&outputs_shapes(&case, form));
        let reference = case.run(form, FloatDType::F64, &weights);
        let kernel = on_threads(1, || case.run(form, FloatDType::F32, &weights));
        let on_two = on_threads(2, || case.run(form, FloatDType::F32, &weights));
        assert!(
            kernel.outputs == on_two.outputs && kernel.gradients == on_two.gradients,
            "{what}: one thread and two differ"
        );
        assert_eq!(kernel.outputs.len(), reference.outputs.len(), "{what}");
        for (i, (k, r)) in kernel
            .outputs
            .into_iter()
            .zip(reference.outputs)
            .enumerate()
        {
            assert_close(&k, &r, TOLERANCE, &format!("{what}: output {i}"));
        }
        let names = ["input", "memory", "query", "key", "value", "gate", "out"];
        for ((k, r), name) in kernel
            .gradients
            .into_iter()
            .zip(reference.gradients)
            .zip(names)
        {
            assert_close(
                &k,
                &r,
                TOLERANCE,
                &format!("{what}: gradient of the {name}"),
            );
        }
    }
}

/// The shapes of the form's outputs, as [`outputs`] returns them.
fn outputs_shapes(case: &Case, form: Form) -> Vec<[usize; 4]> {
    let state = RetentionState::new(case.memory.clone(), case.positions.clone());
    with_thread_stream(7, || outputs(&case.layer, form, case.x.clone(), &state))
        .iter()
        .map(|o| o.dims())
        .collect()
}
