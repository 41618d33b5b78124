//! LPIPS against the reference code: the distances and input gradients that the LPIPS
//! authors' package computes with the same weights (`scripts/lpips_reference.py`
//! wrote `tests/fixtures/lpips/`). Needs the weights (`python3
//! scripts/lpips_weights.py`, which `.ci/run` runs); without them the tests say
//! SKIPPED and pass.

use std::path::{Path, PathBuf};

use burn::backend::{Autodiff, Flex};
use burn::module::Module;
use burn::tensor::{Tensor, TensorData};
use rem_worldmodel::stream::with_thread_stream;
use rem_worldmodel::tokenizer::{
    LpipsError, LpipsWeights, PerceptualLoss, TokenizerConfig, DEFAULT_LPIPS_WEIGHTS,
};

type Eval = Flex;
type Train = Autodiff<Flex>;

fn fixture(name: &str) -> (Vec<f32>, Vec<usize>) {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/lpips/{name}.npy"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let npy = npyz::NpyFile::new(&bytes[..]).expect("an .npy file");
    let shape = npy.shape().iter().map(|&d| d as usize).collect();
    (npy.into_vec::<f32>().expect("f32 values"), shape)
}

fn tensor<B: burn::tensor::backend::Backend>(name: &str) -> Tensor<B, 4> {
    let (values, shape) = fixture(name);
    Tensor::from_data(TensorData::new(values, shape), &Default::default())
}

fn weights_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(DEFAULT_LPIPS_WEIGHTS)
}

