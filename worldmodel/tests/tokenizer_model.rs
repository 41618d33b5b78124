//! Structure of the VQ tokenizer: shapes, codebook, quantisation, gradients, sizes.

use burn::backend::{Autodiff, Flex};
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use rem_envs::FRAME_BYTES;
use rem_worldmodel::tokenizer::{
    frames_to_tensor, tensor_to_frames, PerceptualLoss, Tokenizer, TokenizerConfig, TokenizerError,
    VectorQuantizer,
};

type Cpu = Flex;
type Train = Autodiff<Flex>;

fn random_frames<B: burn::tensor::backend::Backend>(
    batch: usize,
    device: &B::Device,
) -> Tensor<B, 4> {
    Tensor::random([batch, 3, 64, 64], Distribution::Uniform(0.0, 1.0), device)
}

fn host<const D: usize>(t: Tensor<Cpu, D>) -> Vec<f32> {
    t.into_data().convert::<f32>().into_vec().unwrap()
}

fn host_int(t: Tensor<Cpu, 2, Int>) -> Vec<i64> {
    t.into_data().convert::<i64>().into_vec().unwrap()
}

#[test]
fn shapes_and_token_range() {
    let device = Default::default();
    let config = TokenizerConfig::tiny();
    let tokenizer: Tokenizer<Cpu> = config.init(&device);
    let frames = random_frames::<Cpu>(2, &device);

    let (tokens, z_q) = tokenizer.encode(frames.clone());
    assert_eq!(tokens.dims(), [2, 64]);
    assert_eq!(z_q.dims(), [2, config.embed_dim, 8, 8]);
    assert!(host_int(tokens.clone())
        .iter()
        .all(|&t| (0..config.vocab as i64).contains(&t)));

    assert_eq!(tokenizer.decode(z_q).dims(), [2, 3, 64, 64]);
    assert_eq!(
        tokenizer.decode_tokens(tokens.clone()).dims(),
        [2, 3, 64, 64]
    );
    assert_eq!(tokenizer.reconstruct(frames).dims(), [2, 3, 64, 64]);
    assert_eq!(
        tokenizer.embed_tokens(tokens.clone()).dims(),
        [2, 64, config.embed_dim]
    );
    assert_eq!(
        tokenizer.embed_tokens_grid(tokens).dims(),
        [2, config.embed_dim, 8, 8]
    );
    assert_eq!(config.tokens_per_frame(), 64);
    assert_eq!(TokenizerConfig::default().tokens_per_side(), 8);
}

#[test]
fn tokens_encoded_on_threads_are_the_tokens_of_one_call() {
    let device = Default::default();
    // Spec sizes: the matrix products' blocking is that of real runs.
    let tokenizer: Tokenizer<Cpu> = TokenizerConfig::default().init(&device);
    // 49 frames: two whole passes of the CPU encoder (24 frames) and one frame.
    let frames = random_frames::<Cpu>(49, &device);
    let whole = host_int(tokenizer.encode(frames.clone()).0);
    let distinct: std::collections::HashSet<_> = whole.iter().collect();
    assert!(distinct.len() > 1, "a test of one code would prove little");
    for threads in 1..=4 {
        let split = host_int(tokenizer.encode_tokens_on_threads(frames.clone(), threads));
        assert_eq!(split, whole, "{threads} threads");
    }
}

/// What a frame encodes to does not depend on the frames encoded with it, so tokens
/// kept from an earlier call (the agent's `TokenCache`, which a run keeps from epoch
/// to epoch while its tokenizer is frozen) are the tokens encoding it again would give.
#[test]
fn a_frames_encoding_does_not_depend_on_the_frames_encoded_with_it() {
    let device = Default::default();
    for config in [TokenizerConfig::default(), TokenizerConfig::tiny()] {
        let tokenizer: Tokenizer<Cpu> = config.init(&device);
        // 49 frames: two whole passes of the CPU encoder (24 frames) and one frame.
        let frames = random_frames::<Cpu>(49, &device);
        let whole = tokenizer.quantize(frames.clone());
        let (z_whole, tokens_whole) = (host(whole.z), host_int(whole.tokens));
        let z_len = z_whole.len() / 49;
        let k = tokens_whole.len() / 49;
        // One frame alone, and the last 30 frames in reverse order (other neighbours,
        // other places in the encoder's passes).
        let reversed: Vec<usize> = (19..49).rev().collect();
        for order in [vec![0], vec![24], vec![48], reversed] {
            let picked = Tensor::cat(
                order
                    .iter()
                    .map(|&i| frames.clone().narrow(0, i, 1))
                    .collect(),
                0,
            );
            let part = tokenizer.quantize(picked);
            let (z, tokens) = (host(part.z), host_int(part.tokens));
            for (row, &i) in order.iter().enumerate() {
                assert_eq!(
                    z[row * z_len..][..z_len],
                    z_whole[i * z_len..][..z_len],
                    "encoder output of frame {i}"
                );
                assert_eq!(tokens[row * k..][..k], tokens_whole[i * k..][..k]);
            }
        }
    }
}

