//! The f32 matrix-product rate the CPU backend reaches on this machine: the
//! ceiling that any model-level speed figure is measured against.

use std::time::Instant;

use burn::backend::Flex;
use burn::tensor::{Distribution, Tensor};

fn main() {
    let device = Default::default();
    // A large square product and the shapes that dominate imagination: world-model
    // projections over 8 x 64 tokens and the encoder's im2col products.
    let shapes: [(usize, usize, usize); 3] =
        [(2048, 2048, 2048), (512, 256, 1024), (8192, 576, 64)];
    for (m, k, n) in shapes {
        let a = Tensor::<Flex, 2>::random([m, k], Distribution::Normal(0.0, 1.0), &device);
        let b = Tensor::<Flex, 2>::random([k, n], Distribution::Normal(0.0, 1.0), &device);
        let flop = 2.0 * (m * k * n) as f64;
        let run = || {
            // Reading one element waits for the product on any backend.
            let _ = a
                .clone()
                .matmul(b.clone())
                .slice([0..1, 0..1])
                .into_scalar();
        };
        run();
        let repeats = (2e10 / flop).ceil().max(3.0) as usize;
        let started = Instant::now();
        for _ in 0..repeats {
            run();
        }
        let seconds = started.elapsed().as_secs_f64() / repeats as f64;
        println!(
            "{m}x{k}x{n}: {:>6.1} GFLOP/s ({repeats} products)",
            flop / seconds / 1e9
        );
    }
}