/// The weights, or `None` after saying SKIPPED.
fn weights(test: &str) -> Option<std::sync::Arc<LpipsWeights>> {
    let path = weights_path();
    if !path.exists() {
        eprintln!(
            "SKIPPED: no LPIPS weights at {} ({test}; python3 scripts/lpips_weights.py)",
            path.display()
        );
        return None;
    }
    Some(LpipsWeights::shared(&path).expect("readable weights"))
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

/// `d(sum of the distances) / dy` without dropout, on the autodiff backend.
fn gradient_of_y(weights: &LpipsWeights) -> Vec<f32> {
    let y = tensor::<Train>("y").require_grad();
    let grads = weights
        .distance(tensor::<Train>("x"), y.clone())
        .sum()
        .backward();
    let gradient = y.grad(&grads).expect("y is a leaf");
    gradient.into_data().to_vec::<f32>().unwrap()
}

#[test]
fn distances_and_gradients_are_the_reference_packages() {
    let Some(weights) = weights("distances_and_gradients_are_the_reference_packages") else {
        return;
    };
    let (expected, _) = fixture("distance");
    let distance = weights.distance(tensor::<Eval>("x"), tensor::<Eval>("y"));
    let ours = distance.into_data().to_vec::<f32>().unwrap();
    println!("distances: ours {ours:?}, reference {expected:?}");
    assert!(
        max_abs_diff(&ours, &expected) < 1e-5,
        "{ours:?} vs {expected:?}"
    );

    let (expected_grad, _) = fixture("grad_y");
    let gradient = gradient_of_y(&weights);
    let scale = expected_grad.iter().fold(0.0f32, |m, g| m.max(g.abs()));
    let error = max_abs_diff(&gradient, &expected_grad);
    println!("gradient of y: largest |reference| {scale:.3e}, largest difference {error:.3e}");
    assert!(
        error < 1e-4 * scale,
        "gradient differs by {error} (scale {scale})"
    );
}

#[test]
fn training_dropout_keeps_the_distance_in_expectation() {
    let Some(weights) = weights("training_dropout_keeps_the_distance_in_expectation") else {
        return;
    };
    let (eval, _) = fixture("distance");
    let draws: Vec<Vec<f32>> = (0..24)
        .map(|seed| {
            with_thread_stream(seed, || {
                let d = weights.training_distance(tensor::<Train>("x"), tensor::<Train>("y"));
                d.into_data().to_vec::<f32>().unwrap()
            })
        })
        .collect();
    for frame in 0..eval.len() {
        let values: Vec<f32> = draws.iter().map(|d| d[frame]).collect();
        let mean = values.iter().sum::<f32>() / values.len() as f32;
        let spread = values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / values.len() as f32;
        let standard_error = (spread / values.len() as f32).sqrt();
        println!(
            "frame {frame}: eval {:.5}, training mean {mean:.5} +- {standard_error:.5} over {} masks",
            eval[frame],
            values.len()
        );
        assert!(spread > 0.0, "dropout changes the distance");
        assert!(
            (mean - eval[frame]).abs() < 4.0 * standard_error,
            "training mean {mean} vs eval {}",
            eval[frame]
        );
    }
    // The same stream seed draws the same masks.
    let again = with_thread_stream(0, || {
        let d = weights.training_distance(tensor::<Train>("x"), tensor::<Train>("y"));
        d.into_data().to_vec::<f32>().unwrap()
    });
    assert_eq!(again, draws[0]);
}

#[test]
fn missing_or_wrong_weights_say_how_to_fetch_them() {
    let missing = Path::new("no/such/lpips.safetensors");
    let err = LpipsWeights::load(missing).unwrap_err();
    assert!(matches!(err, LpipsError::Unreadable { .. }));
    assert!(
        err.to_string().contains("scripts/lpips_weights.py"),
        "{err}"
    );

    let config = TokenizerConfig {
        perceptual: PerceptualLoss::Lpips,
        lpips_weights: missing.to_owned(),
        ..TokenizerConfig::tiny()
    };
    config
        .validate()
        .expect("the sizes are valid: the file is read for training");
    // A tokenizer without its weights still encodes and decodes (evaluation).
    let tokenizer = config.init::<Eval>(&Default::default());
    let frames = (tensor::<Eval>("y") + 1.0) / 2.0;
    assert_eq!(tokenizer.reconstruct(frames).dims(), [2, 3, 64, 64]);
    let err = config.check_training().unwrap_err().to_string();
    assert!(err.contains("scripts/lpips_weights.py"), "{err}");

    let not_safetensors =
        std::env::temp_dir().join(format!("rem-lpips-{}.bin", std::process::id()));
    std::fs::write(&not_safetensors, b"not a safetensors file").unwrap();
    let err = LpipsWeights::load(&not_safetensors).unwrap_err();
    std::fs::remove_file(&not_safetensors).unwrap();
    assert!(matches!(err, LpipsError::Unreadable { .. }), "{err}");
}

#[test]
fn a_tokenizer_with_lpips_trains_and_reports_the_term() {
    let Some(_) = weights("a_tokenizer_with_lpips_trains_and_reports_the_term") else {
        return;
    };
    use rem_worldmodel::tokenizer::{TokenizerTrainer, TokenizerTrainerConfig};
    let config = TokenizerConfig {
        perceptual: PerceptualLoss::Lpips,
        lpips_weights: weights_path(),
        ..TokenizerConfig::tiny()
    };
    config.check_training().expect("weights present");
    let tokenizer = config.init::<Train>(&Default::default());
    // Parameters are drawn when first read: read them once, so that both steps below
    // start from the same ones.
    let tokenizer = tokenizer.clone().load_record(tokenizer.into_record());
    let frames = (tensor::<Train>("y") + 1.0) / 2.0;
    let mut trainer = TokenizerTrainer::new(TokenizerTrainerConfig {
        threads: 2,
        ..Default::default()
    });
    let (_, first) = trainer.step_tensor(tokenizer.clone(), frames.clone(), 7);
    let perceptual = first.perceptual.expect("the LPIPS term is reported");
    assert!(perceptual > 0.0 && perceptual.is_finite(), "{perceptual}");
    let total = first.reconstruction + first.codebook + first.commitment + perceptual;
    assert!((first.total - total).abs() < 1e-4 * total, "{first:?}");
    // Reproducible from the dropout seed, over two threads.
    let mut again = TokenizerTrainer::new(trainer.config().clone());
    let (_, second) = again.step_tensor(tokenizer, frames, 7);
    assert_eq!(first, second);
}