#[test]
fn decoding_tokens_equals_decoding_the_quantised_latents() {
    let device = Default::default();
    let tokenizer: Tokenizer<Cpu> = TokenizerConfig::tiny().init(&device);
    let (tokens, z_q) = tokenizer.encode(random_frames::<Cpu>(2, &device));
    assert_close(
        &host(tokenizer.decode(z_q.clone())),
        &host(tokenizer.decode_tokens(tokens.clone())),
    );
    // The grid map of the embedded tokens is the quantised latent map (which, being
    // z + (z_q - z), differs from the codebook rows only by rounding).
    assert_close(&host(tokenizer.embed_tokens_grid(tokens)), &host(z_q));
}

fn assert_close(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    assert!(worst < 1e-5, "largest difference {worst}");
}

#[test]
fn codebook_starts_uniform_in_plus_minus_one_over_vocab() {
    let device = Default::default();
    let config = TokenizerConfig::tiny();
    let tokenizer: Tokenizer<Cpu> = config.init(&device);
    assert_eq!(
        tokenizer.codebook().dims(),
        [config.vocab, config.embed_dim]
    );
    let bound = 1.0 / config.vocab as f32;
    let values = host(tokenizer.codebook());
    assert!(
        values.iter().all(|v| v.abs() <= bound),
        "codebook value outside +-1/vocab"
    );
    // Spread over the interval, not a constant.
    let min = values.iter().cloned().fold(f32::INFINITY, f32::min);
    let max = values.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    assert!(
        min < -0.9 * bound && max > 0.9 * bound,
        "min {min} max {max}"
    );
}

/// Brute-force nearest code on the host, latents laid out `[B, D, H, W]`.
fn brute_force_tokens(
    z: &[f32],
    codebook: &[f32],
    batch: usize,
    dim: usize,
    side: usize,
) -> Vec<i64> {
    let vocab = codebook.len() / dim;
    let mut tokens = Vec::new();
    for b in 0..batch {
        for row in 0..side {
            for col in 0..side {
                let vector: Vec<f32> = (0..dim)
                    .map(|d| z[((b * dim + d) * side + row) * side + col])
                    .collect();
                let distance = |code: usize| -> f32 {
                    (0..dim)
                        .map(|d| (vector[d] - codebook[code * dim + d]).powi(2))
                        .sum()
                };
                let best = (0..vocab)
                    .min_by(|&a, &c| distance(a).total_cmp(&distance(c)))
                    .unwrap();
                tokens.push(best as i64);
            }
        }
    }
    tokens
}

#[test]
fn quantiser_picks_the_nearest_code_like_a_brute_force_search() {
    let device = Default::default();
    let (vocab, dim, side, batch) = (16, 4, 8, 3);
    let codebook = Tensor::<Cpu, 2>::random([vocab, dim], Distribution::Normal(0.0, 1.0), &device);
    let quantizer = VectorQuantizer::from_codebook(codebook.clone());
    let z = Tensor::<Cpu, 4>::random(
        [batch, dim, side, side],
        Distribution::Normal(0.0, 1.0),
        &device,
    );

    let quantized = quantizer.quantize(z.clone());
    let expected = brute_force_tokens(&host(z), &host(codebook.clone()), batch, dim, side);
    assert_eq!(host_int(quantized.tokens.clone()), expected);

    // z_q holds the chosen codebook rows at the same grid positions.
    let codebook = host(codebook);
    let z_q = host(quantized.z_q);
    for (index, &token) in expected.iter().enumerate() {
        let (b, cell) = (index / (side * side), index % (side * side));
        for d in 0..dim {
            let value = z_q[(b * dim + d) * side * side + cell];
            assert_eq!(value, codebook[token as usize * dim + d]);
        }
    }
}

