//! The chunkwise form: the parallel form inside chunks of a fixed length, the
//! memory carried from chunk to chunk.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::decay::Decay;
use super::parallel::{advance_memory, retain};
use super::{tracked, MultiScaleRetention, Outputs, Projected, RetentionState};

impl<B: Backend> MultiScaleRetention<B> {
    /// Runs `x` (`[batch, time, d_model]`) after `state` in chunks of `chunk_len`
    /// tokens (the last may be shorter); returns the output and the final state.
    pub fn forward_chunkwise(
        &self,
        x: Tensor<B, 3>,
        state: &RetentionState<B>,
        chunk_len: usize,
    ) -> (Tensor<B, 3>, RetentionState<B>) {
        let (output, state, _) = self.forward_chunkwise_at(x, state, chunk_len, None, Outputs::All);
        (output, state)
    }

    /// As [`Self::forward_chunkwise`], and also returns the states after every
    /// `checkpoint_every` tokens: entry i is the state after (i+1)*checkpoint_every
    /// tokens of `x`. Checkpoints need not fall on chunk boundaries.
    pub fn forward_chunkwise_with_checkpoints(
        &self,
        x: Tensor<B, 3>,
        state: &RetentionState<B>,
        chunk_len: usize,
        checkpoint_every: usize,
    ) -> (Tensor<B, 3>, RetentionState<B>, Vec<RetentionState<B>>) {
        self.forward_chunkwise_at(x, state, chunk_len, Some(checkpoint_every), Outputs::All)
    }

    /// The chunkwise form with the outputs of the tokens of `outputs` only (every
    /// token's keys and values still enter the state), and the states after every
    /// `checkpoint_every` tokens when given, as
    /// [`Self::forward_chunkwise_with_checkpoints`] returns them.
    pub fn forward_chunkwise_at(
        &self,
        x: Tensor<B, 3>,
        state: &RetentionState<B>,
        chunk_len: usize,
        checkpoint_every: Option<usize>,
        outputs: Outputs,
    ) -> (Tensor<B, 3>, RetentionState<B>, Vec<RetentionState<B>>) {
        assert!(chunk_len > 0, "retention chunk length must be positive");
        assert!(
            checkpoint_every != Some(0),
            "retention checkpoint interval must be positive"
        );
        self.check_input(x.dims(), state);
        let [batch, time, _] = x.dims();
        if checkpoint_every.is_none() {
            if let Some((y, Some(memory))) = self.try_kernel(&x, state, chunk_len, true, outputs) {
                return (y, state.advanced(memory, time), Vec::new());
            }
        }
        let projected = self.project(x.clone(), &state.next_positions);
        if tracked::applies::<B>(x.dtype()) {
            return self.chunkwise_tracked(
                x,
                state,
                projected,
                chunk_len,
                checkpoint_every,
                outputs,
            );
        }
        let Projected { q, k, v } = projected;
        let decay = Decay::new(self.n_heads, batch, &x.device());

        let mut memory = state.memory.clone();
        let mut chunk_outputs = Vec::with_capacity(time.div_ceil(chunk_len));
        let mut checkpoints = Vec::new();
        for start in (0..time).step_by(chunk_len) {
            let len = chunk_len.min(time - start);
            let chunk = |t: &Tensor<B, 4>| t.clone().narrow(2, start, len);
            let (k_chunk, v_chunk) = (chunk(&k), chunk(&v));
            chunk_outputs.push(retain(
                &decay,
                chunk(&q),
                k_chunk.clone(),
                v_chunk.clone(),
                memory.clone(),
            ));
            if let Some(every) = checkpoint_every {
                // Checkpoints strictly inside this chunk: the memory after a prefix.
                let first = start / every + 1;
                for end in (first * every..start + len).step_by(every) {
                    let prefix = |t: &Tensor<B, 4>| t.clone().narrow(2, 0, end - start);
                    let at =
                        advance_memory(&decay, memory.clone(), prefix(&k_chunk), prefix(&v_chunk));
                    checkpoints.push(state.advanced(at, end));
                }
            }
            memory = advance_memory(&decay, memory, k_chunk, v_chunk);
            if checkpoint_every.is_some_and(|every| (start + len).is_multiple_of(every)) {
                checkpoints.push(state.advanced(memory.clone(), start + len));
            }
        }
        let retained = Tensor::cat(chunk_outputs, 2);
        (
            self.finish(x, retained, outputs),
            state.advanced(memory, time),
            checkpoints,
        )
    }

    /// [`Self::forward_chunkwise_at`] by the kernels of `tracked/`: the output over chunks, and
    /// the memories after every checkpoint and after the last token.
    fn chunkwise_tracked(
        &self,
        x: Tensor<B, 3>,
        state: &RetentionState<B>,
        Projected { q, k, v }: Projected<B>,
        chunk_len: usize,
        checkpoint_every: Option<usize>,
        outputs: Outputs,
    ) -> (Tensor<B, 3>, RetentionState<B>, Vec<RetentionState<B>>) {
        let [batch, time, _] = x.dims();
        let every = checkpoint_every.unwrap_or(time).min(time);
        let memories = tracked::memories(k.clone(), v.clone(), state.memory.clone(), every);
        let entry = |e: usize| memories.clone().narrow(0, e * batch, batch);
        let checkpoints = match checkpoint_every {
            Some(every) => (0..time / every)
                .map(|e| state.advanced(entry(e), (e + 1) * every))
                .collect(),
            None => Vec::new(),
        };
        let last = entry(time.div_ceil(every) - 1);
        let y = self.finish_tracked(x, [q, k, v], state.memory.clone(), chunk_len, outputs);
        (y, state.advanced(last, time), checkpoints)
    }
}
