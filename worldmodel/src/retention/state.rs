//! The recurrent state of one retention layer.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// What a retention layer remembers of the tokens before the next one.
#[derive(Debug, Clone)]
pub struct RetentionState<B: Backend> {
    /// S = sum over past tokens m of gamma^(n-m) k_m^T v_m, for n the last token seen:
    /// `[batch, heads, head_dim, head_dim]`.
    pub memory: Tensor<B, 4>,
    /// Absolute position of the next token, per batch row. Rows may differ, so that
    /// states taken at different points of a sequence can be stacked into one batch.
    pub next_positions: Vec<usize>,
}

impl<B: Backend> RetentionState<B> {
    /// Nothing remembered; every row's next token sits at position 0.
    pub fn zeros(batch: usize, n_heads: usize, head_dim: usize, device: &B::Device) -> Self {
        Self {
            memory: Tensor::zeros([batch, n_heads, head_dim, head_dim], device),
            next_positions: vec![0; batch],
        }
    }

    /// Pairs a memory with the positions of the next tokens; panics if their batch
    /// sizes differ.
    pub fn new(memory: Tensor<B, 4>, next_positions: Vec<usize>) -> Self {
        let [batch, ..] = memory.dims();
        assert!(
            batch == next_positions.len(),
            "retention state memory has {batch} rows but {} positions",
            next_positions.len()
        );
        Self {
            memory,
            next_positions,
        }
    }

    /// The same memory with every row's next token placed at `position`.
    pub fn starting_at(mut self, position: usize) -> Self {
        self.next_positions.iter_mut().for_each(|p| *p = position);
        self
    }

    pub fn batch_size(&self) -> usize {
        self.next_positions.len()
    }

    /// Stacks states along the batch dimension, keeping each row's position.
    pub fn cat(states: Vec<Self>) -> Self {
        assert!(
            !states.is_empty(),
            "cannot stack an empty list of retention states"
        );
        let next_positions = states
            .iter()
            .flat_map(|s| s.next_positions.iter().copied())
            .collect();
        let memory = Tensor::cat(states.into_iter().map(|s| s.memory).collect(), 0);
        Self {
            memory,
            next_positions,
        }
    }

    /// Cuts the memory from the autodiff graph.
    pub fn detach(self) -> Self {
        Self {
            memory: self.memory.detach(),
            next_positions: self.next_positions,
        }
    }

    /// The state after `tokens` more tokens whose memory is `memory`.
    pub(crate) fn advanced(&self, memory: Tensor<B, 4>, tokens: usize) -> Self {
        Self {
            memory,
            next_positions: self.next_positions.iter().map(|p| p + tokens).collect(),
        }
    }

    pub(crate) fn check_matches(&self, batch: usize, n_heads: usize, head_dim: usize) {
        assert!(
            self.batch_size() == batch,
            "retention state holds {} rows for a batch of {batch}",
            self.batch_size()
        );
        let expected = [batch, n_heads, head_dim, head_dim];
        assert!(
            self.memory.dims() == expected,
            "retention state memory shape {:?} differs from the expected {expected:?}",
            self.memory.dims()
        );
    }
}
