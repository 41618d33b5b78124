//! The kernel of one LPIPS layer's distance (`rem_worldmodel::tokenizer::lpips::
//! layer_distance`) against the same distance written as burn's tensor operations
//! (forward, dropout masks and autodiff gradients), against central differences, and
//! on one and two threads. (`tests/lpips.rs` checks the whole distance against the
//! LPIPS authors' package.)

mod common;

use burn::backend::{Autodiff, Flex};
use burn::tensor::Tensor;
use common::{on_threads, values, Draws};
use rem_worldmodel::stream::with_thread_stream;
use rem_worldmodel::tokenizer::lpips::layer_distance::{
    kernel, layer_distance, layer_distance_ops,
};

type B = Autodiff<Flex>;
/// [`layer_distance`] or [`layer_distance_ops`] on backend `T`.
type Distance<T> = fn(Tensor<T, 4>, Tensor<T, 4>, &[f32], f64) -> Tensor<T, 1>;

/// Features as VGG's ReLUs give them: non-negative, some exactly zero (about a third),
/// none of the positions zero in every channel.
fn features(draws: &mut Draws, shape: [usize; 4]) -> Tensor<B, 4> {
    draws.normal::<B, 4>(shape, 0.4, 0.5).clamp_min(0.0)
}

/// Positive channel weights, as LPIPS's linear layers have.
fn weights(draws: &mut Draws, channels: usize) -> Vec<f32> {
    values(draws.normal::<Flex, 1>([channels], 0.0, 1.0).abs())
}

/// `|ours - reference| <= tolerance * max |reference|` elementwise.
fn assert_relatively_close(ours: &[f32], reference: &[f32], tolerance: f32, what: &str) {
    assert_eq!(ours.len(), reference.len(), "{what}: lengths");
    let scale = reference.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "{what}: all zero");
    for (i, (a, r)) in ours.iter().zip(reference).enumerate() {
        assert!(
            (a - r).abs() <= tolerance * scale,
            "{what}[{i}]: ours {a}, reference {r} (scale {scale})"
        );
    }
}

#[test]
fn kernel_matches_the_tensor_operations_with_and_without_dropout() {
    let mut draws = Draws::new(1);
    for (shape, dropout) in [
        ([3, 12, 5, 7], 0.0),
        ([3, 12, 5, 7], 0.5),
        ([2, 64, 4, 4], 0.5),
    ] {
        let what = format!("{shape:?}, dropout {dropout}");
        let fx = features(&mut draws, shape);
        let fy = features(&mut draws, shape).require_grad();
        let w = weights(&mut draws, shape[1]);
        let upstream = draws.normal::<B, 1>([shape[0]], 0.0, 1.0);
        let run = |distance: Distance<B>| {
            let d = with_thread_stream(5, || distance(fx.clone(), fy.clone(), &w, dropout));
            let grads = (d.clone() * upstream.clone()).sum().backward();
            (values(d), values(fy.grad(&grads).expect("fy is a leaf")))
        };
        let (d_ours, dfy_ours) = run(layer_distance);
        let (d_reference, dfy_reference) = run(layer_distance_ops);
        assert_relatively_close(&d_ours, &d_reference, 1e-6, &format!("{what}: d"));
        assert_relatively_close(&dfy_ours, &dfy_reference, 1e-5, &format!("{what}: dfy"));
        assert!(
            dfy_ours.iter().all(|g| g.is_finite()),
            "{what}: finite gradients"
        );
        // Without autodiff there is no dropout, as with burn's operations.
        let eval = |distance: Distance<Flex>| {
            values(distance(
                fx.clone().inner(),
                fy.clone().inner(),
                &w,
                dropout,
            ))
        };
        assert_relatively_close(
            &eval(layer_distance),
            &eval(layer_distance_ops),
            1e-6,
            &format!("{what}: d without autodiff"),
        );
    }
}

/// `L = sum_n g[n] d[n]` of the kernel with a dropout mask, central differences in f32.
#[test]
fn gradients_match_central_differences() {
    const STEP: f32 = 1e-2;
    let mut draws = Draws::new(2);
    let shape = kernel::Shape {
        frames: 2,
        channels: 6,
        positions: 5,
    };
    let dims = [shape.frames, shape.channels, 1, shape.positions];
    let fx = values(features(&mut draws, dims));
    let fy = values(features(&mut draws, dims));
    let w = weights(&mut draws, shape.channels);
    let mask: Vec<f32> = (0..fx.len()).map(|i| [2.0, 0.0, 2.0][i % 3]).collect();
    let g = [0.7, -1.3];
    let loss = |fy: &[f32]| -> f32 {
        let d = kernel::forward(shape, &fx, fy, &w, Some(&mask));
        d.iter().zip(g).map(|(d, g)| d * g).sum()
    };
    let dfy = kernel::backward(shape, &fx, &fy, &w, Some(&mask), &g);
    let scale = dfy.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    for (i, &analytic) in dfy.iter().enumerate() {
        let bumped = |by: f32| {
            let mut v = fy.clone();
            v[i] += by;
            loss(&v)
        };
        let numeric = (bumped(STEP) - bumped(-STEP)) / (2.0 * STEP);
        assert!(
            (analytic - numeric).abs() <= 2e-2 * scale,
            "dfy[{i}]: {analytic} vs {numeric} (scale {scale})"
        );
    }
}

#[test]
fn values_and_gradients_do_not_depend_on_the_thread_count() {
    let mut draws = Draws::new(3);
    let shape = [9, 16, 6, 6];
    let fx = features(&mut draws, shape);
    let fy = features(&mut draws, shape);
    let w = weights(&mut draws, shape[1]);
    let run_on = |threads: usize| {
        on_threads(threads, || {
            let fy = fy.clone().require_grad();
            let d = with_thread_stream(7, || layer_distance(fx.clone(), fy.clone(), &w, 0.5));
            let grads = d.clone().sum().backward();
            (values(d), values(fy.grad(&grads).unwrap()))
        })
    };
    assert_eq!(run_on(1), run_on(2));
}
