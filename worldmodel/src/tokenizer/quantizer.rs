//! Vector quantiser: nearest codebook vector by L2 distance, straight-through gradient.

use burn::module::{Initializer, Module, Param};
use burn::nn::{Embedding, EmbeddingConfig};
use burn::tensor::{backend::Backend, Int, Tensor};

/// The result of quantising a batch of latent grids.
#[derive(Debug, Clone)]
pub struct Quantized<B: Backend> {
    /// Code indices, `[B, side * side]`, row-major over the grid.
    pub tokens: Tensor<B, 2, Int>,
    /// The encoder output before quantisation, `[B, D, side, side]`.
    pub z: Tensor<B, 4>,
    /// The chosen codebook vectors, `[B, D, side, side]` (gradient flows to the codebook).
    pub z_q: Tensor<B, 4>,
    /// Equal to `z_q` in value; its gradient flows to `z` (the encoder) unchanged.
    pub z_straight_through: Tensor<B, 4>,
}

#[derive(Module, Debug)]
pub struct VectorQuantizer<B: Backend> {
    codebook: Embedding<B>,
}

impl<B: Backend> VectorQuantizer<B> {
    /// Codebook of `vocab` vectors of size `embed_dim`, drawn uniformly from
    /// (-1/vocab, 1/vocab) as in the reference.
    pub fn new(vocab: usize, embed_dim: usize, device: &B::Device) -> Self {
        let bound = 1.0 / vocab as f64;
        let codebook = EmbeddingConfig::new(vocab, embed_dim)
            .with_initializer(Initializer::Uniform {
                min: -bound,
                max: bound,
            })
            .init(device);
        Self { codebook }
    }

    /// A quantiser with the given `[vocab, embed_dim]` codebook (trainable).
    pub fn from_codebook(codebook: Tensor<B, 2>) -> Self {
        let [vocab, embed_dim] = codebook.dims();
        let device = codebook.device();
        let mut embedding = EmbeddingConfig::new(vocab, embed_dim).init(&device);
        embedding.weight = Param::from_tensor(codebook);
        Self {
            codebook: embedding,
        }
    }

    /// The quantiser with `codebook` (`[vocab, embed_dim]`) in place of its own, as
    /// the same parameter (an optimiser keeps its state for it).
    pub fn with_codebook(mut self, codebook: Tensor<B, 2>) -> Self {
        assert_eq!(codebook.dims(), self.codebook().dims(), "codebook shape");
        self.codebook.weight = self.codebook.weight.map(|_| codebook.require_grad());
        self
    }

    /// The codebook matrix, `[vocab, embed_dim]`.
    pub fn codebook(&self) -> Tensor<B, 2> {
        self.codebook.weight.val()
    }

    /// The codebook as the parameter an optimiser knows it by.
    pub fn codebook_param(&self) -> &Param<Tensor<B, 2>> {
        &self.codebook.weight
    }

    /// Nearest code index for each row of `flat` (`[N, D]`), as `[N]`.
    pub fn nearest_codes(&self, flat: Tensor<B, 2>) -> Tensor<B, 1, Int> {
        // Selection needs no gradient; detaching keeps the distance matmul off the tape.
        let flat = flat.detach();
        let codebook = self.codebook().detach();
        // |z - e|^2 = |z|^2 - 2 z.e + |e|^2
        let z_sq = flat.clone().powf_scalar(2.0).sum_dim(1); // [N, 1]
        let e_sq = codebook.clone().powf_scalar(2.0).sum_dim(1).transpose(); // [1, V]
        let cross = flat.matmul(codebook.transpose()); // [N, V]
        let distances = z_sq + e_sq - cross.mul_scalar(2.0);
        distances.argmin(1).squeeze_dim(1)
    }

    /// Codebook vectors of `tokens` (`[B, K]`) as `[B, K, D]`, with gradient to the codebook.
    pub fn lookup(&self, tokens: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        self.codebook.forward(tokens)
    }

    /// Quantises encoder output `z` (`[B, D, side, side]`).
    pub fn quantize(&self, z: Tensor<B, 4>) -> Quantized<B> {
        let [batch, _, height, width] = z.dims();
        let tokens = self
            .nearest_codes(grid_rows(z.clone()))
            .reshape([batch, height * width]);
        let z_q = tokens_grid(self.lookup(tokens.clone()), height, width);
        let z_straight_through = z.clone() + (z_q.clone() - z.clone()).detach();
        Quantized {
            tokens,
            z,
            z_q,
            z_straight_through,
        }
    }
}

/// `[B, D, height, width]` map -> `[B * height * width, D]` vectors, one row per grid
/// cell, in row-major grid order per batch item (the rows [`tokens_grid`] takes back).
pub fn grid_rows<B: Backend>(map: Tensor<B, 4>) -> Tensor<B, 2> {
    let [batch, dim, height, width] = map.dims();
    map.permute([0, 2, 3, 1])
        .reshape([batch * height * width, dim])
}

/// `[B, K, D]` vectors in row-major grid order -> `[B, D, height, width]` map.
pub fn tokens_grid<B: Backend>(vectors: Tensor<B, 3>, height: usize, width: usize) -> Tensor<B, 4> {
    let [batch, tokens, dim] = vectors.dims();
    assert_eq!(tokens, height * width, "token count must fill the grid");
    vectors
        .reshape([batch, height, width, dim])
        .permute([0, 3, 1, 2])
}
