//! The 3x3 convolution kernels (`rem_worldmodel::conv`) against burn's own `Conv2d`
//! (forward and autodiff gradients) and against central finite differences, for the
//! strides and paddings the tokenizer uses and a few it does not.

mod common;

use burn::backend::{Autodiff, Flex};
use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::PaddingConfig2d;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use common::{assert_close, on_threads, values, Draws};
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

/// burn's `Conv2d` for a case, with weights and a bias from `draws` (the bias is not
/// the initialiser's zero, so that its gradient and value matter).
fn conv_for<Bk: Backend>(case: &Case, draws: &mut Draws) -> Conv2d<Bk> {
    let &(cin, cout, _, _, stride, [top, left, bottom, right]) = case;
    let mut conv = Conv2dConfig::new([cin, cout], [3, 3])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(top, left, bottom, right))
        .init::<Bk>(&Default::default());
    let fan_in = (9 * cin) as f64;
    conv.weight = Param::from_tensor(draws.normal([cout, cin, 3, 3], 0.0, fan_in.powf(-0.5)));
    conv.bias = Some(Param::from_tensor(draws.normal([cout], 0.0, 1.0)));
    conv
}

fn input<Bk: Backend>(case: &Case, frames: usize, draws: &mut Draws) -> Tensor<Bk, 4> {
    let &(cin, _, h, w, _, _) = case;
    draws.normal([frames, cin, h, w], 0.0, 1.0)
}

#[test]
fn kernel_convolution_matches_burns_forward_and_gradients() {
    let mut draws = Draws::new(1);
    for case in &CASES {
        let conv = conv_for::<B>(case, &mut draws);
        let x = input::<B>(case, 5, &mut draws).require_grad();
        let ours = conv3x3(&conv, x.clone());
        let reference = conv.forward(x.clone());
        assert_eq!(ours.dims(), reference.dims(), "{case:?}: output shape");
        let upstream = draws.normal::<B, 4>(ours.dims(), 0.0, 1.0);
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
    let mut draws = Draws::new(2);
    for case in &CASES {
        let conv = conv_for::<Flex>(case, &mut draws);
        let x = input::<Flex>(case, 3, &mut draws);
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
/// `L = sum(y * r)` is exact but for rounding, even for a large step. `L` is summed in
/// f64 from the kernel's f32 outputs: every output a bump does not reach is the same
/// bits in both evaluations and cancels exactly, so the difference carries only the
/// rounding of the outputs the bump reaches. (Summed in f32, the rounding of the whole
/// sum, ~1e-7 of sum |y * r|, would land in every difference.)
#[test]
fn kernel_gradients_match_central_differences() {
    const STEP: f32 = 0.5;
    let mut draws = Draws::new(3);
    for case in [CASES[0], CASES[1]] {
        let conv = conv_for::<B>(&case, &mut draws);
        let x = input::<B>(&case, 2, &mut draws).require_grad();
        let y = conv3x3(&conv, x.clone());
        let r = draws.normal::<B, 4>(y.dims(), 0.0, 1.0);
        let grads = (y * r.clone()).sum().backward();
        let r = values(r);
        let loss = |conv: &Conv2d<B>, x: Tensor<B, 4>| -> f64 {
            let y = values(conv3x3(conv, x));
            y.iter().zip(&r).map(|(&y, &r)| y as f64 * r as f64).sum()
        };
        let numeric =
            |values_of: Vec<f32>, shape: [usize; 4], rebuild: &dyn Fn(Tensor<B, 4>) -> f64| {
                (0..values_of.len())
                    .map(|i| {
                        let bump = |sign: f32| {
                            let mut v = values_of.clone();
                            v[i] += sign * STEP;
                            rebuild(Tensor::from_data(
                                TensorData::new(v, shape),
                                &Default::default(),
                            ))
                        };
                        ((bump(1.0) - bump(-1.0)) / (2.0 * STEP as f64)) as f32
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
    let mut draws = Draws::new(4);
    let case = CASES[6];
    let conv = conv_for::<B>(&case, &mut draws);
    let x = input::<B>(&case, 11, &mut draws);
    let upstream = draws.normal::<B, 4>(conv.forward(x.clone()).dims(), 0.0, 1.0);
    let gradients_on = |threads: usize| {
        on_threads(threads, || {
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
