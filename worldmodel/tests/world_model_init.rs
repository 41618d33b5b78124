//! The world model starts as the reference's does (algorithm.md, section 3): Xavier-normal
//! linears with zero biases, layers that are copies of one another, standard-normal
//! embeddings; and its retention output is dropped out, in training only.

mod common;

use std::collections::HashSet;

use burn::backend::{Autodiff, Flex};
use burn::module::{AutodiffModule, Module, ModuleVisitor, Param, ParamId};
use burn::nn::Linear;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};
use common::{own_generator, values};
use rem_worldmodel::retention::MultiScaleRetentionConfig;
use rem_worldmodel::retnet::{RetNet, RetNetConfig};
use rem_worldmodel::world_model::WorldModelConfig;
use rem_worldmodel::{dropout::Dropout, stream::with_thread_stream};

type B = Autodiff<Flex>;

fn mean_and_std(v: &[f32]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// The q, k, v, g, out and feed-forward linears of every layer, with their names.
fn linears(net: &RetNet<Flex>) -> Vec<(String, &Linear<Flex>)> {
    net.layers
        .iter()
        .enumerate()
        .flat_map(|(i, l)| {
            let r = &l.retention;
            [
                ("query", &r.query),
                ("key", &r.key),
                ("value", &r.value),
                ("gate", &r.gate),
                ("out", &r.out),
                ("ffn_in", &l.ffn_in),
                ("ffn_out", &l.ffn_out),
            ]
            .map(|(name, linear)| (format!("layer {i} {name}"), linear))
        })
        .collect()
}

#[test]
fn linears_start_xavier_normal_with_zero_biases() {
    let net: RetNet<Flex> = RetNetConfig::default().init(&Default::default());
    for (name, linear) in linears(&net) {
        let [fan_in, fan_out] = linear.weight.dims();
        let (mean, std) = mean_and_std(&values(linear.weight.val()));
        let xavier = (2.0 / (fan_in + fan_out) as f64).sqrt();
        assert!(
            (std / xavier - 1.0).abs() < 0.03 && mean.abs() < 0.05 * xavier,
            "{name} [{fan_in}, {fan_out}]: mean {mean:.5}, std {std:.5}, Xavier-normal std {xavier:.5}"
        );
        let bias = values(linear.bias.as_ref().expect("a bias").val());
        assert!(bias.iter().all(|&b| b == 0.0), "{name}: bias not zero");
    }
}

/// Every float parameter's id and values, in visiting order.
#[derive(Default)]
struct Params(Vec<(ParamId, Vec<f32>)>);

impl ModuleVisitor<Flex> for Params {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<Flex, D>>) {
        self.0.push((param.id, values(param.val())));
    }
}

#[test]
fn layers_start_as_copies_with_parameters_of_their_own() {
    let net: RetNet<Flex> = RetNetConfig::default().init(&Default::default());
    let per_layer: Vec<Params> = net
        .layers
        .iter()
        .map(|layer| {
            let mut params = Params::default();
            layer.visit(&mut params);
            params
        })
        .collect();
    for (i, layer) in per_layer.iter().enumerate().skip(1) {
        for ((_, first), (_, other)) in per_layer[0].0.iter().zip(&layer.0) {
            assert_eq!(
                first, other,
                "layer {i} does not start as a copy of layer 0"
            );
        }
    }
    // The optimiser keys its state by parameter id: copies must not share them.
    let ids: HashSet<ParamId> = per_layer
        .iter()
        .flat_map(|p| p.0.iter().map(|(id, _)| *id))
        .collect();
    let count: usize = per_layer.iter().map(|p| p.0.len()).sum();
    assert_eq!(ids.len(), count, "layers share parameter ids");
}

#[test]
fn prediction_tokens_and_action_embeddings_are_standard_normal() {
    let model = WorldModelConfig::spec(18).init::<Flex>(&Default::default());
    for (name, table) in [
        ("prediction tokens", model.prediction_tokens.val()),
        ("action embeddings", model.action_embedding.weight.val()),
    ] {
        let (mean, std) = mean_and_std(&values(table));
        assert!(
            (std - 1.0).abs() < 0.05 && mean.abs() < 0.05,
            "{name}: mean {mean:.4}, std {std:.4}, want N(0, 1)"
        );
    }
}

#[test]
fn retention_output_is_dropped_out_in_training_only() {
    let _generator = own_generator();
    let device = Default::default();
    <B as Backend>::seed(&device, 5);
    let layer = MultiScaleRetentionConfig::new(16, 2)
        .with_dropout(0.5)
        .init::<B>(&device);
    let x = Tensor::<B, 3>::random([2, 6, 16], Distribution::Normal(0.0, 1.0), &device);
    let state = layer.zero_state(2, &device);
    let run = |l: &rem_worldmodel::retention::MultiScaleRetention<B>| {
        with_thread_stream(1, || {
            values(l.forward_parallel(x.clone(), &state).0.inner())
        })
    };
    // A run materialises the lazily initialised weights, so the copy shares them.
    let trained = run(&layer);
    let mut without = layer.clone();
    without.dropout = Dropout::new(0.0);
    let plain = run(&without);
    let differing = plain
        .iter()
        .zip(&trained)
        .filter(|(a, b)| (*a - *b).abs() > 1e-5)
        .count();
    assert!(
        differing > plain.len() / 4,
        "dropout 0.5 on the retention output changed only {differing} of {} outputs",
        plain.len()
    );
    // Without autodiff (acting, imagination) the layer is deterministic and equals the
    // one without dropout.
    let inference = layer.valid();
    let x_inner = x.clone().inner();
    let evaluated = values(
        inference
            .forward_parallel(x_inner.clone(), &inference.zero_state(2, &device))
            .0,
    );
    for (a, b) in plain.iter().zip(&evaluated) {
        assert!(
            (a - b).abs() < 1e-5,
            "inference output {b} differs from {a}"
        );
    }
}

#[test]
fn the_stack_passes_its_dropout_to_retention() {
    let net: RetNet<Flex> = RetNetConfig::default().init(&Default::default());
    assert!(net.layers.iter().all(|l| l.retention.dropout.prob == 0.1));
}