#[test]
fn latents_equal_to_a_code_map_to_that_code() {
    let device = Default::default();
    let codebook = Tensor::<Cpu, 2>::random([8, 3], Distribution::Normal(0.0, 1.0), &device);
    let quantizer = VectorQuantizer::from_codebook(codebook.clone());
    // Row-major 2x4 grid using codes 7, 6, ..., 0.
    let wanted: Vec<i64> = (0..8).rev().collect();
    let ids = Tensor::<Cpu, 2, Int>::from_data(TensorData::new(wanted.clone(), [1, 8]), &device);
    let vectors = quantizer.lookup(ids); // [1, 8, 3]
    let z = vectors.reshape([1, 2, 4, 3]).permute([0, 3, 1, 2]);
    assert_eq!(host_int(quantizer.quantize(z).tokens), wanted);
}

/// Counts float parameter tensors and how many of them have a gradient.
struct GradCoverage<'a> {
    grads: &'a GradientsParams,
    params: usize,
    with_grad: usize,
}

impl ModuleVisitor<Train> for GradCoverage<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<Train, D>>) {
        self.params += 1;
        if self.grads.get::<Cpu, D>(param.id).is_some() {
            self.with_grad += 1;
        }
    }
}

#[test]
fn reconstruction_gradient_passes_straight_through_to_the_whole_encoder() {
    let device = Default::default();
    let config = TokenizerConfig {
        perceptual: PerceptualLoss::None,
        ..TokenizerConfig::tiny()
    };
    let tokenizer: Tokenizer<Train> = config.init(&device);
    let frames = random_frames::<Train>(2, &device).require_grad();

    let (_, z_q) = tokenizer.encode(frames.clone());
    let output = tokenizer.decode(z_q);
    let grads = output.powf_scalar(2.0).mean().backward();

    // The input only reaches the output through the encoder and the quantiser.
    let input_grad = frames.grad(&grads).expect("input has a gradient");
    let input_grad_norm: f32 = input_grad.abs().sum().into_scalar();
    assert!(input_grad_norm > 0.0);
    // The straight-through path leaves the codebook untouched.
    assert!(tokenizer.codebook().grad(&grads).is_none());

    let params = GradientsParams::from_grads(grads, &tokenizer);
    let mut coverage = GradCoverage {
        grads: &params,
        params: 0,
        with_grad: 0,
    };
    tokenizer.visit(&mut coverage);
    assert_eq!(
        coverage.with_grad,
        coverage.params - 1,
        "every parameter but the codebook learns"
    );
}

#[test]
fn codebook_term_trains_the_codebook_and_commitment_term_the_encoder() {
    let device = Default::default();
    let tokenizer: Tokenizer<Train> = TokenizerConfig::tiny().init(&device);
    let frames = random_frames::<Train>(2, &device).require_grad();

    let loss = tokenizer.loss(frames.clone());
    let grads = loss.codebook.backward();
    assert!(tokenizer.codebook().grad(&grads).is_some());
    assert!(
        frames.grad(&grads).is_none(),
        "codebook term must not reach the encoder"
    );

    let loss = tokenizer.loss(frames.clone());
    let grads = loss.commitment.backward();
    assert!(
        tokenizer.codebook().grad(&grads).is_none(),
        "commitment term must not move the codebook"
    );
    assert!(frames.grad(&grads).is_some());
}

#[test]
fn loss_parts_add_up_to_the_total() {
    let device = Default::default();
    for perceptual in [PerceptualLoss::None, PerceptualLoss::Gradient] {
        let tokenizer: Tokenizer<Cpu> = TokenizerConfig {
            perceptual,
            ..TokenizerConfig::tiny()
        }
        .init(&device);
        let frames = random_frames::<Cpu>(2, &device);
        let loss = tokenizer.loss(frames.clone());
        let scalar = |t: Tensor<Cpu, 1>| t.into_scalar();
        let perceptual_value = loss.perceptual.clone().map(scalar);
        assert_eq!(
            perceptual_value.is_some(),
            perceptual == PerceptualLoss::Gradient
        );
        let parts = scalar(loss.reconstruction.clone())
            + scalar(loss.codebook.clone())
            + scalar(loss.commitment.clone())
            + perceptual_value.unwrap_or(0.0);
        let total = scalar(loss.total);
        assert!(
            (total - parts).abs() < 1e-5 * total.max(1.0),
            "{total} vs {parts}"
        );

        // Reconstruction is the MSE in [-1, 1] space.
        let target = frames.mul_scalar(2.0).sub_scalar(1.0);
        let mse = scalar(
            (tokenizer.reconstruct(target.clone().add_scalar(1.0).mul_scalar(0.5)) - target)
                .powf_scalar(2.0)
                .mean(),
        );
        assert!((mse - scalar(loss.reconstruction)).abs() < 1e-5);
    }
}

