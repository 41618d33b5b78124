//! What the world model's tests share: reading a tensor back and comparing it with a
//! reference.
#![allow(dead_code)] // each test binary uses its own part

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// The values of a tensor as f32.
pub fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().convert::<f32>().to_vec::<f32>().unwrap()
}

/// Asserts `|ours - reference| <= tolerance * max(1, max |reference|)` elementwise.
pub fn assert_close(ours: &[f32], reference: &[f32], tolerance: f32, what: &str) {
    assert_eq!(ours.len(), reference.len(), "{what}: lengths");
    let scale = reference.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    for (i, (a, r)) in ours.iter().zip(reference).enumerate() {
        assert!(
            (a - r).abs() <= tolerance * scale,
            "{what}[{i}]: ours {a}, reference {r} (scale {scale})"
        );
    }
}
