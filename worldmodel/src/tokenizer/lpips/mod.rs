//! LPIPS (Zhang et al. 2018) on VGG16: REM's perceptual term, with REM's frozen
//! weights (`scripts/lpips_weights.py` writes them; docs/deviations.md says where they
//! come from).
//!
//! For frames `x`, `y` (`[N, 3, H, W]` in [-1, 1]):
//!
//! ```text
//! s(x)        = (x - shift) / scale                      per channel
//! f_l(x)      = VGG16 features after relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
//! n_l(x)      = f_l(x) / (sqrt(sum_c f_l(x)^2) + 1e-10)  unit length over channels
//! d(x, y)     = sum_l mean_{h,w} sum_c w_l[c] (n_l(s(x)) - n_l(s(y)))^2
//! ```
//!
//! In training REM's network is in train mode, so dropout (p = 0.5) acts on the squared
//! differences before the weights `w_l` ([`crate::dropout`], the thread's stream).
//! Each layer's term, from `f_l` on, is [`layer_distance()`]: on the CPU backend one
//! kernel pass forward and one back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::module::max_pool2d;
use burn::tensor::{Tensor, TensorData};

use crate::conv::conv3x3_same;
use layer_distance::layer_distance;

pub mod layer_distance;

/// Output channels of VGG16's thirteen 3x3 convolutions, in order.
pub const VGG16_CHANNELS: [usize; 13] = [
    64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512,
];
/// The convolutions whose ReLU output LPIPS compares (relu1_2 ... relu5_3); a 2x2
/// max-pool follows each of them but the last.
const TAPS: [usize; 5] = [1, 3, 6, 9, 12];
/// The scaling layer's shift and scale, per RGB channel.
const SHIFT: [f32; 3] = [-0.030, -0.088, -0.188];
const SCALE: [f32; 3] = [0.458, 0.448, 0.450];
/// REM's dropout on the squared differences in train mode.
const DROPOUT: f64 = 0.5;

/// Weights that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LpipsError {
    #[error(
        "cannot read the LPIPS weights {path}: {reason}; `python3 scripts/lpips_weights.py \
         --out {path}` fetches and writes them"
    )]
    Unreadable { path: PathBuf, reason: String },
    #[error("{path}: tensor {name}: {reason}")]
    Tensor {
        path: PathBuf,
        name: String,
        reason: String,
    },
}

/// VGG16's convolutions and LPIPS's linear layers, as f32 values in PyTorch's layout.
#[derive(Debug, Clone, PartialEq)]
pub struct LpipsWeights {
    /// `(weight [out, in, 3, 3], bias [out])` of each convolution.
    convs: Vec<(Vec<f32>, Vec<f32>)>,
    /// The five linear layers' channel weights.
    lins: Vec<Vec<f32>>,
}