#[test]
fn spec_tokenizer_has_3_189_667_parameters() {
    // Encoder 1,819,840 (conv_in 896; stages 55,488 + 221,568 + 885,504; GN 512;
    // conv 590,080; pre-quant 65,792) + decoder 1,238,755 + codebook 512 x 256 = 131,072.
    let tokenizer: Tokenizer<Cpu> = TokenizerConfig::default().init(&Default::default());
    assert_eq!(tokenizer.num_params(), 3_189_667);
    assert_eq!(tokenizer.vocab(), 512);
    assert_eq!(tokenizer.embed_dim(), 256);
}

#[test]
fn default_config_is_the_specification() {
    let config = TokenizerConfig::default();
    assert_eq!(
        (config.vocab, config.embed_dim, config.groups),
        (512, 256, 8)
    );
    assert_eq!(config.channels, vec![32, 64, 128, 256]);
    // The measured choice (README, "Tokenizer: perceptual term").
    assert_eq!(config.perceptual, PerceptualLoss::None);
}

#[test]
fn invalid_configs_are_rejected_with_a_reason() {
    let groups_do_not_divide = TokenizerConfig {
        channels: vec![8, 12, 16, 32],
        ..TokenizerConfig::tiny()
    };
    let err = groups_do_not_divide.validate().unwrap_err();
    assert!(err.to_string().contains("multiple of groups"), "{err}");
    let one_level = TokenizerConfig {
        channels: vec![8],
        ..TokenizerConfig::tiny()
    };
    let err = one_level.validate().unwrap_err();
    assert_eq!(err.model, "tokenizer");
    assert!(
        err.to_string().starts_with("invalid tokenizer config: "),
        "{err}"
    );
    assert!(TokenizerConfig::default().validate().is_ok());
    assert!(TokenizerConfig::tiny().validate().is_ok());
}

#[test]
fn frame_bytes_become_nchw_unit_floats_and_back() {
    let device = Default::default();
    let mut bytes = vec![0u8; 2 * FRAME_BYTES];
    // Frame 1, pixel (x=5, y=3): rgb = (255, 51, 0).
    let offset = FRAME_BYTES + (3 * 64 + 5) * 3;
    bytes[offset..offset + 3].copy_from_slice(&[255, 51, 0]);
    bytes[7] = 102; // frame 0, pixel (x=2, y=0), green

    let tensor = frames_to_tensor::<Cpu>(&bytes, &device).unwrap();
    assert_eq!(tensor.dims(), [2, 3, 64, 64]);
    let values = host(tensor.clone());
    let at = |b: usize, c: usize, y: usize, x: usize| values[((b * 3 + c) * 64 + y) * 64 + x];
    assert_eq!(at(1, 0, 3, 5), 1.0);
    assert!((at(1, 1, 3, 5) - 0.2).abs() < 1e-6);
    assert!((at(0, 1, 0, 2) - 0.4).abs() < 1e-6);
    let total: f32 = values.iter().sum();
    assert!((total - 1.6).abs() < 1e-5, "no other pixel is lit");

    // Decoder space [-1, 1] back to bytes.
    assert_eq!(
        tensor_to_frames(tensor.mul_scalar(2.0).sub_scalar(1.0)),
        bytes
    );
}

#[test]
fn frame_bytes_of_the_wrong_length_are_an_error() {
    let device = Default::default();
    for len in [0, FRAME_BYTES - 1, FRAME_BYTES + 3] {
        let err = frames_to_tensor::<Cpu>(&vec![0; len], &device).unwrap_err();
        assert_eq!(
            err,
            TokenizerError::FrameBytes {
                len,
                frame_bytes: FRAME_BYTES
            }
        );
    }
}
