//! The LayerNorm kernel (`rem_worldmodel::layer_norm`) against burn's own
//! `LayerNorm` (forward and autodiff gradients), against central differences, and on
//! one and two threads.

mod common;

use burn::backend::{Autodiff, Flex};
use burn::module::Param;
use burn::nn::{LayerNorm, LayerNormConfig};
use burn::tensor::{Tensor, TensorData};
use common::{assert_close, on_threads, values, Draws};
use rem_worldmodel::layer_norm::{kernel, layer_norm};

type B = Autodiff<Flex>;

const EPSILON: f64 = 1e-6;

/// A LayerNorm of width `d` whose affine is not the initialiser's.
fn norm(d: usize, draws: &mut Draws) -> LayerNorm<B> {
    let mut norm = LayerNormConfig::new(d)
        .with_epsilon(EPSILON)
        .init::<B>(&Default::default());
    norm.gamma = Param::from_tensor(draws.normal([d], 1.0, 0.5));
    norm.beta = Some(Param::from_tensor(draws.normal([d], 0.0, 0.5)));
    norm
}

#[test]
fn kernel_matches_burns_layer_norm_forward_and_gradients() {
    let mut draws = Draws::new(1);
    // More rows than one parallel block, a width that is no multiple of 16.
    for (rows, time, d) in [(3, 50, 24), (2, 1, 7), (130, 1, 16)] {
        let norm = norm(d, &mut draws);
        let x = draws.normal([rows, time, d], 0.3, 2.0).require_grad();
        let ours = layer_norm(&norm, x.clone(), EPSILON);
        let reference = norm.forward(x.clone());
        let upstream = draws.normal::<B, 3>(ours.dims(), 0.0, 1.0);
        let grads_ours = (ours.clone() * upstream.clone()).sum().backward();
        let grads_reference = (reference.clone() * upstream).sum().backward();
        let what = format!("[{rows}, {time}, {d}]");
        assert_close(
            &values(ours.clone()),
            &values(reference.clone()),
            1e-5,
            &format!("{what} y"),
        );
        let (direct, _) = kernel::forward(
            &values(x.clone()),
            &values(norm.gamma.val()),
            &values(norm.beta.as_ref().unwrap().val()),
            EPSILON as f32,
        );
        assert_eq!(values(ours), direct, "{what}: layer_norm ran the kernel");
        assert_close(
            &values(x.grad(&grads_ours).unwrap()),
            &values(x.grad(&grads_reference).unwrap()),
            1e-4,
            &format!("{what} dx"),
        );
        let gamma = norm.gamma.val();
        let beta = norm.beta.as_ref().unwrap().val();
        for (name, p) in [("dgamma", gamma), ("dbeta", beta)] {
            assert_close(
                &values(p.grad(&grads_ours).unwrap()),
                &values(p.grad(&grads_reference).unwrap()),
                1e-4,
                &format!("{what} {name}"),
            );
        }
    }
}

/// `L = sum(y * r)`, central differences with a small step in f32.
#[test]
fn gradients_match_central_differences() {
    const STEP: f32 = 1e-2;
    let mut draws = Draws::new(2);
    let norm = norm(6, &mut draws);
    let x = draws.normal([4, 6], 0.0, 1.5).require_grad();
    let r = draws.normal::<B, 2>([4, 6], 0.0, 1.0);
    let grads = (layer_norm(&norm, x.clone(), EPSILON) * r.clone())
        .sum()
        .backward();
    let dx = values(x.grad(&grads).unwrap());
    let loss = |x: Tensor<B, 2>| values((layer_norm(&norm, x, EPSILON) * r.clone()).sum())[0];
    let bumped = |i: usize, by: f32| {
        let mut v = values(x.clone());
        v[i] += by;
        Tensor::from_data(TensorData::new(v, [4, 6]), &Default::default())
    };
    for (i, &analytic) in dx.iter().enumerate() {
        let numeric = (loss(bumped(i, STEP)) - loss(bumped(i, -STEP))) / (2.0 * STEP);
        assert!(
            (analytic - numeric).abs() <= 2e-2 * numeric.abs().max(1.0),
            "dx[{i}]: {analytic} vs {numeric}"
        );
    }
}

#[test]
fn gradients_do_not_depend_on_the_thread_count() {
    let mut draws = Draws::new(3);
    let norm = norm(32, &mut draws);
    let x = draws.normal([300, 32], 0.5, 1.0);
    let upstream = draws.normal::<B, 2>([300, 32], 0.0, 1.0);
    let run_on = |threads: usize| {
        on_threads(threads, || {
            let x = x.clone().require_grad();
            let y = layer_norm(&norm, x.clone(), EPSILON);
            let grads = (y.clone() * upstream.clone()).sum().backward();
            (
                values(y),
                values(x.grad(&grads).unwrap()),
                values(norm.gamma.val().grad(&grads).unwrap()),
                values(norm.beta.as_ref().unwrap().val().grad(&grads).unwrap()),
            )
        })
    };
    assert_eq!(run_on(1), run_on(2));
}
