//! The recurrent form: one token at a time, S = gamma S + k^T v, output q S.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::decay::Decay;
use super::{MultiScaleRetention, Outputs, Projected, RetentionState};

impl<B: Backend> MultiScaleRetention<B> {
    /// Runs one token per row (`x`: `[batch, d_model]`) after `state`, returning the
    /// output (`[batch, d_model]`) and the state that includes the token.
    pub fn forward_recurrent(
        &self,
        x: Tensor<B, 2>,
        state: &RetentionState<B>,
    ) -> (Tensor<B, 2>, RetentionState<B>) {
        let [batch, width] = x.dims();
        let x = x.reshape([batch, 1, width]);
        self.check_input(x.dims(), state);
        if let Some((y, Some(memory))) = self.try_kernel(&x, state, 1, true, Outputs::All) {
            return (y.reshape([batch, width]), state.advanced(memory, 1));
        }
        let gamma = Decay::new(self.n_heads, batch, &x.device()).over(1);
        let Projected { q, k, v } = self.project(x.clone(), &state.next_positions);
        let memory = state.memory.clone() * gamma + k.swap_dims(2, 3).matmul(v);
        let retained = q.matmul(memory.clone());
        let output = self
            .finish(x, retained, Outputs::All)
            .reshape([batch, width]);
        (output, state.advanced(memory, 1))
    }
}
