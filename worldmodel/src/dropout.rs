//! Dropout whose masks come from the calling thread's seeded stream
//! ([`crate::stream`]).
//!
//! burn's own dropout draws its masks from the backend's one global generator. When
//! the shares of a batch train on several threads, the order in which they read that
//! generator depends on timing, so a run would not repeat. Here every training step
//! opens a stream per share with [`crate::stream::with_thread_stream`], and the masks of that share
//! are the stream's next draws, whatever the other threads do.
//!
//! mask_i = 1 / (1 - p) with probability 1 - p, else 0; `y = x * mask`.

use burn::module::{Content, DisplaySettings, Module, ModuleDisplay};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rem_envs::rng::SplitMix64;

use crate::stream::draw_from_thread_stream;

/// Zeroes each element with probability `prob` and scales the rest by 1 / (1 - prob),
/// in training (autodiff) only.
#[derive(Module, Clone, Debug)]
#[module(custom_display)]
pub struct Dropout {
    pub prob: f64,
}

impl Dropout {
    /// Panics unless `prob` is in [0, 1).
    pub fn new(prob: f64) -> Self {
        assert!(
            (0.0..1.0).contains(&prob),
            "dropout {prob} is outside [0, 1)"
        );
        Self { prob }
    }

    /// Panics when training with `prob > 0` outside [`crate::stream::with_thread_stream`].
    pub fn forward<B: Backend, const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        if !B::ad_enabled(&x.device()) || self.prob == 0.0 {
            return x;
        }
        let shape = x.shape();
        let mask = thread_mask(shape.num_elements(), self.prob);
        let mask = Tensor::from_data(TensorData::new(mask, shape), &x.device());
        x * mask
    }
}

/// The next `len` mask values (probability `prob` of dropping) of the thread's stream,
/// as [`Dropout::forward`] draws them; for kernels that apply a dropout themselves.
/// Panics outside [`crate::stream::with_thread_stream`].
pub(crate) fn thread_mask(len: usize, prob: f64) -> Vec<f32> {
    draw_from_thread_stream(|stream| keep_mask(stream, len, prob))
        .expect("dropout in training needs a stream: run the step in with_thread_stream")
}

/// `len` mask values, two per 64-bit draw: each 32-bit half below `prob * 2^32`
/// drops its element. Written without a branch per element: which elements drop is
/// random, so a branch would be mispredicted at every other drop.
fn keep_mask(stream: &mut SplitMix64, len: usize, prob: f64) -> Vec<f32> {
    let threshold = (prob * 4_294_967_296.0) as u64;
    let kept = (1.0 / (1.0 - prob)) as f32;
    let value = |half: u64| kept * f32::from(u8::from(half >= threshold));
    let mut mask = vec![0.0; len.next_multiple_of(2)];
    for pair in mask.chunks_exact_mut(2) {
        let draw = stream.next_u64();
        pair[0] = value(draw >> 32);
        pair[1] = value(draw & 0xFFFF_FFFF);
    }
    mask.truncate(len);
    mask
}

impl ModuleDisplay for Dropout {
    fn custom_settings(&self) -> Option<DisplaySettings> {
        DisplaySettings::new()
            .with_new_line_after_attribute(false)
            .optional()
    }

    fn custom_content(&self, content: Content) -> Option<Content> {
        content.add("prob", &self.prob).optional()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::with_thread_stream;
    use burn::backend::{Autodiff, Flex};

    type AD = Autodiff<Flex>;

    fn masked(seed: u64, prob: f64, len: usize) -> Vec<f32> {
        let x = Tensor::<AD, 1>::ones([len], &Default::default());
        let y = with_thread_stream(seed, || Dropout::new(prob).forward(x));
        y.into_data().to_vec().unwrap()
    }

    #[test]
    fn drops_the_expected_share_and_keeps_the_mean() {
        let y = masked(7, 0.1, 100_000);
        let dropped = y.iter().filter(|&&v| v == 0.0).count() as f64 / y.len() as f64;
        let mean = y.iter().map(|&v| v as f64).sum::<f64>() / y.len() as f64;
        // Binomial standard deviation of the dropped share: ~0.001.
        assert!((dropped - 0.1).abs() < 0.005, "dropped share {dropped}");
        assert!((mean - 1.0).abs() < 0.01, "mean {mean}");
        assert!(y.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.9).abs() < 1e-6));
    }

    #[test]
    fn a_seed_gives_the_same_masks_on_any_thread() {
        let here = masked(3, 0.5, 257);
        let there = std::thread::spawn(|| masked(3, 0.5, 257)).join().unwrap();
        assert_eq!(here, there);
        assert_ne!(here, masked(4, 0.5, 257));
    }

    #[test]
    fn inference_and_zero_probability_pass_the_input_through() {
        let x = Tensor::<Flex, 1>::ones([8], &Default::default());
        let y: Vec<f32> = Dropout::new(0.5).forward(x).into_data().to_vec().unwrap();
        assert_eq!(y, [1.0; 8]);
        assert_eq!(masked(1, 0.0, 8), [1.0; 8]);
    }
}
