//! The parallel form computes the spec's formula, written out here token by token
//! in f64 from the layer's own weights.

use burn::backend::Flex;
use burn::nn::Linear;
use burn::tensor::{Distribution, Tensor};
use rem_worldmodel::retention::{MultiScaleRetention, MultiScaleRetentionConfig};

type B = Flex;

const D_MODEL: usize = 8;
const HEADS: usize = 2;
const HEAD_DIM: usize = D_MODEL / HEADS;

fn to_f64<const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.into_data().convert::<f64>().to_vec::<f64>().unwrap()
}

/// y = x W + b with W stored `[d_in, d_out]`.
fn apply_linear(linear: &Linear<B>, x: &[f64]) -> Vec<f64> {
    let weight = to_f64(linear.weight.val());
    let bias = to_f64(linear.bias.as_ref().unwrap().val());
    (0..D_MODEL)
        .map(|o| {
            bias[o]
                + (0..D_MODEL)
                    .map(|i| x[i] * weight[i * D_MODEL + o])
                    .sum::<f64>()
        })
        .collect()
}

/// Rotates every interleaved pair of one head's vector to position `position`.
fn rotate(head: &[f64], position: usize) -> Vec<f64> {
    let pairs = HEAD_DIM / 2;
    let mut out = vec![0.0; HEAD_DIM];
    for i in 0..pairs {
        let theta = 10000f64.powf(-(i as f64) / (pairs - 1) as f64);
        let (sin, cos) = (position as f64 * theta).sin_cos();
        let (a, b) = (head[2 * i], head[2 * i + 1]);
        out[2 * i] = a * cos - b * sin;
        out[2 * i + 1] = b * cos + a * sin;
    }
    out
}

fn reference(layer: &MultiScaleRetention<B>, x: &[Vec<f64>], start: usize) -> Vec<Vec<f64>> {
    let gammas: [f64; HEADS] = [1.0 - 1.0 / 32.0, 1.0 - 1.0 / 512.0];
    let head = |v: &[f64], h: usize| v[h * HEAD_DIM..(h + 1) * HEAD_DIM].to_vec();
    let (mut qs, mut ks, mut vs) = (vec![], vec![], vec![]);
    for (t, token) in x.iter().enumerate() {
        let (q, k, v) = (
            apply_linear(&layer.query, token),
            apply_linear(&layer.key, token),
            apply_linear(&layer.value, token),
        );
        let rotated_q: Vec<Vec<f64>> = (0..HEADS)
            .map(|h| rotate(&head(&q, h), start + t))
            .collect();
        let scaled_k: Vec<Vec<f64>> = (0..HEADS)
            .map(|h| {
                rotate(&head(&k, h), start + t)
                    .iter()
                    .map(|e| e / (HEAD_DIM as f64).sqrt())
                    .collect()
            })
            .collect();
        qs.push(rotated_q);
        ks.push(scaled_k);
        vs.push((0..HEADS).map(|h| head(&v, h)).collect::<Vec<_>>());
    }
    (0..x.len())
        .map(|n| {
            let mut gated = Vec::with_capacity(D_MODEL);
            let gate = apply_linear(&layer.gate, &x[n]);
            for h in 0..HEADS {
                let mut retained = [0.0; HEAD_DIM];
                for m in 0..=n {
                    let score: f64 = (0..HEAD_DIM)
                        .map(|i| qs[n][h][i] * ks[m][h][i])
                        .sum::<f64>()
                        * gammas[h].powi((n - m) as i32);
                    for (r, v) in retained.iter_mut().zip(&vs[m][h]) {
                        *r += score * v;
                    }
                }
                let mean = retained.iter().sum::<f64>() / HEAD_DIM as f64;
                let var =
                    retained.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / HEAD_DIM as f64;
                for (i, r) in retained.iter().enumerate() {
                    let g = gate[h * HEAD_DIM + i];
                    gated.push((r - mean) / (var + 1e-6).sqrt() * g / (1.0 + (-g).exp()));
                }
            }
            apply_linear(&layer.out, &gated)
        })
        .collect()
}

#[test]
fn parallel_form_matches_the_written_out_formula() {
    let device = Default::default();
    let layer = MultiScaleRetentionConfig::new(D_MODEL, HEADS).init::<B>(&device);
    let time = 5;
    let x = Tensor::<B, 3>::random([1, time, D_MODEL], Distribution::Normal(0.0, 1.0), &device);
    for start in [0, 17] {
        let state = layer.zero_state(1, &device).starting_at(start);
        let (y, _) = layer.forward_parallel(x.clone(), &state);
        let y = to_f64(y);
        let rows: Vec<Vec<f64>> = to_f64(x.clone())
            .chunks(D_MODEL)
            .map(<[f64]>::to_vec)
            .collect();
        let expected: Vec<f64> = reference(&layer, &rows, start).concat();
        let diff = y
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            diff <= 1e-4,
            "start {start}: max abs diff {diff} from the formula"
        );
    }
}
