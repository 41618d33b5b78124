//! The tokenizer's 3x3 convolutions at the spec's sizes, forward and backward on the
//! CPU backend: `rem_worldmodel::conv::conv3x3` (our kernels) against burn's own
//! `Conv2d::forward` on the same module and input, alternating, fastest run of each.
//!
//! Knobs: `REM_BENCH_FRAMES` (frames per call, 128: the spec's tokenizer batch),
//! `REM_BENCH_REPEATS` (runs per side, 3).

use std::time::Instant;

use burn::backend::{Autodiff, Flex};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::PaddingConfig2d;
use burn::tensor::{Distribution, Tensor};
use rem_benches::env_usize;
use rem_worldmodel::conv::conv3x3;

type B = Autodiff<Flex>;

/// `(channels in, channels out, side, stride)` of every 3x3 convolution of the spec's
/// encoder and decoder, in the order a frame meets them.
const LAYERS: [(usize, usize, usize, usize); 12] = [
    (3, 32, 64, 1),
    (32, 64, 64, 2),
    (64, 64, 32, 1),
    (64, 128, 32, 2),
    (128, 128, 16, 1),
    (128, 256, 16, 2),
    (256, 256, 8, 1),
    (256, 128, 16, 1),
    (128, 64, 32, 1),
    (64, 32, 64, 1),
    (32, 32, 64, 1),
    (32, 3, 64, 1),
];

/// Seconds of the forward pass and of the backward pass (every gradient).
fn time_once(conv: &Conv2d<B>, x: &Tensor<B, 4>, ours: bool) -> (f64, f64) {
    let x = x.clone().require_grad();
    let started = Instant::now();
    let y = if ours {
        conv3x3(conv, x.clone())
    } else {
        conv.forward(x.clone())
    };
    let forward = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let grads = y.sum().backward();
    let dx = x.grad(&grads).expect("the input is tracked");
    let _ = dx.slice([0..1, 0..1, 0..1, 0..1]).into_scalar();
    (forward, started.elapsed().as_secs_f64())
}

fn main() {
    let frames = env_usize("REM_BENCH_FRAMES", 128);
    let repeats = env_usize("REM_BENCH_REPEATS", 3).max(1);
    let device = Default::default();
    println!("3x3 convolutions, {frames} frames, fastest of {repeats} runs a side");
    println!("layer                    burn fwd  burn bwd   ours fwd  ours bwd  speed-up");
    let (mut burn_total, mut ours_total) = (0.0, 0.0);
    for (cin, cout, side, stride) in LAYERS {
        let padding = match stride {
            1 => PaddingConfig2d::Explicit(1, 1, 1, 1),
            _ => PaddingConfig2d::Explicit(0, 0, 1, 1),
        };
        let conv = Conv2dConfig::new([cin, cout], [3, 3])
            .with_stride([stride, stride])
            .with_padding(padding)
            .init::<B>(&device);
        let x = Tensor::<B, 4>::random(
            [frames, cin, side, side],
            Distribution::Normal(0.0, 1.0),
            &device,
        );
        let (mut burn, mut ours) = ((f64::MAX, f64::MAX), (f64::MAX, f64::MAX));
        for _ in 0..repeats {
            let b = time_once(&conv, &x, false);
            let o = time_once(&conv, &x, true);
            burn = (burn.0.min(b.0), burn.1.min(b.1));
            ours = (ours.0.min(o.0), ours.1.min(o.1));
        }
        let (b, o) = (burn.0 + burn.1, ours.0 + ours.1);
        burn_total += b;
        ours_total += o;
        println!(
            "{cin:>3}->{cout:<3} {side:>2}x{side:<2} stride {stride}  {:>8.4}  {:>8.4}   {:>8.4}  {:>8.4}  {:>7.2}x",
            burn.0,
            burn.1,
            ours.0,
            ours.1,
            b / o
        );
    }
    println!(
        "all layers, forward + backward: burn {burn_total:.3} s, ours {ours_total:.3} s, {:.2}x",
        burn_total / ours_total
    );
}