impl LpipsWeights {
    /// Reads the safetensors file that `scripts/lpips_weights.py` writes, checking
    /// every tensor's shape.
    pub fn load(path: &Path) -> Result<Self, LpipsError> {
        let unreadable = |reason: String| LpipsError::Unreadable {
            path: path.to_owned(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
        let file =
            safetensors::SafeTensors::deserialize(&bytes).map_err(|e| unreadable(e.to_string()))?;
        let read = |name: String, shape: &[usize]| -> Result<Vec<f32>, LpipsError> {
            let bad = |reason: String| LpipsError::Tensor {
                path: path.to_owned(),
                name: name.clone(),
                reason,
            };
            let view = file.tensor(&name).map_err(|e| bad(e.to_string()))?;
            if view.dtype() != safetensors::Dtype::F32 || view.shape() != shape {
                return Err(bad(format!(
                    "{:?} {:?}, expected F32 {shape:?}",
                    view.dtype(),
                    view.shape()
                )));
            }
            Ok(view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect())
        };
        let convs = conv_shapes()
            .enumerate()
            .map(|(i, shape)| {
                let weight = read(format!("conv{i}.weight"), &shape)?;
                let bias = read(format!("conv{i}.bias"), &shape[..1])?;
                Ok((weight, bias))
            })
            .collect::<Result<_, LpipsError>>()?;
        let lins = TAPS
            .iter()
            .enumerate()
            .map(|(l, &tap)| read(format!("lin{l}.weight"), &[VGG16_CHANNELS[tap]]))
            .collect::<Result<_, _>>()?;
        Ok(Self { convs, lins })
    }

    /// [`load`](Self::load) once per path and process: every tokenizer and thread
    /// shares the one copy.
    pub fn shared(path: &Path) -> Result<Arc<Self>, LpipsError> {
        static LOADED: OnceLock<Mutex<HashMap<PathBuf, Arc<LpipsWeights>>>> = OnceLock::new();
        let mut loaded = LOADED
            .get_or_init(Default::default)
            .lock()
            .expect("no thread panics while loading");
        if let Some(weights) = loaded.get(path) {
            return Ok(weights.clone());
        }
        let weights = Arc::new(Self::load(path)?);
        loaded.insert(path.to_owned(), weights.clone());
        Ok(weights)
    }

    /// `d(x, y)` of every frame (`[N]`; module docs), as REM evaluates it (eval mode).
    /// `x` and `y` are `[N, 3, H, W]` in [-1, 1], `H` and `W` multiples of 16. The
    /// network is frozen: gradients reach `y` only (`x`, the target, is detached).
    pub fn distance<B: Backend>(&self, x: Tensor<B, 4>, y: Tensor<B, 4>) -> Tensor<B, 1> {
        self.distance_with_dropout(x, y, 0.0)
    }

    /// [`distance`](Self::distance) as REM trains with it (train mode): dropout with
    /// probability 0.5 on the squared differences, under autodiff, masks drawn from the
    /// thread's stream ([`crate::stream::with_thread_stream`]).
    pub fn training_distance<B: Backend>(&self, x: Tensor<B, 4>, y: Tensor<B, 4>) -> Tensor<B, 1> {
        self.distance_with_dropout(x, y, DROPOUT)
    }

    fn distance_with_dropout<B: Backend>(
        &self,
        x: Tensor<B, 4>,
        y: Tensor<B, 4>,
        dropout: f64,
    ) -> Tensor<B, 1> {
        let [n, channels, height, width] = y.dims();
        assert!(
            channels == 3 && height % 16 == 0 && width % 16 == 0,
            "LPIPS takes RGB frames whose sides are multiples of 16, got [{n}, {channels}, {height}, {width}]"
        );
        let device = y.device();
        let convs = self.conv_tensors(&device);
        let features_x = features(&convs, scaled(x.detach()));
        let features_y = features(&convs, scaled(y));
        let mut total = Tensor::<B, 1>::zeros([n], &device);
        for ((fx, fy), lin) in features_x.into_iter().zip(features_y).zip(&self.lins) {
            total = total + layer_distance(fx, fy, lin, dropout);
        }
        total
    }

    /// The convolutions' weights and biases as tensors on `device`.
    fn conv_tensors<B: Backend>(&self, device: &B::Device) -> Vec<(Tensor<B, 4>, Tensor<B, 1>)> {
        self.convs
            .iter()
            .zip(conv_shapes())
            .map(|((weight, bias), shape)| {
                (
                    constant(weight.clone(), shape, device),
                    constant(bias.clone(), [shape[0]], device),
                )
            })
            .collect()
    }
}

/// `[out, in, 3, 3]` of VGG16's convolutions, in order, from RGB input.
fn conv_shapes() -> impl Iterator<Item = [usize; 4]> {
    let inputs = std::iter::once(3).chain(VGG16_CHANNELS);
    VGG16_CHANNELS
        .into_iter()
        .zip(inputs)
        .map(|(out, channels_in)| [out, channels_in, 3, 3])
}

/// VGG16's features at the five [`TAPS`], from the convolutions `convs`.
fn features<B: Backend>(
    convs: &[(Tensor<B, 4>, Tensor<B, 1>)],
    mut h: Tensor<B, 4>,
) -> Vec<Tensor<B, 4>> {
    let mut taps = Vec::with_capacity(TAPS.len());
    for (i, (weight, bias)) in convs.iter().enumerate() {
        h = relu(conv3x3_same(h, weight.clone(), bias.clone()));
        if TAPS.contains(&i) {
            taps.push(h.clone());
            if i != TAPS[TAPS.len() - 1] {
                h = max_pool2d(h, [2, 2], [2, 2], [0, 0], [1, 1], false);
            }
        }
    }
    taps
}

/// `(x - shift) / scale` per RGB channel.
fn scaled<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let device = x.device();
    let shift = constant(SHIFT.to_vec(), [1, 3, 1, 1], &device);
    let scale = constant(SCALE.to_vec(), [1, 3, 1, 1], &device);
    (x - shift) / scale
}

/// A tensor that is no autodiff leaf: the frozen network's weights.
fn constant<B: Backend, const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}
