//! The 3x3 convolution kernels (`rem_worldmodel::conv`) against burn's own `Conv2d`
//! (forward and autodiff gradients) and against central finite differences, for the
//! strides and paddings the tokenizer uses and a few it does not.

mod common;

use burn::backend::{Autodiff, Flex};
use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::PaddingConfig2d;
use burn::tensor::{Distribution, Tensor};
use common::{assert_close, values};
use rem_worldmodel::conv::conv3x3;
use rem_worldmodel::conv::kernel::{self, Geometry};

type B = Autodiff<Flex>;

/// `(channels in, channels out, height, width, stride, padding top/left/bottom/right)`
type Case = (usize, usize, usize, usize, usize, [usize; 4]);

const CASES: [Case; 7] = [
    (3, 5, 9, 7, 1, [1, 1, 1, 1]), // the tokenizer's "same" convolution, odd sizes
    (4, 6, 9, 8, 2, [0, 0, 1, 1]), // its stride-2 one, odd height
    (4, 6, 8, 8, 2, [0, 0, 1, 1]), // ... even sides, as in the tokenizer
    (2, 3, 8, 7, 2, [1, 1, 1, 1]), // stride 2 with symmetric padding
    (2, 3, 5, 6, 1, [0, 0, 0, 0]), // no padding
    (16, 8, 6, 6, 1, [2, 0, 1, 2]), // uneven padding, more channels
    (2, 3, 40, 40, 1, [1, 1, 1, 1]), // large frames: two a group, so several groups
];

fn conv_for<Bk: burn::tensor::backend::Backend>(case: &Case) -> Conv2d<Bk> {
    let &(cin, cout, _, _, stride, [top, left, bottom, right]) = case;
    let mut conv = Conv2dConfig::new([cin, cout], [3, 3])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(top, left, bottom, right))
        .init::<Bk>(&Default::default());
    // A bias that is not the initialiser's, so that its gradient and value matter.
    let bias = Tensor::random([cout], Distribution::Normal(0.0, 1.0), &Default::default());
    conv.bias = Some(Param::from_tensor(bias));
    conv
}

fn input<Bk: burn::tensor::backend::Backend>(case: &Case, frames: usize) -> Tensor<Bk, 4> {
    let &(cin, _, h, w, _, _) = case;
    Tensor::random(
        [frames, cin, h, w],
        Distribution::Normal(0.0, 1.0),
        &Default::default(),
    )
}

#[test]
fn kernel_convolution_matches_burns_forward_and_gradients() {
    for case in &CASES {
        let conv = conv_for::<B>(case);
        let x = input::<B>(case, 5).require_grad();
        let ours = conv3x3(&conv, x.clone());
        let reference = conv.forward(x.clone());
        assert_eq!(ours.dims(), reference.dims(), "{case:?}: output shape");
        let upstream = Tensor::<B, 4>::random(
            ours.dims(),
            Distribution::Normal(0.0, 1.0),
            &Default::default(),
        );
        let grads_ours = (ours.clone() * upstream.clone()).sum().backward();
        let grads_reference = (reference.clone() * upstream).sum().backward();
        assert_close(
            &values(ours),
            &values(reference),
            1e-5,
            &format!("{case:?} y"),
        );
        let grad = |g: &_, t: &Tensor<B, 4>| values(t.grad(g).expect("tracked"));
        assert_close(
            &grad(&grads_ours, &x),
            &grad(&grads_reference, &x),
            1e-5,
            &format!("{case:?} dx"),
        );
        let weight = conv.weight.val();
        assert_close(
            &grad(&grads_ours, &weight),
            &grad(&grads_reference, &weight),
            1e-5,
            &format!("{case:?} dw"),
        );
        let bias = conv.bias.as_ref().unwrap().val();
        assert_close(
            &values(bias.grad(&grads_ours).unwrap()),
            &values(bias.grad(&grads_reference).unwrap()),
            1e-5,
            &format!("{case:?} db"),
        );
    }
}

