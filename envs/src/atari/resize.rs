//! Integer fixed-point bilinear resize of raw emulator screens to 64x64 RGB, and the
//! max-pool of two frames.
//!
//! Only integer arithmetic is used so that the numpy implementation in
//! `reference_wrappers.py` gives the same bytes. Sample positions are pixel-centre
//! aligned: `src = (x + 0.5) * in / out - 0.5`, clamped to the edge; each axis keeps
//! two taps with 11-bit weights rounded half up, and the 2D result is rounded once:
//! `(wy0 * (wx0 * p00 + wx1 * p01) + wy1 * (wx0 * p10 + wx1 * p11) + 2^21) >> 22`.

use crate::frame::{FRAME_BYTES, FRAME_CHANNELS, FRAME_SIDE};

/// Bits of the fixed-point weights on each axis.
pub const WEIGHT_BITS: u32 = 11;
const WEIGHT_ONE: u32 = 1 << WEIGHT_BITS;
const ROUND_SHIFT: u32 = 2 * WEIGHT_BITS;
const ROUND_HALF: u32 = 1 << (ROUND_SHIFT - 1);

/// The two source indices and weights for one output index along one axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tap {
    pub i0: usize,
    pub i1: usize,
    pub w0: u32,
    pub w1: u32,
}

/// Taps for resizing an axis of `n_in` samples to `n_out`.
pub fn axis_taps(n_in: usize, n_out: usize) -> Vec<Tap> {
    assert!(n_in > 0 && n_out > 0, "resize axes must be non-empty");
    // src = num / den with num = (2o + 1) * n_in - n_out and den = 2 * n_out.
    let den = 2 * n_out as i64;
    (0..n_out)
        .map(|o| {
            let num = (2 * o as i64 + 1) * n_in as i64 - n_out as i64;
            let (i0, w1) = if num <= 0 {
                (0, 0)
            } else {
                let i0 = num / den;
                if i0 >= n_in as i64 - 1 {
                    (n_in - 1, 0)
                } else {
                    let rem = num - i0 * den;
                    (
                        i0 as usize,
                        ((rem * WEIGHT_ONE as i64 + den / 2) / den) as u32,
                    )
                }
            };
            Tap {
                i0,
                i1: (i0 + 1).min(n_in - 1),
                w0: WEIGHT_ONE - w1,
                w1,
            }
        })
        .collect()
}

/// One output byte of the horizontal pass: two offsets into a blended row.
#[derive(Debug, Clone, Copy)]
struct ByteTap {
    left: usize,
    right: usize,
    w0: u32,
    w1: u32,
}

/// Resizes `height x width x 3` screens to 64x64x3 with precomputed taps.
#[derive(Debug, Clone)]
pub struct Resizer {
    height: usize,
    width: usize,
    rows: Vec<Tap>,
    /// Horizontal taps for each of the 64 * 3 bytes of an output row.
    cols: Vec<ByteTap>,
}

impl Resizer {
    pub fn new(height: usize, width: usize) -> Self {
        let cols = axis_taps(width, FRAME_SIDE)
            .iter()
            .flat_map(|t| {
                (0..FRAME_CHANNELS).map(move |c| ByteTap {
                    left: t.i0 * FRAME_CHANNELS + c,
                    right: t.i1 * FRAME_CHANNELS + c,
                    w0: t.w0,
                    w1: t.w1,
                })
            })
            .collect();
        Self {
            height,
            width,
            rows: axis_taps(height, FRAME_SIDE),
            cols,
        }
    }

    /// Bytes of one source screen.
    pub fn input_bytes(&self) -> usize {
        self.height * self.width * FRAME_CHANNELS
    }

