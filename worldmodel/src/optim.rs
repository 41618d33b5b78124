//! Optimisation helpers shared by the model components.

use burn::module::{ModuleMapper, Param};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// Decoupled weight decay applied to the weights of `Linear` layers only: biases,
/// norms, embeddings and prediction tokens are left alone (spec section 5, "weights
/// only"). Use it with an AdamW whose own weight decay is zero:
/// `model.map(&mut DecayLinearWeights::new(lr, weight_decay))` after each step.
pub struct DecayLinearWeights {
    factor: f64,
    /// For each module entered, whether it is a `Linear`.
    inside_linear: Vec<bool>,
}

impl DecayLinearWeights {
    pub fn new(lr: f64, weight_decay: f64) -> Self {
        Self { factor: 1.0 - lr * weight_decay, inside_linear: Vec::new() }
    }
}

impl<B: Backend> ModuleMapper<B> for DecayLinearWeights {
    fn enter_module(&mut self, _name: &str, container_type: &str) {
        self.inside_linear.push(container_type == "Struct:Linear");
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.inside_linear.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        // A Linear's weight is its only rank-2 parameter; its bias is rank 1.
        if D != 2 || self.inside_linear.last() != Some(&true) {
            return param;
        }
        let (id, tensor, mapper) = param.consume();
        let tracked = tensor.is_require_grad();
        let mut decayed = tensor.mul_scalar(self.factor).detach();
        if tracked {
            decayed = decayed.require_grad();
        }
        Param::from_mapped_value(id, decayed, mapper)
    }
}
