//! Optimisation of the VQ tokenizer: the training step, gradient clipping, learning.

use burn::backend::{Autodiff, Flex};
use burn::module::{ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Distribution, Tensor};
use rem_envs::{Frame, FRAME_BYTES};
use rem_worldmodel::optim::clip_grad_norm;
use rem_worldmodel::tokenizer::{
    restart_unused_codes, PerceptualLoss, Tokenizer, TokenizerConfig, TokenizerError,
    TokenizerTrainer, TokenizerTrainerConfig,
};

type Cpu = Flex;
type Train = Autodiff<Flex>;

/// Frames with a few coloured rectangles on a dark background, different per index.
fn rectangle_frames(count: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(count * FRAME_BYTES);
    for i in 0..count as i32 {
        let mut frame = Frame::black();
        frame.fill_rect(0, 56, 64, 64, [40, 40, 160]);
        frame.fill_rect(4 + 9 * i, 10, 20 + 9 * i, 18, [220, 60, 30]);
        frame.fill_rect(30, 20 + 7 * i, 38, 28 + 7 * i, [240, 240, 240]);
        bytes.extend_from_slice(frame.as_bytes());
    }
    bytes
}

/// L2 norm of all gradients of `module` together.
struct GlobalNorm<'a> {
    grads: &'a GradientsParams,
    sum: f32,
}

impl ModuleVisitor<Train> for GlobalNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<Train, D>>) {
        if let Some(grad) = self.grads.get::<Cpu, D>(param.id) {
            self.sum += grad.powf_scalar(2.0).sum().into_scalar();
        }
    }
}

fn global_norm(module: &Tokenizer<Train>, grads: &GradientsParams) -> f32 {
    let mut norm = GlobalNorm { grads, sum: 0.0 };
    burn::module::Module::visit(module, &mut norm);
    norm.sum.sqrt()
}

fn gradients(tokenizer: &Tokenizer<Train>) -> GradientsParams {
    let frames = Tensor::<Train, 4>::random(
        [2, 3, 64, 64],
        Distribution::Uniform(0.0, 1.0),
        &Default::default(),
    );
    GradientsParams::from_grads(tokenizer.loss(frames).total.backward(), tokenizer)
}

#[test]
fn clipping_scales_the_global_norm_down_to_the_limit() {
    let tokenizer: Tokenizer<Train> = TokenizerConfig::tiny().init(&Default::default());
    let grads = gradients(&tokenizer);
    let before = global_norm(&tokenizer, &grads);
    assert!(before > 0.0);

    let limit = before / 4.0;
    let (clipped, reported) = clip_grad_norm(&tokenizer, grads, limit);
    let reported: f32 = reported.into_scalar();
    assert!(
        (reported - before).abs() <= 1e-4 * before,
        "reported {reported}, measured {before}"
    );
    let after = global_norm(&tokenizer, &clipped);
    assert!(
        (after - limit).abs() <= 1e-4 * limit,
        "clipped norm {after}, limit {limit}"
    );
}

#[test]
fn clipping_leaves_gradients_under_the_limit_unchanged() {
    let tokenizer: Tokenizer<Train> = TokenizerConfig::tiny().init(&Default::default());
    let grads = gradients(&tokenizer);
    let before = global_norm(&tokenizer, &grads);
    let (clipped, _) = clip_grad_norm(&tokenizer, grads, before * 2.0);
    let after = global_norm(&tokenizer, &clipped);
    assert!(
        (after - before).abs() <= 1e-5 * before,
        "{after} vs {before}"
    );
}

#[test]
fn trainer_defaults_follow_the_reference_schedule() {
    let config = TokenizerTrainerConfig::default();
    assert_eq!(config.learning_rate, 1e-4);
    assert_eq!(config.weight_decay, 0.01);
    assert_eq!(config.max_grad_norm, 10.0);
}

#[test]
fn trainer_rejects_malformed_frame_bytes() {
    let tokenizer: Tokenizer<Train> = TokenizerConfig::tiny().init(&Default::default());
    let mut trainer = TokenizerTrainer::<Train>::new(TokenizerTrainerConfig::default());
    let result = trainer.step(tokenizer, &[0u8; 100], 0);
    assert!(matches!(
        result,
        Err(TokenizerError::FrameBytes { len: 100, .. })
    ));
}

#[test]
fn reconstruction_improves_over_thirty_steps_on_a_fixed_batch() {
    let frames = rectangle_frames(2);
    // Narrower than `tiny` so that thirty steps stay fast on a CPU.
    let config = TokenizerConfig {
        vocab: 32,
        embed_dim: 16,
        channels: vec![4, 8, 16, 32],
        groups: 4,
        perceptual: PerceptualLoss::None,
        ..TokenizerConfig::default()
    };
    let mut tokenizer: Tokenizer<Train> = config.init(&Default::default());
    let mut trainer = TokenizerTrainer::<Train>::new(TokenizerTrainerConfig {
        learning_rate: 3e-3,
        ..Default::default()
    });
    let mut history = Vec::new();
    for _ in 0..30 {
        let (next, stats) = trainer.step(tokenizer, &frames, 0).expect("valid frames");
        tokenizer = next;
        assert!(stats.total.is_finite() && stats.grad_norm.is_finite());
        history.push(stats);
    }
    let first = history[0];
    let last = history.last().unwrap();
    assert!(
        last.reconstruction < 0.5 * first.reconstruction,
        "{} -> {}",
        first.reconstruction,
        last.reconstruction
    );
    assert!(
        last.total < first.total,
        "{} -> {}",
        first.total,
        last.total
    );
}

