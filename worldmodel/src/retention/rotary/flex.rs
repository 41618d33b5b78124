//! [`super::kernel`] on burn's CPU backend: `Flex` (forward only) and
//! `Autodiff<Flex>` (an autodiff operation whose backward pass turns the gradient
//! back; the rotation is linear, so it keeps nothing of its input).

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::Flex;
use burn::tensor::backend::{Backend, BackendTypes};
use burn::tensor::Tensor;
use burn_flex::FlexTensor;

use super::kernel::{turn, AngleTable, Turn};
use crate::flex_kernels::{
    concrete, generic, is, kernels_apply, register_gradient, tensor_of, values, AutodiffFlex,
};

type TrackedTensor = <AutodiffFlex as BackendTypes>::FloatTensorPrimitive;

/// `x` rotated and scaled by the kernel, where [`kernels_apply`].
pub(super) fn rotate<B: Backend>(
    table: &Arc<AngleTable>,
    x: Tensor<B, 3>,
    scale: f32,
) -> Tensor<B, 3> {
    assert!(
        kernels_apply::<B>(x.dtype()),
        "the rotary kernel runs on f32 on the CPU backend"
    );
    let [rows, time, _] = x.dims();
    assert_eq!(
        (rows, time),
        (table.rows(), table.time()),
        "rotary angles for rows x tokens differ from the input's"
    );
    if is::<B, Flex>() {
        generic(forward(table, concrete(x), scale))
    } else {
        generic(tracked(table, concrete(x), scale))
    }
}

fn forward(table: &AngleTable, x: FlexTensor, scale: f32) -> FlexTensor {
    let x = x.to_contiguous();
    let y = turn(table, values(&x), Turn::Forward, scale);
    tensor_of(y, x.layout().shape().clone())
}

fn tracked(table: &Arc<AngleTable>, x: TrackedTensor, scale: f32) -> TrackedTensor {
    match RotaryBackward
        .prepare::<NoCheckpointing>([x.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(
            (Arc::clone(table), scale),
            forward(table, x.primitive, scale),
        ),
        OpsKind::UnTracked(prep) => prep.finish(forward(table, x.primitive, scale)),
    }
}

/// dx = the gradient scaled and turned back by the same angles.
#[derive(Debug)]
struct RotaryBackward;

impl Backward<Flex, 1> for RotaryBackward {
    /// The angles and the scale.
    type State = (Arc<AngleTable>, f32);

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [Some(node)] = ops.parents.map(|p| p.map(|n| n.id)) else {
            return;
        };
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let (table, scale) = &ops.state;
        let dx = turn(table, values(&dy), Turn::Back, *scale);
        register_gradient(grads, Some(node), dx, dy.layout().shape().clone());
    }
}
