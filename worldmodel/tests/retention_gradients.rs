//! Gradients of the parallel form through burn's autodiff match central finite
//! differences. Runs in f64 (the device's default float type for this test binary)
//! so that the differences are accurate.

mod common;

use burn::backend::{Autodiff, Flex};
use burn::module::Param;
use burn::tensor::{Distribution, Tensor, TensorData};
use common::use_f64_by_default;
use rem_worldmodel::retention::{MultiScaleRetention, MultiScaleRetentionConfig, RetentionState};

type B = Autodiff<Flex>;

const STEP: f64 = 1e-6;
const TOLERANCE: f64 = 1e-6;

fn to_f64<const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.into_data().convert::<f64>().to_vec::<f64>().unwrap()
}

fn values<const D: usize>(t: Tensor<Flex, D>) -> Vec<f64> {
    t.into_data().convert::<f64>().to_vec::<f64>().unwrap()
}

fn from_f64<const D: usize>(values: Vec<f64>, shape: [usize; D]) -> Tensor<B, D> {
    Tensor::from_data(TensorData::new(values, shape), &Default::default())
}

/// A fixed, non-trivial scalar of the output: sum(y * weights).
fn loss(
    layer: &MultiScaleRetention<B>,
    x: Tensor<B, 3>,
    state: &RetentionState<B>,
    weights: &Tensor<B, 3>,
) -> Tensor<B, 1> {
    let (y, _) = layer.forward_parallel(x, state);
    (y * weights.clone()).sum()
}

fn scalar(t: Tensor<B, 1>) -> f64 {
    to_f64(t)[0]
}

fn central_difference(f: impl Fn(f64) -> f64) -> f64 {
    (f(STEP) - f(-STEP)) / (2.0 * STEP)
}

fn assert_gradients_match(analytic: &[f64], numeric: &[f64], what: &str) {
    let scale = numeric.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (a, n)) in analytic.iter().zip(numeric).enumerate() {
        assert!(
            (a - n).abs() <= TOLERANCE * scale,
            "{what}[{i}]: autodiff {a} vs finite difference {n}"
        );
    }
}

struct Case {
    layer: MultiScaleRetention<B>,
    x: Tensor<B, 3>,
    state: RetentionState<B>,
    weights: Tensor<B, 3>,
}

/// A layer of width 8 in `heads` heads (one head takes its own path: no transpose).
fn tiny_case(heads: usize) -> Case {
    use_f64_by_default::<B>();
    let device = Default::default();
    let layer = MultiScaleRetentionConfig::new(8, heads).init::<B>(&device);
    let normal = Distribution::Normal(0.0, 1.0);
    let x = Tensor::random([1, 5, 8], normal, &device);
    let head_dim = 8 / heads;
    let memory = Tensor::random([1, heads, head_dim, head_dim], normal, &device);
    let state = RetentionState::new(memory, vec![3]);
    let weights = Tensor::random([1, 5, 8], normal, &device);
    assert_eq!(x.dtype(), burn::tensor::DType::F64, "test must run in f64");
    Case {
        layer,
        x,
        state,
        weights,
    }
}

#[test]
fn input_gradient_matches_finite_differences() {
    for heads in [2, 1] {
        input_gradient_matches_finite_differences_with(heads);
    }
}

fn input_gradient_matches_finite_differences_with(heads: usize) {
    let Case {
        layer,
        x,
        state,
        weights,
    } = tiny_case(heads);
    let x = x.require_grad();
    let grads = loss(&layer, x.clone(), &state, &weights).backward();
    let analytic = values(x.grad(&grads).unwrap());

    let base = to_f64(x.clone().detach());
    let numeric: Vec<f64> = (0..base.len())
        .map(|i| {
            central_difference(|step| {
                let mut shifted = base.clone();
                shifted[i] += step;
                scalar(loss(&layer, from_f64(shifted, [1, 5, 8]), &state, &weights))
            })
        })
        .collect();
    assert_gradients_match(&analytic, &numeric, "d loss / d x");
}

#[test]
fn weight_gradients_match_finite_differences() {
    let Case {
        layer,
        x,
        state,
        weights,
    } = tiny_case(2);
    let grads = loss(&layer, x.clone(), &state, &weights).backward();
    // The key weight goes through rotary and the decay mask; the gate weight through
    // the SiLU branch.
    let pick = |m: &MultiScaleRetention<B>, key: bool| {
        if key {
            m.key.weight.val()
        } else {
            m.gate.weight.val()
        }
    };
    for (key, name) in [(true, "key"), (false, "gate")] {
        let weight = pick(&layer, key);
        let analytic = values(weight.grad(&grads).unwrap());
        let base = to_f64(weight.detach());
        let numeric: Vec<f64> = (0..base.len())
            .map(|i| {
                central_difference(|step| {
                    let mut shifted = base.clone();
                    shifted[i] += step;
                    let mut perturbed = layer.clone();
                    let tensor = Param::from_tensor(from_f64(shifted, [8, 8]));
                    if key {
                        perturbed.key.weight = tensor;
                    } else {
                        perturbed.gate.weight = tensor;
                    }
                    scalar(loss(&perturbed, x.clone(), &state, &weights))
                })
            })
            .collect();
        assert_gradients_match(&analytic, &numeric, &format!("d loss / d {name} weight"));
    }
}