/// Without autodiff too; and the output is the kernel's own, bit for bit (so the
/// tests above exercise the kernel, not a fallback to burn).
#[test]
fn kernel_convolution_without_autodiff_matches_burns() {
    for case in &CASES {
        let conv = conv_for::<Flex>(case);
        let x = input::<Flex>(case, 3);
        let ours = values(conv3x3(&conv, x.clone()));
        assert_close(
            &ours,
            &values(conv.forward(x.clone())),
            1e-5,
            &format!("{case:?} y"),
        );
        let &(channels_in, channels_out, height, width, stride, padding) = case;
        let geometry = Geometry {
            channels_in,
            channels_out,
            height,
            width,
            stride,
            padding,
        };
        let bias = values(conv.bias.as_ref().unwrap().val());
        let direct = kernel::forward(
            &geometry,
            &values(x),
            &values(conv.weight.val()),
            Some(&bias),
        );
        assert_eq!(ours, direct, "{case:?}: conv3x3 ran the kernel");
    }
}

/// The kernel is linear in each of `x`, `w` and `b`, so a central difference of
/// `L = sum(y * r)` is exact up to f32 rounding even for a large step.
#[test]
fn kernel_gradients_match_central_differences() {
    const STEP: f32 = 0.5;
    // Seeded: a tolerance at the scale of f32 rounding holds for these draws every
    // run, not for most draws.
    <B as burn::tensor::backend::Backend>::seed(&Default::default(), 0);
    for case in [CASES[0], CASES[1]] {
        let conv = conv_for::<B>(&case);
        let x = input::<B>(&case, 2).require_grad();
        let y = conv3x3(&conv, x.clone());
        let r = Tensor::<B, 4>::random(
            y.dims(),
            Distribution::Normal(0.0, 1.0),
            &Default::default(),
        );
        let grads = (y * r.clone()).sum().backward();
        let loss = |conv: &Conv2d<B>, x: Tensor<B, 4>| -> f32 {
            values((conv3x3(conv, x) * r.clone()).sum())[0]
        };
        let numeric =
            |values_of: Vec<f32>, shape: [usize; 4], rebuild: &dyn Fn(Tensor<B, 4>) -> f32| {
                (0..values_of.len())
                    .map(|i| {
                        let bump = |sign: f32| {
                            let mut v = values_of.clone();
                            v[i] += sign * STEP;
                            rebuild(Tensor::from_data(
                                burn::tensor::TensorData::new(v, shape),
                                &Default::default(),
                            ))
                        };
                        (bump(1.0) - bump(-1.0)) / (2.0 * STEP)
                    })
                    .collect::<Vec<f32>>()
            };
        let x_shape = x.dims();
        let dx = numeric(values(x.clone()), x_shape, &|x| loss(&conv, x));
        assert_close(
            &values(x.grad(&grads).unwrap()),
            &dx,
            1e-5,
            &format!("{case:?} dx vs differences"),
        );
        let weight = conv.weight.val();
        let dw = numeric(values(weight.clone()), weight.dims(), &|w| {
            let mut bumped = conv.clone();
            bumped.weight = Param::from_tensor(w);
            loss(&bumped, x.clone())
        });
        assert_close(
            &values(weight.grad(&grads).unwrap()),
            &dw,
            1e-5,
            &format!("{case:?} dw vs differences"),
        );
    }
}

/// The weight gradient is summed over fixed runs of frames, so a pool of one thread
/// and one of two give the same bits.
#[test]
fn gradients_do_not_depend_on_the_thread_count() {
    let case = CASES[6];
    let conv = conv_for::<B>(&case);
    let x = input::<B>(&case, 11);
    let upstream = Tensor::<B, 4>::random(
        conv.forward(x.clone()).dims(),
        Distribution::Normal(0.0, 1.0),
        &Default::default(),
    );
    let gradients_on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let x = x.clone().require_grad();
            let grads = (conv3x3(&conv, x.clone()) * upstream.clone())
                .sum()
                .backward();
            let weight = conv.weight.val();
            (
                values(x.grad(&grads).unwrap()),
                values(weight.grad(&grads).unwrap()),
            )
        })
    };
    assert_eq!(gradients_on(1), gradients_on(2));
}
