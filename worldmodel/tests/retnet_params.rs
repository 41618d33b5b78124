//! Size of the RetNet stack.

use burn::backend::Flex;
use burn::module::Module;
use rem_worldmodel::retnet::{RetNet, RetNetConfig};

/// Parameters of the stack counted from its description: per layer five d x d
/// linears with bias (q, k, v, g, out), two LayerNorms with scale and shift, and the
/// feed-forward d -> ffn -> d with biases.
fn described_count(config: &RetNetConfig) -> usize {
    let d = config.d_model;
    let retention = 5 * (d * d + d);
    let norms = 2 * 2 * d;
    let ffn = d * config.ffn + config.ffn + config.ffn * d + d;
    config.n_layers * (retention + norms + ffn)
}

#[test]
fn spec_stack_has_the_described_parameter_count() {
    let config = RetNetConfig::default();
    assert_eq!(
        (
            config.n_layers,
            config.d_model,
            config.n_heads,
            config.ffn,
            config.dropout
        ),
        (5, 256, 4, 1024, 0.1)
    );
    let net: RetNet<Flex> = config.init(&Default::default());
    let count = net.num_params();
    println!("RetNet stack of the spec config: {count} parameters");
    assert_eq!(count, described_count(&config));
}

#[test]
fn bad_stack_configs_are_reported() {
    let spec = RetNetConfig::default();
    assert!(spec.validate().is_ok());
    assert!(RetNetConfig {
        n_layers: 0,
        ..spec
    }
    .validate()
    .is_err());
    assert!(RetNetConfig {
        dropout: 1.0,
        ..spec
    }
    .validate()
    .is_err());
    assert!(RetNetConfig { n_heads: 3, ..spec }.validate().is_err());
}