#[test]
fn a_batch_split_over_threads_has_the_whole_batchs_loss_and_gradient_norm() {
    let tokenizer: Tokenizer<Train> = TokenizerConfig::tiny().init(&Default::default());
    let frames = rectangle_frames(5);
    // The loss materialises the lazily initialised parameters, so the clones share them.
    let _ = tokenizer.loss(
        rem_worldmodel::tokenizer::frames_to_tensor::<Train>(&frames, &Default::default()).unwrap(),
    );
    let step = |threads| {
        let config = TokenizerTrainerConfig {
            threads,
            ..Default::default()
        };
        let mut trainer = TokenizerTrainer::<Train>::new(config);
        trainer
            .step(tokenizer.clone(), &frames, 0)
            .expect("valid frames")
            .1
    };
    // Five frames over three threads: shares of 2, 2 and 1.
    let (whole, split) = (step(1), step(3));
    for (name, a, b) in [
        ("total", whole.total, split.total),
        ("reconstruction", whole.reconstruction, split.reconstruction),
        ("codebook", whole.codebook, split.codebook),
        ("commitment", whole.commitment, split.commitment),
        ("gradient norm", whole.grad_norm, split.grad_norm),
    ] {
        assert!(
            (a - b).abs() <= 1e-5 * a.abs(),
            "{name}: {a} whole, {b} split"
        );
    }
    assert_eq!(split, step(3), "a split step repeats exactly");
}

/// The encoder outputs of `frames` as rows `[N, D]`, and each row's squared distance
/// to the nearest row of `codebook`.
fn outputs_and_misfits(
    tokenizer: &Tokenizer<Train>,
    frames: Tensor<Train, 4>,
    codebook: &[f32],
) -> (Vec<Vec<f32>>, Vec<f32>) {
    let z = tokenizer.quantize(frames).z;
    let [batch, dim, height, width] = z.dims();
    let values: Vec<f32> = z
        .permute([0, 2, 3, 1])
        .reshape([batch * height * width, dim])
        .into_data()
        .to_vec()
        .unwrap();
    let rows: Vec<Vec<f32>> = values.chunks(dim).map(<[f32]>::to_vec).collect();
    let misfits = rows
        .iter()
        .map(|row| {
            codebook
                .chunks(dim)
                .map(|code| row.iter().zip(code).map(|(a, b)| (a - b) * (a - b)).sum())
                .fold(f32::INFINITY, f32::min)
        })
        .collect();
    (rows, misfits)
}

#[test]
fn unused_codes_move_onto_the_outputs_their_codes_fit_worst() {
    let device = Default::default();
    let tokenizer: Tokenizer<Train> = TokenizerConfig::tiny().init(&device);
    let frames =
        rem_worldmodel::tokenizer::frames_to_tensor::<Train>(&rectangle_frames(3), &device)
            .unwrap();
    let (vocab, dim) = (tokenizer.vocab(), tokenizer.embed_dim());
    // Codes 0-3 on four distinct outputs, so each is chosen whatever the initial draw;
    // every other code far away, where nothing chooses it.
    let mut codes: Vec<f32> = tokenizer.codebook().into_data().to_vec().unwrap();
    let (all_outputs, _) = outputs_and_misfits(&tokenizer, frames.clone(), &codes);
    let mut distinct: Vec<&Vec<f32>> = Vec::new();
    for output in &all_outputs {
        if distinct.len() < 4 && !distinct.contains(&output) {
            distinct.push(output);
        }
    }
    assert_eq!(distinct.len(), 4, "the frames give four distinct outputs");
    for (code, output) in distinct.into_iter().enumerate() {
        codes[code * dim..(code + 1) * dim].copy_from_slice(output);
    }
    for value in &mut codes[4 * dim..] {
        *value += 1e3;
    }
    let codebook = Tensor::from_data(
        burn::tensor::TensorData::new(codes.clone(), [vocab, dim]),
        &device,
    );
    let tokenizer = tokenizer.with_codebook(codebook);
    let (outputs, misfits) = outputs_and_misfits(&tokenizer, frames.clone(), &codes[..4 * dim]);
    let mut worst_first: Vec<usize> = (0..outputs.len()).collect();
    worst_first.sort_by(|&a, &b| misfits[b].total_cmp(&misfits[a]));

    let (restarted, moved) = restart_unused_codes(tokenizer, frames.clone());
    assert_eq!(moved, vocab - 4);
    let after: Vec<f32> = restarted.codebook().into_data().to_vec().unwrap();
    assert_eq!(after[..4 * dim], codes[..4 * dim], "used codes stay");
    // Code 4 + k sits on an output whose misfit is the k-th largest (up to rounding:
    // outputs of near-equal misfit may come in either order).
    for (code, &kth) in (4..vocab).zip(&worst_first) {
        let row = &after[code * dim..(code + 1) * dim];
        let output = outputs.iter().position(|o| o[..] == *row);
        let output = output.unwrap_or_else(|| panic!("code {code} is no encoder output"));
        let (got, want) = (misfits[output], misfits[kth]);
        assert!(
            (got - want).abs() <= 1e-4 * want.max(1.0),
            "code {code}: misfit {got}, the {}-th largest is {want}",
            code - 3
        );
    }
    // On the same frames the moved codes are chosen, and nothing is left to move.
    let (_, moved_again) = restart_unused_codes(restarted, frames);
    assert!(moved_again < vocab - 4, "{moved_again} codes still unused");
}