    /// Resizes one HWC screen into `dst` (64x64x3 bytes).
    pub fn resize_into(&self, src: &[u8], dst: &mut [u8]) {
        assert_eq!(
            src.len(),
            self.input_bytes(),
            "source screen has the wrong size"
        );
        assert_eq!(
            dst.len(),
            FRAME_BYTES,
            "destination must be one 64x64x3 frame"
        );
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { self.resize_avx2(src, dst) };
        }
        self.resize_portable(src, dst);
    }

    /// The same code compiled with AVX2, which vectorises the vertical pass several
    /// times better than the baseline x86-64 target; integer results are identical.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn resize_avx2(&self, src: &[u8], dst: &mut [u8]) {
        self.resize_portable(src, dst);
    }

    /// Vertical blend of the two source rows first (contiguous, so it vectorises),
    /// then the horizontal taps; integer sums are exact, so the order does not change
    /// the result of the formula in the module docs.
    #[inline(always)]
    fn resize_portable(&self, src: &[u8], dst: &mut [u8]) {
        let row_bytes = self.width * FRAME_CHANNELS;
        let mut blended = vec![0u32; row_bytes];
        let out_rows = dst.chunks_exact_mut(FRAME_SIDE * FRAME_CHANNELS);
        for (ty, out_row) in self.rows.iter().zip(out_rows) {
            let top = &src[ty.i0 * row_bytes..][..row_bytes];
            let bottom = &src[ty.i1 * row_bytes..][..row_bytes];
            for ((b, &t), &m) in blended.iter_mut().zip(top).zip(bottom) {
                *b = ty.w0 * t as u32 + ty.w1 * m as u32;
            }
            for (out, tap) in out_row.iter_mut().zip(&self.cols) {
                let sum = tap.w0 * blended[tap.left] + tap.w1 * blended[tap.right];
                *out = ((sum + ROUND_HALF) >> ROUND_SHIFT) as u8;
            }
        }
    }
}

/// `dst = max(dst, other)` per byte: the max-pool of two frames.
pub fn max_pool_into(dst: &mut [u8], other: &[u8]) {
    assert_eq!(
        dst.len(),
        other.len(),
        "max-pooled frames must have the same size"
    );
    for (d, &o) in dst.iter_mut().zip(other) {
        *d = (*d).max(o);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taps_follow_pixel_centres() {
        // 160 -> 64: src = 2.5 x + 0.75.
        let cols = axis_taps(160, 64);
        assert_eq!(
            cols[0],
            Tap {
                i0: 0,
                i1: 1,
                w0: 512,
                w1: 1536
            }
        );
        assert_eq!(
            cols[1],
            Tap {
                i0: 3,
                i1: 4,
                w0: 1536,
                w1: 512
            }
        );
        // 210 -> 64: src = (2y + 1) * 210 / 128 - 0.5; y = 0 gives 1.140625.
        let rows = axis_taps(210, 64);
        assert_eq!(
            rows[0],
            Tap {
                i0: 1,
                i1: 2,
                w0: 2048 - 288,
                w1: 288
            }
        );
        assert!(rows.iter().all(|t| t.i1 < 210 && t.w0 + t.w1 == WEIGHT_ONE));
    }

    #[test]
    fn upscaling_clamps_to_the_edges() {
        let taps = axis_taps(4, 64);
        assert_eq!(
            taps[0],
            Tap {
                i0: 0,
                i1: 1,
                w0: WEIGHT_ONE,
                w1: 0
            }
        );
        assert_eq!(
            taps[63],
            Tap {
                i0: 3,
                i1: 3,
                w0: WEIGHT_ONE,
                w1: 0
            }
        );
    }

    #[test]
    fn constant_screens_stay_constant() {
        let resizer = Resizer::new(210, 160);
        let src = [7u8, 128, 255].repeat(210 * 160);
        let mut dst = vec![0; FRAME_BYTES];
        resizer.resize_into(&src, &mut dst);
        assert!(dst.chunks(3).all(|p| p == [7, 128, 255]));
    }

    #[test]
    fn every_code_path_gives_the_same_bytes() {
        let resizer = Resizer::new(210, 160);
        let mut state = 1u32;
        let src: Vec<u8> = (0..resizer.input_bytes())
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 24) as u8
            })
            .collect();
        let mut portable = vec![0; FRAME_BYTES];
        resizer.resize_portable(&src, &mut portable);
        let mut dispatched = vec![0; FRAME_BYTES];
        resizer.resize_into(&src, &mut dispatched);
        assert_eq!(portable, dispatched);
    }

    #[test]
    fn max_pool_takes_the_brighter_byte() {
        let mut a = vec![1, 200, 3];
        max_pool_into(&mut a, &[100, 2, 3]);
        assert_eq!(a, vec![100, 200, 3]);
    }
}
