//! The parallel form: a whole sequence at once, with a decay mask inside it and the
//! incoming memory seen through per-token decays.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::decay::Decay;
use super::{tracked, MultiScaleRetention, Outputs, Projected, RetentionState};

impl<B: Backend> MultiScaleRetention<B> {
    /// Runs `x` (`[batch, time, d_model]`) as the tokens that follow `state`, and
    /// returns the output (`[batch, time, d_model]`) and the state after them.
    pub fn forward_parallel(
        &self,
        x: Tensor<B, 3>,
        state: &RetentionState<B>,
    ) -> (Tensor<B, 3>, RetentionState<B>) {
        self.check_input(x.dims(), state);
        let [batch, time, _] = x.dims();
        if let Some((y, Some(memory))) = self.try_kernel(&x, state, time, true, Outputs::All) {
            return (y, state.advanced(memory, time));
        }
        let Projected { q, k, v } = self.project(x.clone(), &state.next_positions);
        if tracked::applies::<B>(x.dtype()) {
            let memory = tracked::memories(k.clone(), v.clone(), state.memory.clone(), time);
            let y = self.finish_tracked(x, [q, k, v], state.memory.clone(), time, Outputs::All);
            return (y, state.advanced(memory, time));
        }
        let decay = Decay::new(self.n_heads, batch, &x.device());
        let retained = retain(&decay, q, k.clone(), v.clone(), state.memory.clone());
        let memory = advance_memory(&decay, state.memory.clone(), k, v);
        (
            self.finish(x, retained, Outputs::All),
            state.advanced(memory, time),
        )
    }

    /// Runs `x` as the tokens that follow `state`, causal among themselves, and
    /// leaves the state as it was: no new state is computed.
    pub fn forward_readonly(&self, x: Tensor<B, 3>, state: &RetentionState<B>) -> Tensor<B, 3> {
        self.check_input(x.dims(), state);
        let [batch, time, _] = x.dims();
        if let Some((y, _)) = self.try_kernel(&x, state, time, false, Outputs::All) {
            return y;
        }
        let Projected { q, k, v } = self.project(x.clone(), &state.next_positions);
        if tracked::applies::<B>(x.dtype()) {
            return self.finish_tracked(x, [q, k, v], state.memory.clone(), time, Outputs::All);
        }
        let decay = Decay::new(self.n_heads, batch, &x.device());
        let retained = retain(&decay, q, k, v, state.memory.clone());
        self.finish(x, retained, Outputs::All)
    }
}

/// Retention of a block of tokens (`[batch, heads, time, head_dim]` each) that
/// follows `memory`: sum over m <= n of gamma^(n-m) (q_n . k_m) v_m, plus
/// gamma^(n+1) q_n S for the tokens before the block.
pub(super) fn retain<B: Backend>(
    decay: &Decay<B>,
    q: Tensor<B, 4>,
    k: Tensor<B, 4>,
    v: Tensor<B, 4>,
    memory: Tensor<B, 4>,
) -> Tensor<B, 4> {
    let [batch, heads, time, _] = q.dims();
    // Flattened so the mask is one row shared by the whole batch (a fast broadcast).
    let scores = q
        .clone()
        .matmul(k.transpose())
        .reshape([batch, heads * time * time]);
    let mask = decay.causal(time).reshape([1, heads * time * time]);
    let within = (scores * mask)
        .reshape([batch, heads, time, time])
        .matmul(v);
    let before = q.matmul(memory) * decay.incoming(time);
    within + before
}

/// The memory after the block: gamma^time S + sum over j of gamma^(time-1-j) k_j^T v_j.
pub(super) fn advance_memory<B: Backend>(
    decay: &Decay<B>,
    memory: Tensor<B, 4>,
    k: Tensor<B, 4>,
    v: Tensor<B, 4>,
) -> Tensor<B, 4> {
    let [_, _, time, _] = k.dims();
    let weighted_keys = k * decay.memory_weights(time);
    memory * decay.over(time) + weighted_keys.transpose().matmul(v)
}
