//! Our own kernels on burn's CPU backend, chosen by type at run time.
//!
//! burn has no hook to replace one operation of an existing backend, so a function
//! generic over the backend checks whether it runs on `Flex` (or `Autodiff<Flex>`)
//! and, if so, reaches the concrete tensors through `Any`. The type is compared
//! before every cast, so the casts cannot fail, and no `unsafe` is needed.

use std::any::{Any, TypeId};

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::NodeId;
use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Shape, Tensor, TensorData, TensorPrimitive};
use burn_flex::FlexTensor;

/// burn's CPU backend with autodiff, as the CPU runs train.
pub(crate) type AutodiffFlex = Autodiff<Flex>;

/// Whether `B` is the backend `Other`.
pub(crate) fn is<B: Backend, Other: Backend>() -> bool {
    TypeId::of::<B>() == TypeId::of::<Other>()
}

/// Whether our kernels run for float tensors of `dtype` on `B`: f32 on `Flex` or
/// `Autodiff<Flex>`.
pub(crate) fn kernels_apply<B: Backend>(dtype: DType) -> bool {
    dtype == DType::F32 && (is::<B, Flex>() || is::<B, AutodiffFlex>())
}

/// A float tensor of `B` as `B`'s concrete primitive `T` (`FlexTensor` on `Flex`).
/// Callers check [`is`] first.
pub(crate) fn concrete<B: Backend, T: 'static, const D: usize>(t: Tensor<B, D>) -> T {
    match t.into_primitive() {
        TensorPrimitive::Float(p) => cast(p),
        TensorPrimitive::QFloat(_) => panic!("quantised tensors have no kernel of ours"),
    }
}

/// The inverse of [`concrete`].
pub(crate) fn generic<B: Backend, T: 'static, const D: usize>(primitive: T) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(cast(primitive)))
}

fn cast<From: 'static, To: 'static>(value: From) -> To {
    *(Box::new(value) as Box<dyn Any>)
        .downcast::<To>()
        .expect("the backend's type is compared before every cast")
}

/// The values of a contiguous f32 tensor (callers make it contiguous first).
pub(crate) fn values(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>()
        .expect("a contiguous f32 tensor (callers check the dtype and make it contiguous)")
}

/// A tensor of `values` in `shape`.
pub(crate) fn tensor_of(values: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// The output of node `id`, saved by the forward pass for the backward one, as a
/// contiguous tensor.
pub(crate) fn checkpointed(checkpointer: &mut Checkpointer, id: NodeId) -> FlexTensor {
    checkpointer
        .retrieve_node_output::<FlexTensor>(id)
        .to_contiguous()
}

/// Hands `values` (in `shape`) to the node `node` as its gradient, where the node is
/// tracked.
pub(crate) fn register_gradient(
    grads: &mut Gradients,
    node: Option<NodeId>,
    values: Vec<f32>,
    shape: impl Into<Shape>,
) {
    if let Some(node) = node {
        grads.register::<Flex>(node, tensor_of(values, shape));
    }
}
