//! A single-step LSTM cell with explicit state.
//!
//! burn's `Lstm` runs whole sequences through four separate gate modules; the
//! controller needs one step at a time (observation steps interleaved with action
//! steps) and fewer kernels, so the four gates come from two fused linear maps.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{sigmoid, tanh};

/// LSTM cell: gates = W_x x + b_x + W_h h + b_h, split as input, forget, cell, output.
///
/// Both biases are kept, as in PyTorch's `LSTMCell`, so parameter counts match the
/// reference controller.
#[derive(Module, Debug)]
pub struct LstmCell<B: Backend> {
    input_to_gates: Linear<B>,
    hidden_to_gates: Linear<B>,
    hidden_size: usize,
}

impl<B: Backend> LstmCell<B> {
    /// A cell reading `input_size` features into a `hidden_size` state.
    pub fn new(input_size: usize, hidden_size: usize, device: &B::Device) -> Self {
        Self {
            input_to_gates: LinearConfig::new(input_size, 4 * hidden_size).init(device),
            hidden_to_gates: LinearConfig::new(hidden_size, 4 * hidden_size).init(device),
            hidden_size,
        }
    }

    /// Width of the hidden and cell state.
    pub fn hidden_size(&self) -> usize {
        self.hidden_size
    }

    /// One step: `input` [B, I], `hidden` and `cell` [B, H] -> new (hidden, cell).
    pub fn step(
        &self,
        input: Tensor<B, 2>,
        hidden: Tensor<B, 2>,
        cell: Tensor<B, 2>,
    ) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let gates = self.input_to_gates.forward(input) + self.hidden_to_gates.forward(hidden);
        let mut parts = gates.chunk(4, 1).into_iter();
        let (Some(input_gate), Some(forget_gate), Some(candidate), Some(output_gate)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            unreachable!("a width of 4 * hidden_size always splits into four gates");
        };
        let cell = sigmoid(forget_gate) * cell + sigmoid(input_gate) * tanh(candidate);
        let hidden = sigmoid(output_gate) * tanh(cell.clone());
        (hidden, cell)
    }
}
