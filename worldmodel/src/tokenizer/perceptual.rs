//! The perceptual term of the tokenizer loss: REM's LPIPS ([`super::lpips`]), or a
//! pretrained-weight-free edge term, or none.

use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use super::lpips::LpipsWeights;

/// Which perceptual term is added to the tokenizer loss (weight 1).
///
/// REM's is LPIPS on a frozen VGG16, whose weights `scripts/lpips_weights.py` fetches.
/// The gradient term made held-out reconstructions worse than none (crate README,
/// "Tokenizer: perceptual term").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PerceptualLoss {
    /// No perceptual term.
    #[default]
    None,
    /// Mean absolute difference between the horizontal and vertical finite differences
    /// of the input and of the reconstruction: a cheap edge-preserving term.
    Gradient,
    /// REM's: the batch's mean LPIPS distance, VGG16, with REM's training dropout
    /// ([`LpipsWeights::training_distance`]).
    Lpips,
}

impl PerceptualLoss {
    /// The term for `input` and `reconstruction` (both `[B, 3, H, W]` in the [-1, 1]
    /// pixel space), or `None` when disabled. `Lpips` needs `lpips`, the weights.
    pub fn compute<B: Backend>(
        self,
        lpips: Option<&LpipsWeights>,
        input: Tensor<B, 4>,
        reconstruction: Tensor<B, 4>,
    ) -> Option<Tensor<B, 1>> {
        match self {
            PerceptualLoss::None => None,
            PerceptualLoss::Gradient => Some(gradient_l1(input, reconstruction)),
            PerceptualLoss::Lpips => {
                let weights = lpips.expect("the LPIPS term needs its weights loaded");
                Some(weights.training_distance(input, reconstruction).mean())
            }
        }
    }
}

/// Horizontal and vertical forward differences of `x` (`[B, C, H, W]`).
pub fn image_gradients<B: Backend>(x: Tensor<B, 4>) -> (Tensor<B, 4>, Tensor<B, 4>) {
    let [_, _, height, width] = x.dims();
    let dx = x.clone().narrow(3, 1, width - 1) - x.clone().narrow(3, 0, width - 1);
    let dy = x.clone().narrow(2, 1, height - 1) - x.narrow(2, 0, height - 1);
    (dx, dy)
}

/// Mean |grad(input) - grad(reconstruction)| over both directions (sum of the two means).
pub fn gradient_l1<B: Backend>(input: Tensor<B, 4>, reconstruction: Tensor<B, 4>) -> Tensor<B, 1> {
    let (dx_in, dy_in) = image_gradients(input);
    let (dx_rec, dy_rec) = image_gradients(reconstruction);
    (dx_in - dx_rec).abs().mean() + (dy_in - dy_rec).abs().mean()
}
