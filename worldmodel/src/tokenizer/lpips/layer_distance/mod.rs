//! One LPIPS layer's distance, `d[n]` of [`kernel`]'s docs: unit-normalised channels,
//! squared differences, dropout on them while training, the layer's channel weights,
//! the spatial mean.
//!
//! As burn's tensor operations (what every backend but the CPU one runs) it is a dozen
//! broadcast operations over the layer's `[N, C, H, W]` features, each recorded with
//! its backward step; on the CPU backend (`Flex`, and `Autodiff<Flex>` with a backward
//! pass of its own) it is one [`kernel`] pass each way. Both draw the dropout mask from
//! the thread's stream in the same order, so they differ by float rounding only.

pub mod kernel;

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::Flex;
use burn::tensor::backend::{Backend, BackendTypes};
use burn::tensor::Tensor;
use burn_flex::FlexTensor;

use super::constant;
use crate::dropout::{thread_mask, Dropout};
use crate::flex_kernels::{
    concrete, generic, is, kernels_apply, register_gradient, tensor_of, values, AutodiffFlex,
};
use kernel::Shape;

type TrackedTensor = <AutodiffFlex as BackendTypes>::FloatTensorPrimitive;

/// `d[n]` (`[N]`) of features `fx` and `fy` (`[N, C, H, W]`) with channel `weights`
/// (`C`) and `dropout` while training (autodiff). `fx` gets no gradient.
pub fn layer_distance<B: Backend>(
    fx: Tensor<B, 4>,
    fy: Tensor<B, 4>,
    weights: &[f32],
    dropout: f64,
) -> Tensor<B, 1> {
    if !kernels_apply::<B>(fy.dtype()) || !kernels_apply::<B>(fx.dtype()) {
        return layer_distance_ops(fx, fy, weights, dropout);
    }
    let fx: FlexTensor = if is::<B, Flex>() {
        concrete(fx)
    } else {
        concrete::<B, TrackedTensor, 4>(fx).primitive
    };
    let fx = fx.to_contiguous();
    let [frames, channels, height, width] = fy.dims();
    let shape = Shape {
        frames,
        channels,
        positions: height * width,
    };
    let training = is::<B, AutodiffFlex>() && dropout > 0.0;
    let mask = training.then(|| thread_mask(frames * channels * height * width, dropout));
    let state = LayerState {
        shape,
        fx: Arc::new(fx),
        weights: Arc::new(weights.to_vec()),
        mask: mask.map(Arc::new),
    };
    if is::<B, Flex>() {
        generic(state.forward(&concrete::<B, FlexTensor, 4>(fy).to_contiguous()))
    } else {
        generic(tracked(state, concrete(fy)))
    }
}

/// [`layer_distance`] as burn's tensor operations, on any backend.
pub fn layer_distance_ops<B: Backend>(
    fx: Tensor<B, 4>,
    fy: Tensor<B, 4>,
    weights: &[f32],
    dropout: f64,
) -> Tensor<B, 1> {
    let n = fy.dims()[0];
    let squared = (unit_channels(fx.detach()) - unit_channels(fy)).powf_scalar(2.0);
    let weights = constant(
        weights.to_vec(),
        [1, weights.len(), 1, 1],
        &squared.device(),
    );
    let weighted = (Dropout::new(dropout).forward(squared) * weights).sum_dim(1);
    weighted.mean_dim(2).mean_dim(3).reshape([n])
}

/// Each position's feature vector divided by its length over the channels (plus 1e-10).
fn unit_channels<B: Backend>(f: Tensor<B, 4>) -> Tensor<B, 4> {
    let length = f.clone().powf_scalar(2.0).sum_dim(1).sqrt();
    f / length.add_scalar(1e-10)
}

/// What both passes read besides `fy`: the shape, the target's features, the weights
/// and the dropout mask.
#[derive(Debug, Clone)]
struct LayerState {
    shape: Shape,
    fx: Arc<FlexTensor>,
    weights: Arc<Vec<f32>>,
    mask: Option<Arc<Vec<f32>>>,
}

impl LayerState {
    fn forward(&self, fy: &FlexTensor) -> FlexTensor {
        let d = kernel::forward(
            self.shape,
            values(&self.fx),
            values(fy),
            &self.weights,
            self.mask.as_deref().map(Vec::as_slice),
        );
        tensor_of(d, [self.shape.frames])
    }
}

fn tracked(state: LayerState, fy: TrackedTensor) -> TrackedTensor {
    let fy_values = fy.primitive.to_contiguous();
    let d = state.forward(&fy_values);
    match LayerDistanceBackward
        .prepare::<NoCheckpointing>([fy.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish((state, Arc::new(fy_values)), d),
        OpsKind::UnTracked(prep) => prep.finish(d),
    }
}

/// `dfy` from [`kernel::backward`].
#[derive(Debug)]
struct LayerDistanceBackward;

impl Backward<Flex, 1> for LayerDistanceBackward {
    /// The forward pass's state and `fy`.
    type State = (LayerState, Arc<FlexTensor>);

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [Some(node)] = ops.parents.map(|p| p.map(|n| n.id)) else {
            return;
        };
        let gradient = grads.consume::<Flex>(&ops.node).to_contiguous();
        let (state, fy) = &ops.state;
        let dfy = kernel::backward(
            state.shape,
            values(&state.fx),
            values(fy),
            &state.weights,
            state.mask.as_deref().map(Vec::as_slice),
            values(&gradient),
        );
        register_gradient(grads, Some(node), dfy, fy.layout().shape().clone());
    }
}
