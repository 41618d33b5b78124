//! The GroupNorm + SiLU kernel (`rem_worldmodel::norm_silu`) against burn's own
//! `GroupNorm` followed by burn's `silu` (forward and autodiff gradients) and against
//! central finite differences.

mod common;

use burn::backend::{Autodiff, Flex};
use burn::module::Param;
use burn::nn::{GroupNorm, GroupNormConfig};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use common::{assert_close, on_threads, values, Draws};
use rem_worldmodel::norm_silu::group_norm_silu;
use rem_worldmodel::norm_silu::kernel::{self, GroupShape};

type B = Autodiff<Flex>;

const EPSILON: f64 = 1e-6;

/// `(frames, channels, height, width, groups)`
type Case = (usize, usize, usize, usize, usize);

const CASES: [Case; 5] = [
    (3, 8, 5, 7, 4),   // two channels a group, a plane that is no multiple of 16
    (2, 6, 4, 4, 1),   // one group over every channel
    (2, 6, 3, 3, 6),   // a group per channel
    (4, 32, 8, 8, 32), // the tokenizer's groups at its smallest plane
    (1, 4, 1, 1, 2),   // one value per channel
];

/// Input, gamma and beta of a case: an offset input, an affine that is not the
/// initialiser's, so that every term of the gradients matters.
fn operands<Bk: Backend>(
    case: &Case,
    draws: &mut Draws,
) -> (Tensor<Bk, 4>, Tensor<Bk, 1>, Tensor<Bk, 1>) {
    let &(n, c, h, w, _) = case;
    (
        draws.normal([n, c, h, w], 0.7, 2.0),
        draws.normal([c], 1.0, 0.5),
        draws.normal([c], 0.0, 0.5),
    )
}

/// burn's GroupNorm with these parameters.
fn burns_group_norm<Bk: Backend>(
    case: &Case,
    gamma: Tensor<Bk, 1>,
    beta: Tensor<Bk, 1>,
) -> GroupNorm<Bk> {
    let &(_, c, _, _, groups) = case;
    let mut norm = GroupNormConfig::new(groups, c)
        .with_epsilon(EPSILON)
        .init::<Bk>(&Default::default());
    norm.gamma = Some(Param::from_tensor(gamma));
    norm.beta = Some(Param::from_tensor(beta));
    norm
}

#[test]
fn kernel_matches_burns_group_norm_and_silu_forward_and_gradients() {
    let mut draws = Draws::new(1);
    for case in &CASES {
        let (x, gamma, beta) = operands::<B>(case, &mut draws);
        let (x, gamma, beta) = (x.require_grad(), gamma.require_grad(), beta.require_grad());
        let ours = group_norm_silu(x.clone(), gamma.clone(), beta.clone(), case.4, EPSILON);
        let norm = burns_group_norm(case, gamma.clone(), beta.clone());
        let reference = burn::tensor::activation::silu(norm.forward(x.clone()));
        let upstream = draws.normal::<B, 4>(ours.dims(), 0.0, 1.0);
        let grads_ours = (ours.clone() * upstream.clone()).sum().backward();
        let grads_reference = (reference.clone() * upstream).sum().backward();
        assert_close(
            &values(ours),
            &values(reference),
            1e-5,
            &format!("{case:?} y"),
        );
        assert_close(
            &values(x.grad(&grads_ours).unwrap()),
            &values(x.grad(&grads_reference).unwrap()),
            1e-4,
            &format!("{case:?} dx"),
        );
        for (name, p) in [("dgamma", &gamma), ("dbeta", &beta)] {
            assert_close(
                &values(p.grad(&grads_ours).unwrap()),
                &values(p.grad(&grads_reference).unwrap()),
                1e-4,
                &format!("{case:?} {name}"),
            );
        }
    }
}

/// Without autodiff the output is the kernel's own, bit for bit (so the tests here
/// exercise the kernel, not the composed fallback).
#[test]
fn without_autodiff_the_kernel_runs_and_matches_burn() {
    let mut draws = Draws::new(2);
    for case in &CASES {
        let (x, gamma, beta) = operands::<Flex>(case, &mut draws);
        let ours = values(group_norm_silu(
            x.clone(),
            gamma.clone(),
            beta.clone(),
            case.4,
            EPSILON,
        ));
        let norm = burns_group_norm(case, gamma.clone(), beta.clone());
        let reference = values(burn::tensor::activation::silu(norm.forward(x.clone())));
        assert_close(&ours, &reference, 1e-5, &format!("{case:?} y"));
        let &(frames, channels, h, w, groups) = case;
        let shape = GroupShape {
            frames,
            channels,
            plane: h * w,
            groups,
            epsilon: EPSILON as f32,
        };
        let (direct, _) = kernel::forward(&shape, &values(x), &values(gamma), &values(beta));
        assert_eq!(ours, direct, "{case:?}: group_norm_silu ran the kernel");
    }
}

