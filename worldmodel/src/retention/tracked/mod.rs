//! Retention with autodiff on burn's CPU backend (`Autodiff<Flex>`, f32) as two
//! operations of our own: the output over chunks, dropped out and normalised per
//! head ([`normalized_retention`]; [`kernel`], then the dropout mask and
//! `layer_norm::kernel` over each head's values), and the memories after every so
//! many tokens ([`memories`]). Each records one node where burn's tensor operations
//! record some twenty per chunk, and its backward pass is the kernels'. The forms call
//! them where [`applies`] says so, and keep burn's operations everywhere else.

pub(crate) mod kernel;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::Flex;
use burn::tensor::backend::{Backend, BackendTypes};
use burn::tensor::{DType, Tensor};
use burn_flex::FlexTensor;

use super::kernel::decay_powers;
use super::GROUP_NORM_EPSILON;
use crate::dropout::{thread_mask, Dropout};
use crate::flex_kernels::{
    checkpointed, concrete, generic, is, register_gradient, tensor_of, values, AutodiffFlex,
};
use crate::layer_norm::kernel::{self as group_norm, RowStats};
use kernel::PairShape;

type TrackedTensor = <AutodiffFlex as BackendTypes>::FloatTensorPrimitive;

/// Whether [`normalized_retention`] and [`memories`] run for float tensors of `dtype`
/// on `B`.
pub(super) fn applies<B: Backend>(dtype: DType) -> bool {
    dtype == DType::F32 && is::<B, AutodiffFlex>()
}

/// Retention of queries and keys (rotated, keys scaled) and values (`[B, H, T, D]`
/// each) after `memory` (`[B, H, D, D]`), in chunks of `chunk_len` tokens, then
/// dropout with probability `dropout` (its mask drawn as [`Dropout`] draws it) and
/// the group norm of each token's head values: `[B, H, T, D]`. Only where
/// [`applies`].
pub(super) fn normalized_retention<B: Backend>(
    [q, k, v]: [Tensor<B, 4>; 3],
    memory: Tensor<B, 4>,
    chunk_len: usize,
    dropout: &Dropout,
) -> Tensor<B, 4> {
    let s = pair_shape(&q);
    let chunk_len = chunk_len.clamp(1, s.time);
    let inputs = [q, k, v, memory].map(concrete::<B, TrackedTensor, 4>);
    generic(track_retention(s, inputs, chunk_len, dropout.prob))
}

/// The memories after every `every` tokens of keys and values (`[B, H, T, D]`) that
/// follow `memory` (`[B, H, D, D]`), and after the last token: `[E * B, H, D, D]`,
/// E = ceil(T / every), entry e in rows `e * B..(e + 1) * B`. Only where [`applies`].
pub(super) fn memories<B: Backend>(
    k: Tensor<B, 4>,
    v: Tensor<B, 4>,
    memory: Tensor<B, 4>,
    every: usize,
) -> Tensor<B, 4> {
    let s = pair_shape(&k);
    let every = every.clamp(1, s.time);
    let inputs = [k, v, memory].map(concrete::<B, TrackedTensor, 4>);
    generic(track_memories(s, inputs, every))
}

fn pair_shape<B: Backend>(x: &Tensor<B, 4>) -> PairShape {
    let [batch, heads, time, head_dim] = x.dims();
    PairShape {
        batch,
        heads,
        time,
        head_dim,
    }
}

/// Hands each tracked parent its gradient: tokens (`[B, H, T, D]`) first, the
/// incoming memory (`[B, H, D, D]`) last.
fn register_gradients<const N: usize>(
    grads: &mut Gradients,
    s: &PairShape,
    parents: [Option<NodeId>; N],
    gradients: [Vec<f32>; N],
) {
    let tokens = [s.batch, s.heads, s.time, s.head_dim];
    let memory = [s.batch, s.heads, s.head_dim, s.head_dim];
    for (i, (node, gradient)) in parents.into_iter().zip(gradients).enumerate() {
        let shape = if i + 1 == N { memory } else { tokens };
        register_gradient(grads, node, gradient, shape);
    }
}

/// The values of `t` in its logical order.
fn contiguous(t: &TrackedTensor) -> FlexTensor {
    t.primitive.clone().to_contiguous()
}

