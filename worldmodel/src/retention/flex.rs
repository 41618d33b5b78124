//! [`super::kernel`] on burn's CPU backend without autodiff (imagination, encoding
//! contexts, evaluation); with autodiff and on every other backend the forms keep
//! burn's tensor operations.

use burn::backend::Flex;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};
use burn_flex::FlexTensor;

use super::kernel::{retain_rows, RetentionShape};
use super::{MultiScaleRetention, Outputs, RetentionState};
use crate::flex_kernels::{concrete, generic, is, tensor_of, values};

impl<B: Backend> MultiScaleRetention<B> {
    /// The layer's output at the tokens of `outputs` for `x` (`[batch, time,
    /// d_model]`) after `state`, in chunks of `chunk_len`, and the memory after it if
    /// `keep_memory`; `None` where the kernel does not apply (another backend,
    /// autodiff, not f32).
    pub(super) fn try_kernel(
        &self,
        x: &Tensor<B, 3>,
        state: &RetentionState<B>,
        chunk_len: usize,
        keep_memory: bool,
        outputs: Outputs,
    ) -> Option<(Tensor<B, 3>, Option<Tensor<B, 4>>)> {
        if !is::<B, Flex>() || x.dtype() != DType::F32 {
            return None;
        }
        let [batch, time, width] = x.dims();
        let shape = RetentionShape {
            batch,
            time,
            heads: self.n_heads,
            head_dim: self.head_dim,
        };
        let flat = |t: Tensor<B, 3>| concrete::<B, FlexTensor, 3>(t).to_contiguous();
        let q = flat(self.query.forward(x.clone()));
        let k = flat(self.key.forward(x.clone()));
        let v = flat(self.value.forward(x.clone()));
        let memory = concrete::<B, FlexTensor, 4>(state.memory.clone()).to_contiguous();
        let (normed, memory) = retain_rows(
            &shape,
            values(&q),
            values(&k),
            values(&v),
            values(&memory),
            &state.next_positions,
            chunk_len,
            keep_memory,
        );
        let normed = generic::<B, FlexTensor, 3>(tensor_of(normed, [batch, time, width]));
        let memory = memory.map(|m| {
            generic::<B, FlexTensor, 4>(tensor_of(
                m,
                [batch, self.n_heads, self.head_dim, self.head_dim],
            ))
        });
        Some((self.gate_and_project(x.clone(), normed, outputs), memory))
    }
}