/// `L = sum(y * r)`; a central difference with a small step, in f32, so the
/// tolerance is that of the difference, not of the kernel.
#[test]
fn gradients_match_central_differences() {
    const STEP: f32 = 1e-2;
    let mut draws = Draws::new(3);
    let case = CASES[0];
    let (x, gamma, beta) = operands::<B>(&case, &mut draws);
    let (x, gamma, beta) = (x.require_grad(), gamma.require_grad(), beta.require_grad());
    let y = group_norm_silu(x.clone(), gamma.clone(), beta.clone(), case.4, EPSILON);
    let r = draws.normal::<B, 4>(y.dims(), 0.0, 1.0);
    let grads = (y * r.clone()).sum().backward();
    let loss = |x: Tensor<B, 4>, gamma: Tensor<B, 1>, beta: Tensor<B, 1>| -> f32 {
        values((group_norm_silu(x, gamma, beta, case.4, EPSILON) * r.clone()).sum())[0]
    };
    let bumped = |t: &Tensor<B, 4>, i: usize, by: f32| {
        let mut v = values(t.clone());
        v[i] += by;
        Tensor::from_data(TensorData::new(v, t.dims()), &Default::default())
    };
    let bumped1 = |t: &Tensor<B, 1>, i: usize, by: f32| {
        let mut v = values(t.clone());
        v[i] += by;
        Tensor::from_data(TensorData::new(v, t.dims()), &Default::default())
    };
    let dx = values(x.grad(&grads).unwrap());
    for i in (0..dx.len()).step_by(7) {
        let numeric = (loss(bumped(&x, i, STEP), gamma.clone(), beta.clone())
            - loss(bumped(&x, i, -STEP), gamma.clone(), beta.clone()))
            / (2.0 * STEP);
        assert!(
            (dx[i] - numeric).abs() <= 2e-2 * numeric.abs().max(1.0),
            "dx[{i}]: {} vs {numeric}",
            dx[i]
        );
    }
    let dgamma = values(gamma.grad(&grads).unwrap());
    let dbeta = values(beta.grad(&grads).unwrap());
    for c in 0..case.1 {
        let numeric_gamma = (loss(x.clone(), bumped1(&gamma, c, STEP), beta.clone())
            - loss(x.clone(), bumped1(&gamma, c, -STEP), beta.clone()))
            / (2.0 * STEP);
        let numeric_beta = (loss(x.clone(), gamma.clone(), bumped1(&beta, c, STEP))
            - loss(x.clone(), gamma.clone(), bumped1(&beta, c, -STEP)))
            / (2.0 * STEP);
        assert!(
            (dgamma[c] - numeric_gamma).abs() <= 2e-2 * numeric_gamma.abs().max(1.0),
            "dgamma[{c}]: {} vs {numeric_gamma}",
            dgamma[c]
        );
        assert!(
            (dbeta[c] - numeric_beta).abs() <= 2e-2 * numeric_beta.abs().max(1.0),
            "dbeta[{c}]: {} vs {numeric_beta}",
            dbeta[c]
        );
    }
}

/// Each (frame, group) is one task and the affine gradients are added in frame
/// order, so a pool of one thread and one of two give the same bits.
#[test]
fn gradients_do_not_depend_on_the_thread_count() {
    let mut draws = Draws::new(4);
    let case: Case = (9, 16, 12, 12, 4);
    let (x, gamma, beta) = operands::<B>(&case, &mut draws);
    let upstream = draws.normal::<B, 4>(x.dims(), 0.0, 1.0);
    let run_on = |threads: usize| {
        on_threads(threads, || {
            let (x, gamma, beta) = (
                x.clone().require_grad(),
                gamma.clone().require_grad(),
                beta.clone().require_grad(),
            );
            let y = group_norm_silu(x.clone(), gamma.clone(), beta.clone(), case.4, EPSILON);
            let grads = (y.clone() * upstream.clone()).sum().backward();
            (
                values(y),
                values(x.grad(&grads).unwrap()),
                values(gamma.grad(&grads).unwrap()),
                values(beta.grad(&grads).unwrap()),
            )
        })
    };
    assert_eq!(run_on(1), run_on(2));
}
