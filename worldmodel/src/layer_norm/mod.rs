//! LayerNorm with autodiff on the CPU backend as one operation.
//!
//! burn's autodiff backend writes LayerNorm as eight tensor operations (mean,
//! centring, square, mean, root, division, scale, shift), each recorded with its own
//! backward step; the world model runs ten of them per training pass. [`kernel`] does
//! the forward pass in one task per block of rows and the backward pass in another.
//! Without autodiff burn's CPU backend already has a one-pass LayerNorm, and other
//! backends keep burn's; `crate::flex_kernels` says how the backend is told apart.

pub mod kernel;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::Flex;
use burn::nn::LayerNorm;
use burn::tensor::backend::{Backend, BackendTypes};
use burn::tensor::{DType, Tensor};

use crate::flex_kernels::{
    checkpointed, concrete, generic, is, register_gradient, tensor_of, values, AutodiffFlex,
};
use kernel::RowStats;

type TrackedTensor = <AutodiffFlex as BackendTypes>::FloatTensorPrimitive;

/// `norm.forward(x)`, through [`kernel`] with autodiff on the CPU backend.
/// `epsilon` must be the one `norm` was built with (burn keeps it private).
pub fn layer_norm<B: Backend, const D: usize>(
    norm: &LayerNorm<B>,
    x: Tensor<B, D>,
    epsilon: f64,
) -> Tensor<B, D> {
    let Some(beta) = norm.beta.as_ref() else {
        return norm.forward(x);
    };
    if !is::<B, AutodiffFlex>() || x.dtype() != DType::F32 {
        return norm.forward(x);
    }
    let parts = [
        concrete(x),
        concrete(norm.gamma.val()),
        concrete(beta.val()),
    ];
    generic(tracked(parts, epsilon as f32))
}

fn tracked([x, gamma, beta]: [TrackedTensor; 3], epsilon: f32) -> TrackedTensor {
    let nodes = [x.node.clone(), gamma.node.clone(), beta.node.clone()];
    let shape = x.primitive.layout().shape().clone();
    let x_values = x.primitive.clone().to_contiguous();
    let [gamma_values, beta_values] =
        [gamma.primitive, beta.primitive].map(|p| values(&p.to_contiguous()).to_vec());
    let (y, stats) = kernel::forward(values(&x_values), &gamma_values, &beta_values, epsilon);
    let y = tensor_of(y, shape);
    match LayerNormBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let x_id = prep.checkpoint(&x);
            prep.finish(
                LayerNormState {
                    x_id,
                    gamma: gamma_values,
                    stats,
                },
                y,
            )
        }
        OpsKind::UnTracked(prep) => prep.finish(y),
    }
}

/// What the backward pass reads: the input's checkpoint, gamma and the row
/// statistics of the forward pass.
#[derive(Debug, Clone)]
struct LayerNormState {
    x_id: NodeId,
    gamma: Vec<f32>,
    stats: RowStats,
}

#[derive(Debug)]
struct LayerNormBackward;

impl Backward<Flex, 3> for LayerNormBackward {
    type State = LayerNormState;

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
        let (dx, dgamma, dbeta) =
            kernel::backward(values(&x), &state.gamma, &state.stats, values(&dy));
        let width = [state.gamma.len()];
        register_gradient(grads, node_x, dx, x.layout().shape().clone());
        register_gradient(grads, node_gamma, dgamma, width);
        register_gradient(grads, node_beta, dbeta, width);
    }
}