fn track_retention(
    s: PairShape,
    inputs: [TrackedTensor; 4],
    chunk_len: usize,
    dropout: f64,
) -> TrackedTensor {
    let nodes = inputs.clone().map(|t| t.node);
    let [q, k, v, memory] = inputs.each_ref().map(contiguous);
    let powers = decay_powers(s.heads, chunk_len + 1);
    let (retained, before) = kernel::retained(
        &s,
        [values(&q), values(&k), values(&v)],
        values(&memory),
        chunk_len,
        &powers,
    );
    // The dropout of `Dropout::forward` (autodiff is on here), then the group norm.
    let mask = (dropout > 0.0).then(|| thread_mask(retained.len(), dropout));
    let dropped = match &mask {
        Some(mask) => retained.iter().zip(mask).map(|(o, m)| o * m).collect(),
        None => retained,
    };
    let (ones, zeros) = (vec![1.0; s.head_dim], vec![0.0; s.head_dim]);
    let epsilon = GROUP_NORM_EPSILON as f32;
    let (normed, stats) = group_norm::forward(&dropped, &ones, &zeros, epsilon);
    let out = tensor_of(normed, [s.batch, s.heads, s.time, s.head_dim]);
    match RetainedBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let [q_id, k_id, v_id] =
                [&inputs[0], &inputs[1], &inputs[2]].map(|t| prep.checkpoint(t));
            let state = RetainedState {
                ids: [q_id, k_id, v_id],
                before,
                dropped,
                stats,
                mask,
                shape: s,
                chunk_len,
            };
            prep.finish(state, out)
        }
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

/// What [`normalized_retention`]'s backward pass reads: the inputs' checkpoints, the
/// memory before each chunk, the group norm's input and statistics, the dropout mask.
#[derive(Debug, Clone)]
struct RetainedState {
    /// Queries, keys, values.
    ids: [NodeId; 3],
    /// `[B, H, C, D, D]`.
    before: Vec<f32>,
    /// The retention output after the dropout, `[B, H, T, D]`.
    dropped: Vec<f32>,
    stats: RowStats,
    mask: Option<Vec<f32>>,
    shape: PairShape,
    chunk_len: usize,
}

#[derive(Debug)]
struct RetainedBackward;

impl Backward<Flex, 4> for RetainedBackward {
    type State = RetainedState;

    fn backward(
        self,
        ops: Ops<Self::State, 4>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let parents = ops.parents.map(|p| p.map(|n| n.id));
        let d_normed = grads.consume::<Flex>(&ops.node).to_contiguous();
        let state = ops.state;
        let s = state.shape;
        let ones = vec![1.0; s.head_dim];
        let (mut d_retained, _, _) =
            group_norm::backward(&state.dropped, &ones, &state.stats, values(&d_normed));
        if let Some(mask) = &state.mask {
            d_retained.iter_mut().zip(mask).for_each(|(d, m)| *d *= m);
        }
        let [q, k, v] = state.ids.map(|id| checkpointed(checkpointer, id));
        let powers = decay_powers(s.heads, state.chunk_len + 1);
        let gradients = kernel::retained_backward(
            &s,
            [values(&q), values(&k), values(&v)],
            &state.before,
            &d_retained,
            state.chunk_len,
            &powers,
        );
        register_gradients(grads, &s, parents, gradients);
    }
}

fn track_memories(s: PairShape, inputs: [TrackedTensor; 3], every: usize) -> TrackedTensor {
    let nodes = inputs.clone().map(|t| t.node);
    let [k, v, memory] = inputs.each_ref().map(contiguous);
    let powers = decay_powers(s.heads, every + 1);
    let out = kernel::memories(
        &s,
        [values(&k), values(&v)],
        values(&memory),
        every,
        &powers,
    );
    let entries = s.time.div_ceil(every);
    let out = tensor_of(out, [entries * s.batch, s.heads, s.head_dim, s.head_dim]);
    match MemoriesBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let ids = [&inputs[0], &inputs[1]].map(|t| prep.checkpoint(t));
            prep.finish(
                MemoriesState {
                    ids,
                    shape: s,
                    every,
                },
                out,
            )
        }
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

/// What [`memories`]' backward pass reads: the keys' and values' checkpoints.
#[derive(Debug, Clone)]
struct MemoriesState {
    ids: [NodeId; 2],
    shape: PairShape,
    every: usize,
}

#[derive(Debug)]
struct MemoriesBackward;

impl Backward<Flex, 3> for MemoriesBackward {
    type State = MemoriesState;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let parents = ops.parents.map(|p| p.map(|n| n.id));
        let d_memories = grads.consume::<Flex>(&ops.node).to_contiguous();
        let state = ops.state;
        let s = state.shape;
        let [k, v] = state.ids.map(|id| checkpointed(checkpointer, id));
        let powers = decay_powers(s.heads, state.every + 1);
        let gradients = kernel::memories_backward(
            &s,
            [values(&k), values(&v)],
            values(&d_memories),
            state.every,
            &powers,
        );
        register_gradients(grads, &s, parents, gradients);
    }
}
