//! The tokenizer's 3x3 convolutions, with their own CPU kernels.
//!
//! burn's CPU backend computes a convolution's gradients as convolutions too (the
//! weight gradient as one whose kernel is the whole output-gradient map), about four
//! times slower than its forward pass. [`kernel`] writes each 3x3 convolution, forward
//! and backward, as nine matrix products per frame.
//!
//! [`conv3x3`] takes burn's `Conv2d` module (so parameters, initialisation and
//! records stay burn's) and picks the kernel by backend: on `Flex` and
//! `Autodiff<Flex>` (what the CPU runs train on) ours, on every other backend, and
//! for shapes the kernel does not cover, burn's own `Conv2d::forward` (the choice is
//! made by type at run time: `crate::flex_kernels`).

mod flex;
pub mod kernel;

use burn::nn::conv::Conv2d;
use burn::nn::PaddingConfig2d;
use burn::tensor::{backend::Backend, Tensor};

use kernel::Geometry;

/// `conv.forward(x)` for `x` `[N, Cin, H, W]`, through [`kernel`] where the backend
/// and shape allow it.
pub fn conv3x3<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    match geometry(conv, &x) {
        Some(geometry) => {
            let weight = conv.weight.val();
            let bias = conv.bias.as_ref().expect("geometry requires a bias").val();
            match flex::try_conv(x, weight, bias, geometry) {
                Ok(y) => y,
                Err(x) => conv.forward(x),
            }
        }
        None => conv.forward(x),
    }
}

/// `x` (`[N, Cin, H, W]`) convolved with a 3x3 `weight` (`[Cout, Cin, 3, 3]`) plus
/// `bias`, stride 1, one pixel of zero padding on every side: the output keeps the
/// input's size. Through [`kernel`] on `Flex` and `Autodiff<Flex>`, elsewhere burn's
/// `conv2d`. Weights that are not autodiff leaves (a frozen network) get no gradient
/// computed.
pub fn conv3x3_same<B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Tensor<B, 1>,
) -> Tensor<B, 4> {
    let [_, channels_in, _, _] = x.dims();
    let [channels_out, weight_in, kh, kw] = weight.dims();
    assert!(
        [weight_in, kh, kw] == [channels_in, 3, 3],
        "a 3x3 weight over {channels_in} channels, got [{channels_out}, {weight_in}, {kh}, {kw}]"
    );
    let x = match kernel_geometry(&x, weight.dims(), 1, [1; 4]) {
        Some(geometry) => match flex::try_conv(x, weight.clone(), bias.clone(), geometry) {
            Ok(y) => return y,
            Err(x) => x,
        },
        None => x,
    };
    let options = burn::tensor::ops::ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
    burn::tensor::module::conv2d(x, weight, Some(bias), options)
}

/// The kernel's view of `conv` applied to `x`, when it covers it: a 3x3 kernel with
/// bias, stride 1 or 2, no dilation or groups, explicit padding, f32.
fn geometry<B: Backend>(conv: &Conv2d<B>, x: &Tensor<B, 4>) -> Option<Geometry> {
    let PaddingConfig2d::Explicit(top, left, bottom, right) = conv.padding else {
        return None;
    };
    let plain = conv.groups == 1
        && conv.dilation == [1, 1]
        && conv.stride[0] == conv.stride[1]
        && conv.bias.is_some();
    if !plain {
        return None;
    }
    kernel_geometry(
        x,
        conv.weight.dims(),
        conv.stride[0],
        [top, left, bottom, right],
    )
}

/// The kernel's view of a 3x3 `weight` (`[Cout, Cin, 3, 3]`) applied to `x` with
/// `stride` and `padding` (top, left, bottom, right), when it covers it: stride 1 or
/// 2, f32, a padded input of at least 3x3.
fn kernel_geometry<B: Backend>(
    x: &Tensor<B, 4>,
    weight: [usize; 4],
    stride: usize,
    padding: [usize; 4],
) -> Option<Geometry> {
    let [_, channels_in, height, width] = x.dims();
    let [channels_out, weight_in, kh, kw] = weight;
    let [top, left, bottom, right] = padding;
    let covered = [kh, kw] == [3, 3]
        && weight_in == channels_in
        && matches!(stride, 1 | 2)
        && x.dtype() == burn::tensor::DType::F32
        && height + top + bottom >= 3
        && width + left + right >= 3;
    covered.then_some(Geometry {
        channels_in,
        channels_out,
        height,
        width,
        stride,
        padding,
    })
}
