//! [`super::kernel`] on burn's CPU backend: `Flex` (forward only) and
//! `Autodiff<Flex>` (an autodiff operation whose backward pass is the kernel's).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::Flex;
use burn::tensor::backend::{Backend, BackendTypes};
use burn::tensor::Tensor;
use burn_flex::FlexTensor;

use super::kernel::{self, GroupShape, GroupStats};
use crate::flex_kernels::{
    checkpointed, concrete, generic, is, register_gradient, tensor_of, values, AutodiffFlex,
};

type TrackedTensor = <AutodiffFlex as BackendTypes>::FloatTensorPrimitive;

/// GroupNorm and SiLU of `x` by the kernel when `B` is `Flex` or `Autodiff<Flex>`;
/// otherwise `x` back untouched.
pub(super) fn try_norm_silu<B: Backend>(
    x: Tensor<B, 4>,
    gamma: Tensor<B, 1>,
    beta: Tensor<B, 1>,
    shape: GroupShape,
) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    if is::<B, Flex>() {
        let (y, _) = forward(&shape, concrete(x), &concrete(gamma), &concrete(beta));
        return Ok(generic(y));
    }
    if is::<B, AutodiffFlex>() {
        return Ok(generic(tracked(
            shape,
            concrete(x),
            concrete(gamma),
            concrete(beta),
        )));
    }
    Err(x)
}

fn forward(
    s: &GroupShape,
    x: FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
) -> (FlexTensor, GroupStats) {
    let shape = x.layout().shape().clone();
    let (x, gamma, beta) = (
        x.to_contiguous(),
        gamma.to_contiguous(),
        beta.to_contiguous(),
    );
    let (y, stats) = kernel::forward(s, values(&x), values(&gamma), values(&beta));
    (tensor_of(y, shape), stats)
}

fn tracked(
    s: GroupShape,
    x: TrackedTensor,
    gamma: TrackedTensor,
    beta: TrackedTensor,
) -> TrackedTensor {
    let nodes = [x.node.clone(), gamma.node.clone(), beta.node.clone()];
    match NormSiluBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let x_id = prep.checkpoint(&x);
            let (y, stats) = forward(&s, x.primitive, &gamma.primitive, &beta.primitive);
            let affine =
                [gamma.primitive, beta.primitive].map(|p| values(&p.to_contiguous()).to_vec());
            prep.finish(
                NormSiluState {
                    x_id,
                    affine,
                    stats,
                    shape: s,
                },
                y,
            )
        }
        OpsKind::UnTracked(prep) => {
            prep.finish(forward(&s, x.primitive, &gamma.primitive, &beta.primitive).0)
        }
    }
}

/// What the backward pass reads: the input's checkpoint, gamma and beta, the
/// forward pass's statistics.
#[derive(Debug, Clone)]
struct NormSiluState {
    x_id: NodeId,
    /// `[gamma, beta]`.
    affine: [Vec<f32>; 2],
    stats: GroupStats,
    shape: GroupShape,
}

#[derive(Debug)]
struct NormSiluBackward;

impl Backward<Flex, 3> for NormSiluBackward {
    type State = NormSiluState;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_gamma, node_beta] = ops.parents.map(|p| p.map(|n| n.id));
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let state = ops.state;
        let x = checkpointed(checkpointer, state.x_id);
        let [gamma, beta] = &state.affine;
        let (dx, dgamma, dbeta) = kernel::backward(
            &state.shape,
            values(&x),
            gamma,
            beta,
            &state.stats,
            values(&dy),
        );
        let channels = [state.shape.channels];
        register_gradient(grads, node_x, dx, x.layout().shape().clone());
        register_gradient(grads, node_gamma, dgamma, channels);
        register_gradient(grads, node_beta, dbeta, channels);
    }
}
