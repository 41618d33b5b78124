//! [`super::kernel`] on burn's CPU backend: `Flex` (forward only) and
//! `Autodiff<Flex>` (an autodiff operation whose backward pass is the kernel's).
//! The generic tensors reach the concrete ones through [`crate::flex_kernels`].

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::Flex;
use burn::tensor::backend::{Backend, BackendTypes};
use burn::tensor::Tensor;
use burn_flex::FlexTensor;

use super::kernel::{self, Geometry};
use crate::flex_kernels::{
    checkpointed, concrete, generic, is, kernels_apply, register_gradient, tensor_of, values,
    AutodiffFlex,
};

type TrackedTensor = <AutodiffFlex as BackendTypes>::FloatTensorPrimitive;

/// `x` convolved with `weight` plus `bias` by the kernel when `B` is `Flex` or
/// `Autodiff<Flex>`; otherwise `x` back untouched.
pub(super) fn try_conv<B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Tensor<B, 1>,
    geometry: Geometry,
) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    if !kernels_apply::<B>(x.dtype()) {
        return Err(x);
    }
    if is::<B, Flex>() {
        let y = forward(&geometry, concrete(x), &concrete(weight), &concrete(bias));
        return Ok(generic(y));
    }
    let y = tracked(geometry, concrete(x), concrete(weight), concrete(bias));
    Ok(generic(y))
}

fn forward(g: &Geometry, x: FlexTensor, weight: &FlexTensor, bias: &FlexTensor) -> FlexTensor {
    let frames = x.layout().shape()[0];
    let (x, weight, bias) = (
        x.to_contiguous(),
        weight.to_contiguous(),
        bias.to_contiguous(),
    );
    let y = kernel::forward(g, values(&x), values(&weight), Some(values(&bias)));
    let (height, width) = g.out_size();
    tensor_of(y, [frames, g.channels_out, height, width])
}

fn tracked(
    g: Geometry,
    x: TrackedTensor,
    weight: TrackedTensor,
    bias: TrackedTensor,
) -> TrackedTensor {
    let nodes = [x.node.clone(), weight.node.clone(), bias.node.clone()];
    match Conv3x3Backward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let state = (prep.checkpoint(&x), prep.checkpoint(&weight), g);
            let y = forward(&g, x.primitive, &weight.primitive, &bias.primitive);
            prep.finish(state, y)
        }
        OpsKind::UnTracked(prep) => {
            prep.finish(forward(&g, x.primitive, &weight.primitive, &bias.primitive))
        }
    }
}

/// The backward pass of a kernel convolution: the gradients of the input, the weight
/// and the bias from one [`kernel::backward`] call (a frozen weight's are not computed).
#[derive(Debug)]
struct Conv3x3Backward;

impl Backward<Flex, 3> for Conv3x3Backward {
    /// The input's and the weight's checkpoints, and the shape.
    type State = (NodeId, NodeId, Geometry);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight, node_bias] = ops.parents.map(|p| p.map(|n| n.id));
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let (x_id, weight_id, g) = ops.state;
        let x = checkpointed(checkpointer, x_id);
        let weight = checkpointed(checkpointer, weight_id);
        let wanted = kernel::Wanted {
            input: node_x.is_some(),
            weight: node_weight.is_some() || node_bias.is_some(),
        };
        let (dx, weight_grads) =
            kernel::backward(&g, values(&x), values(&weight), values(&dy), wanted);
        if let Some(dx) = dx {
            register_gradient(grads, node_x, dx, x.layout().shape().clone());
        }
        if let Some((dw, db)) = weight_grads {
            register_gradient(grads, node_weight, dw, weight.layout().shape().clone());
            register_gradient(grads, node_bias, db, [g.channels_out]);
        }
    }
}
