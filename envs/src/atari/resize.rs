//! Resize of raw emulator screens to 64x64 RGB with exactly Pillow's bytes, and the
//! max-pool of two frames.
//!
//! REM and IRIS feed their agents `Image.fromarray(screen).resize((64, 64),
//! Image.BILINEAR)`, and algorithm.md, section 1 asks for the same bytes. Pillow's
//! bilinear filter is anti-aliased when shrinking: a triangle kernel whose support
//! widens with the shrink factor, so every source pixel counts and a 1-pixel ball
//! never falls between two samples. Pillow (`libImaging/Resample.c`) is the test
//! oracle (`tests/resize_pillow.rs`); this module is written from its behaviour.
//!
//! # The maths, per axis (`n_in` samples to `n_out`), in f64 as Pillow does it
//!
//! - `scale = n_in / n_out`, `filterscale = max(scale, 1)`, `support = filterscale`
//!   (the triangle's support of 1, widened when shrinking);
//! - output `o` is centred on `center = (o + 0.5) * scale` and reads source samples
//!   `xmin..xmax` with `xmin = max(trunc(center - support + 0.5), 0)` and
//!   `xmax = min(trunc(center + support + 0.5), n_in)`;
//! - sample `x` weighs `tri((x - center + 0.5) * (1 / filterscale))`, where
//!   `tri(t) = max(1 - |t|, 0)`; the weights are divided by their sum, then turned
//!   into fixed point with `PRECISION_BITS = 22`: `k = trunc(0.5 + w * 2^22)`.
//!
//! For 210x160 screens: columns `scale = 2.5`, 5 taps per output; rows
//! `scale = 3.28125`, 6 or 7 taps.
//!
//! # One pass, in i32
//!
//! `out = clamp((2^21 + sum_x k_x * in_x) >> 22, 0, 255)`. The sums cannot overflow:
//! the weights are non-negative and add up to 2^22 within half a unit per tap.
//!
//! # Two passes, in Pillow's order
//!
//! Atari screens go horizontal first: `src` (H x W x 3, HWC, u8) -> horizontal pass
//! over only the source rows that the vertical pass reads -> `temp` (rows x 64 x 3,
//! u8, rounded as above) -> vertical pass -> `dst` (64 x 64 x 3). Pillow 13 runs the
//! vertical pass first when the height shrinks by more than twice as many pixels as
//! the width (`horizontal_first`), and so does this module: `src` -> vertical pass ->
//! `temp` (64 x W x 3) -> horizontal pass -> `dst`. The intermediate rounding to u8
//! is part of Pillow's result, so the order of the passes matters; within one pass
//! any order of the integer additions gives the same bytes.
//!
//! # Speed
//!
//! Each output's window is moved inside the axis (`first = min(xmin, n_in - taps)`)
//! and padded with zero weights to the same tap count, so the loops have a fixed
//! shape and no bounds to clamp; a zero weight adds exactly nothing. With AVX2 (see
//! `avx2`) both passes use eight i32 lanes: the vertical pass over contiguous bytes of
//! a row, the horizontal pass over the RGB(x) of two output pixels at once. The
//! portable code is the same arithmetic and the tests check both give the same bytes.

use crate::frame::{FRAME_BYTES, FRAME_CHANNELS, FRAME_SIDE};

/// Fractional bits of the fixed-point weights (Pillow's `PRECISION_BITS`).
pub const PRECISION_BITS: u32 = 22;
const HALF: i32 = 1 << (PRECISION_BITS - 1);

/// Pillow's bilinear filter: a triangle of support 1.
fn triangle(t: f64) -> f64 {
    let t = t.abs();
    if t < 1.0 {
        1.0 - t
    } else {
        0.0
    }
}

/// The source window and fixed-point weights of every output index along one axis,
/// exactly as Pillow computes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AxisFilter {
    /// First source index of each output (Pillow's `xmin`).
    pub start: Vec<usize>,
    /// Weights of each output for source indices `start[o]..start[o] + len`.
    pub weights: Vec<Vec<i32>>,
}

/// Pillow's bilinear coefficients for resizing an axis of `n_in` samples to `n_out`.
pub fn axis_filter(n_in: usize, n_out: usize) -> AxisFilter {
    assert!(n_in > 0 && n_out > 0, "resize axes must be non-empty");
    let scale = n_in as f64 / n_out as f64;
    let filterscale = scale.max(1.0);
    let support = filterscale;
    let inv_filterscale = 1.0 / filterscale;
    let one = f64::from(1u32 << PRECISION_BITS);
    let mut start = Vec::with_capacity(n_out);
    let mut weights = Vec::with_capacity(n_out);
    for o in 0..n_out {
        let center = (o as f64 + 0.5) * scale;
        // `as` truncates toward zero, like C's (int) cast.
        let xmin = ((center - support + 0.5) as i64).max(0);
        let xmax = ((center + support + 0.5) as i64).min(n_in as i64);
        let len = (xmax - xmin).max(0) as usize;
        let mut w: Vec<f64> = (0..len)
            .map(|x| triangle(((x as i64 + xmin) as f64 - center + 0.5) * inv_filterscale))
            .collect();
        let mut sum = 0.0;
        for &v in &w {
            sum += v;
        }
        if sum != 0.0 {
            for v in &mut w {
                *v /= sum;
            }
        }
        start.push(xmin as usize);
        // The weights are never negative, so Pillow's rounding is 0.5 up, truncated.
        weights.push(w.iter().map(|&v| (0.5 + v * one) as i32).collect());
    }
    AxisFilter { start, weights }
}

/// An axis's filter in a fixed shape: `taps` weights per output (zero-padded), read
/// from `first[o]..first[o] + taps`, always inside the axis.
#[derive(Debug, Clone)]
struct Taps {
    taps: usize,
    first: Vec<usize>,
    weights: Vec<i32>,
}

impl Taps {
    fn new(filter: &AxisFilter, n_in: usize) -> Self {
        let taps = filter
            .weights
            .iter()
            .map(Vec::len)
            .max()
            .unwrap_or(1)
            .max(1);
        assert!(taps <= n_in, "a window is never wider than its axis");
        let mut first = Vec::with_capacity(filter.start.len());
        let mut weights = Vec::with_capacity(filter.start.len() * taps);
        for (&start, w) in filter.start.iter().zip(&filter.weights) {
            let at = start.min(n_in - taps);
            let mut padded = vec![0; taps];
            padded[start - at..start - at + w.len()].copy_from_slice(w);
            first.push(at);
            weights.extend_from_slice(&padded);
        }
        Self {
            taps,
            first,
            weights,
        }
    }

    /// The source range all outputs read together.
    fn span(&self) -> std::ops::Range<usize> {
        let lo = self.first.iter().copied().min().unwrap_or(0);
        let hi = self.first.iter().map(|f| f + self.taps).max().unwrap_or(0);
        lo..hi
    }
}

/// One rounded output of a pass: Pillow's `clip8`.
#[inline(always)]
fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Bytes of one output row.
const ROW_BYTES: usize = FRAME_SIDE * FRAME_CHANNELS;

/// Resizes `height x width x 3` screens to 64x64x3 with precomputed taps.
#[derive(Debug, Clone)]
pub struct Resizer {
    height: usize,
    width: usize,
    cols: Taps,
    rows: Taps,
    /// Pillow's order of the passes (see `horizontal_first`).
    horizontal_first: bool,
    /// Source rows the vertical pass reads: with the horizontal pass first, only these
    /// are resized horizontally.
    used_rows: std::ops::Range<usize>,
    /// The column weights for the AVX2 pass, per pair of output pixels and tap:
    /// four copies of the left pixel's weight, then four of the right one's.
    pair_weights: Vec<i32>,
}

/// Pillow's (version 13) choice of the first pass: the vertical one only when the
/// height shrinks by more than twice as many pixels as the width does. Atari screens
/// (210x160 to 64x64: 146 rows against 96 columns) go horizontal first.
pub fn horizontal_first(height: usize, width: usize) -> bool {
    let dy = height as i64 - FRAME_SIDE as i64;
    let dx = width as i64 - FRAME_SIDE as i64;
    !(dy > 0 && dy > 2 * dx)
}

impl Resizer {
    pub fn new(height: usize, width: usize) -> Self {
        let cols = Taps::new(&axis_filter(width, FRAME_SIDE), width);
        let rows = Taps::new(&axis_filter(height, FRAME_SIDE), height);
        let horizontal_first = horizontal_first(height, width);
        let used_rows = if horizontal_first {
            rows.span()
        } else {
            0..height
        };
        let pair_weights = cols
            .weights
            .chunks_exact(2 * cols.taps)
            .flat_map(|pair| {
                let (left, right) = pair.split_at(cols.taps);
                left.iter()
                    .zip(right)
                    .flat_map(|(&l, &r)| [l, l, l, l, r, r, r, r])
            })
            .collect();
        Self {
            height,
            width,
            cols,
            rows,
            horizontal_first,
            used_rows,
            pair_weights,
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
            return unsafe { avx2::resize(self, src, dst) };
        }
        self.resize_portable(src, dst);
    }

    fn resize_portable(&self, src: &[u8], dst: &mut [u8]) {
        self.two_passes(src, dst, Self::horizontal, Self::vertical);
    }

    /// Runs the two passes in Pillow's order. `horizontal(self, row, out)` resizes
    /// one row, given with at least one byte after it, into 64 x 3 bytes;
    /// `vertical(self, rows, row_bytes, out)` resizes rows of any length to 64.
    #[inline(always)]
    fn two_passes(
        &self,
        src: &[u8],
        dst: &mut [u8],
        horizontal: impl Fn(&Self, &[u8], &mut [u8]),
        vertical: impl Fn(&Self, &[u8], usize, &mut [u8]),
    ) {
        let row_bytes = self.width * FRAME_CHANNELS;
        if self.horizontal_first {
            let mut temp = vec![0u8; self.used_rows.len() * ROW_BYTES];
            let mut padded = vec![0u8; row_bytes + 1];
            for (y, out) in self.used_rows.clone().zip(temp.chunks_exact_mut(ROW_BYTES)) {
                let start = y * row_bytes;
                let row = if start + row_bytes < src.len() {
                    &src[start..start + row_bytes + 1]
                } else {
                    padded[..row_bytes].copy_from_slice(&src[start..start + row_bytes]);
                    &padded[..]
                };
                horizontal(self, row, out);
            }
            vertical(self, &temp, ROW_BYTES, dst);
        } else {
            // One spare byte after the last row.
            let mut temp = vec![0u8; FRAME_SIDE * row_bytes + 1];
            vertical(self, src, row_bytes, &mut temp[..FRAME_SIDE * row_bytes]);
            for (y, out) in dst.chunks_exact_mut(ROW_BYTES).enumerate() {
                horizontal(self, &temp[y * row_bytes..(y + 1) * row_bytes + 1], out);
            }
        }
    }

    /// One source row (W x 3) to one row of 64 x 3.
    fn horizontal(&self, row: &[u8], out: &mut [u8]) {
        let taps = self.cols.taps;
        for ((pixel, &first), w) in out
            .chunks_exact_mut(FRAME_CHANNELS)
            .zip(&self.cols.first)
            .zip(self.cols.weights.chunks_exact(taps))
        {
            let window = &row[first * FRAME_CHANNELS..(first + taps) * FRAME_CHANNELS];
            let mut acc = [HALF; FRAME_CHANNELS];
            for (p, &k) in window.chunks_exact(FRAME_CHANNELS).zip(w) {
                for (a, &v) in acc.iter_mut().zip(p) {
                    *a += i32::from(v) * k;
                }
            }
            for (o, &a) in pixel.iter_mut().zip(&acc) {
                *o = clip8(a);
            }
        }
    }

    /// Rows of `row_bytes` bytes (the rows `used_rows` of the source) to 64 rows.
    fn vertical(&self, rows: &[u8], row_bytes: usize, dst: &mut [u8]) {
        let taps = self.rows.taps;
        let mut acc = vec![0i32; row_bytes];
        for ((out, &first), w) in dst
            .chunks_exact_mut(row_bytes)
            .zip(&self.rows.first)
            .zip(self.rows.weights.chunks_exact(taps))
        {
            acc.fill(HALF);
            let first = first - self.used_rows.start;
            let window = &rows[first * row_bytes..(first + taps) * row_bytes];
            for (line, &k) in window.chunks_exact(row_bytes).zip(w) {
                for (a, &v) in acc.iter_mut().zip(line) {
                    *a += i32::from(v) * k;
                }
            }
            for (o, &a) in out.iter_mut().zip(&acc) {
                *o = clip8(a);
            }
        }
    }
}

/// Both passes with AVX2 intrinsics: the same integer sums as the portable code, eight
/// i32 lanes at a time. The horizontal pass reads each pixel as 4 bytes (RGB and the
/// next byte, whose lane is dropped) and handles two output pixels per vector; the
/// vertical pass handles 8 bytes of a row per vector.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;
    use std::ptr::{read_unaligned, write_unaligned};

    use super::{clip8, Resizer, FRAME_CHANNELS, FRAME_SIDE, HALF, PRECISION_BITS};

    const SHIFT: i32 = PRECISION_BITS as i32;
    const _: () = assert!(FRAME_SIDE.is_multiple_of(2));

    /// # Safety
    /// The CPU must support AVX2; the slices are checked by `Resizer::resize_into`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn resize(r: &Resizer, src: &[u8], dst: &mut [u8]) {
        r.two_passes(
            src,
            dst,
            |r, row, out| unsafe { horizontal(r, row, out) },
            |r, rows, row_bytes, out| unsafe { vertical(r, rows, row_bytes, out) },
        );
    }

    /// The tap loops compiled for the counts that occur when shrinking a little or a
    /// lot (fully unrolled), and for any count.
    macro_rules! by_taps {
        ($taps:expr, $f:ident($($arg:expr),*)) => {
            match $taps {
                2 => $f::<2>($($arg),*),
                3 => $f::<3>($($arg),*),
                4 => $f::<4>($($arg),*),
                5 => $f::<5>($($arg),*),
                6 => $f::<6>($($arg),*),
                7 => $f::<7>($($arg),*),
                _ => $f::<0>($($arg),*),
            }
        };
    }

    #[target_feature(enable = "avx2")]
    unsafe fn horizontal(r: &Resizer, row: &[u8], out: &mut [u8]) {
        by_taps!(r.cols.taps, horizontal_taps(r, row, out))
    }

    #[target_feature(enable = "avx2")]
    unsafe fn vertical(r: &Resizer, rows: &[u8], row_bytes: usize, dst: &mut [u8]) {
        by_taps!(r.rows.taps, vertical_taps(r, rows, row_bytes, dst))
    }

    /// `row`: one source row and at least one byte after it; `out`: 64 x 3 bytes.
    /// `TAPS`: the column tap count, or 0 to read it from `r`.
    #[target_feature(enable = "avx2")]
    unsafe fn horizontal_taps<const TAPS: usize>(r: &Resizer, row: &[u8], out: &mut [u8]) {
        let taps = if TAPS == 0 { r.cols.taps } else { TAPS };
        assert_eq!(taps, r.cols.taps);
        assert!(out.len() == FRAME_SIDE * FRAME_CHANNELS);
        assert!(r.pair_weights.len() == FRAME_SIDE * taps * 4);
        // Every window lies inside the row (first + taps <= width), and the 4-byte
        // read of its last pixel ends at most one byte after the row.
        assert!(r.cols.span().end * FRAME_CHANNELS < row.len());
        let src = row.as_ptr();
        // The last pixel of a row is written as 3 bytes, the others as 4 (the 4th
        // overwritten by the next pixel).
        let mut last = [0u8; 4];
        for m in 0..FRAME_SIDE / 2 {
            let left = src.add(r.cols.first[2 * m] * FRAME_CHANNELS);
            let right = src.add(r.cols.first[2 * m + 1] * FRAME_CHANNELS);
            let weights = r.pair_weights.as_ptr().add(m * taps * 8);
            let mut acc = _mm256_set1_epi32(HALF);
            for t in 0..taps {
                let a = _mm_cvtsi32_si128(read_unaligned(left.add(t * 3) as *const i32));
                let b = _mm_cvtsi32_si128(read_unaligned(right.add(t * 3) as *const i32));
                let pixels = _mm256_cvtepu8_epi32(_mm_unpacklo_epi32(a, b));
                let k = _mm256_loadu_si256(weights.add(t * 8) as *const __m256i);
                acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(pixels, k));
            }
            let bytes = clip8x8(acc);
            write_unaligned(
                out.as_mut_ptr().add(6 * m) as *mut i32,
                _mm_cvtsi128_si32(bytes),
            );
            if m + 1 < FRAME_SIDE / 2 {
                let at = out.as_mut_ptr().add(6 * m + 3) as *mut i32;
                write_unaligned(at, _mm_extract_epi32::<1>(bytes));
            } else {
                last = _mm_extract_epi32::<1>(bytes).to_le_bytes();
            }
        }
        out[ROW_TAIL..].copy_from_slice(&last[..FRAME_CHANNELS]);
    }

    const ROW_TAIL: usize = (FRAME_SIDE - 1) * FRAME_CHANNELS;

    /// Rows of `row_bytes` bytes to 64 rows, 8 bytes at a time, the rest one by one.
    /// `TAPS`: the row tap count, or 0 to read it from `r`.
    #[target_feature(enable = "avx2")]
    unsafe fn vertical_taps<const TAPS: usize>(
        r: &Resizer,
        rows: &[u8],
        row_bytes: usize,
        dst: &mut [u8],
    ) {
        let taps = if TAPS == 0 { r.rows.taps } else { TAPS };
        assert_eq!(taps, r.rows.taps);
        let vector_bytes = row_bytes - row_bytes % 8;
        for (y, out) in dst.chunks_exact_mut(row_bytes).enumerate() {
            let first = r.rows.first[y] - r.used_rows.start;
            let window = &rows[first * row_bytes..(first + taps) * row_bytes];
            let weights = &r.rows.weights[y * taps..(y + 1) * taps];
            for j in (0..vector_bytes).step_by(8) {
                let mut acc = _mm256_set1_epi32(HALF);
                for (s, &k) in weights.iter().enumerate() {
                    let p = window.as_ptr().add(s * row_bytes + j);
                    let pixels = _mm256_cvtepu8_epi32(_mm_loadl_epi64(p as *const __m128i));
                    acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(pixels, _mm256_set1_epi32(k)));
                }
                _mm_storel_epi64(out.as_mut_ptr().add(j) as *mut __m128i, clip8x8(acc));
            }
            for (j, o) in out.iter_mut().enumerate().skip(vector_bytes) {
                let mut acc = HALF;
                for (s, &k) in weights.iter().enumerate() {
                    acc += i32::from(window[s * row_bytes + j]) * k;
                }
                *o = clip8(acc);
            }
        }
    }

    /// Eight sums to eight bytes in the low half: `clamp(acc >> 22, 0, 255)`, the
    /// clamp done by the saturating packs.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn clip8x8(acc: __m256i) -> __m128i {
        let v = _mm256_srai_epi32::<SHIFT>(acc);
        let v = _mm256_packus_epi32(v, v); // u16: [0..4, 0..4 | 4..8, 4..8]
        let v = _mm256_permute4x64_epi64::<0b11_01_10_00>(v); // [0..4, 4..8, ...]
        let v = _mm256_castsi256_si128(v);
        _mm_packus_epi16(v, v)
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

    const ONE: i32 = 1 << PRECISION_BITS;

    #[test]
    fn columns_of_an_atari_screen_read_five_pixels() {
        // 160 -> 64: scale 2.5; output 0 is centred on 1.25 and its window is cut at
        // the left edge; output 2 is centred on 6.25 and reads 4..9 with weights
        // tri((x + 0.5 - 6.25) / 2.5) = 0.3, 0.7, 0.9, 0.5, 0.1, divided by 2.5.
        let f = axis_filter(160, 64);
        assert_eq!(f.start[0], 0);
        assert_eq!(f.weights[0].len(), 4);
        assert_eq!(f.start[2], 4);
        let expected: Vec<i32> = [0.12, 0.28, 0.36, 0.2, 0.04]
            .iter()
            .map(|w| (0.5 + w * f64::from(ONE)) as i32)
            .collect();
        assert_eq!(f.weights[2], expected);
        assert_eq!(f.start[63], 156);
        assert_eq!(f.weights[63].len(), 4);
    }

    #[test]
    fn rows_of_an_atari_screen_read_six_or_seven_lines() {
        let f = axis_filter(210, 64);
        assert_eq!(f.start[0], 0);
        assert!(f.weights[1..63]
            .iter()
            .all(|w| w.len() == 6 || w.len() == 7));
        assert_eq!(*f.start.last().unwrap() + f.weights[63].len(), 210);
        assert_eq!(Resizer::new(210, 160).used_rows, 0..210);
    }

    #[test]
    fn weights_sum_to_one_within_rounding() {
        for (n_in, n_out) in [(210, 64), (160, 64), (64, 64), (7, 64), (300, 64), (1, 64)] {
            let f = axis_filter(n_in, n_out);
            for (o, (&start, w)) in f.start.iter().zip(&f.weights).enumerate() {
                assert!(
                    !w.is_empty() && start + w.len() <= n_in,
                    "{n_in}->{n_out} #{o}"
                );
                assert!(w.iter().all(|&k| (0..=ONE).contains(&k)));
                let sum: i32 = w.iter().sum();
                let slack = w.len() as i32;
                assert!((sum - ONE).abs() <= slack, "{n_in}->{n_out} #{o}: {sum}");
            }
        }
    }

    #[test]
    fn same_size_is_the_identity() {
        let f = axis_filter(64, 64);
        for (o, (&start, w)) in f.start.iter().zip(&f.weights).enumerate() {
            assert_eq!(start, o);
            assert_eq!(w[0], ONE);
            assert!(w[1..].iter().all(|&k| k == 0));
        }
        let resizer = Resizer::new(64, 64);
        let src: Vec<u8> = (0..FRAME_BYTES).map(|i| (i * 37 % 251) as u8).collect();
        let mut dst = vec![0; FRAME_BYTES];
        resizer.resize_into(&src, &mut dst);
        assert_eq!(src, dst);
    }

    #[test]
    fn padded_windows_stay_inside_the_axis() {
        for (n_in, n_out) in [(210, 64), (160, 64), (7, 64), (3, 64)] {
            let f = axis_filter(n_in, n_out);
            let taps = Taps::new(&f, n_in);
            for (o, &first) in taps.first.iter().enumerate() {
                assert!(first + taps.taps <= n_in);
                let w = &taps.weights[o * taps.taps..][..taps.taps];
                let offset = f.start[o] - first;
                assert_eq!(&w[offset..offset + f.weights[o].len()], &f.weights[o][..]);
                assert_eq!(w.iter().sum::<i32>(), f.weights[o].iter().sum::<i32>());
            }
        }
    }

    #[test]
    fn constant_screens_stay_constant() {
        for (h, w) in [(210, 160), (7, 300), (250, 40)] {
            let resizer = Resizer::new(h, w);
            let src = [7u8, 128, 255].repeat(h * w);
            let mut dst = vec![0; FRAME_BYTES];
            resizer.resize_into(&src, &mut dst);
            assert!(dst.chunks(3).all(|p| p == [7, 128, 255]), "{h}x{w}");
        }
    }

    #[test]
    fn one_lit_pixel_is_never_lost() {
        // White pixels on black, 8 rows and 6 columns apart (no output sees two): each
        // one shows up in the output pixel that covers it, wherever it is.
        let resizer = Resizer::new(210, 160);
        let mut dst = vec![0; FRAME_BYTES];
        for (dy, dx) in (0..8).flat_map(|dy| (0..6).map(move |dx| (dy, dx))) {
            let mut src = vec![0u8; resizer.input_bytes()];
            for y in (dy..210).step_by(8) {
                for x in (dx..160).step_by(6) {
                    src[(y * 160 + x) * 3..][..3].fill(255);
                }
            }
            resizer.resize_into(&src, &mut dst);
            for y in (dy..210).step_by(8) {
                for x in (dx..160).step_by(6) {
                    let (oy, ox) = (y * 64 / 210, x * 64 / 160);
                    assert!(dst[(oy * 64 + ox) * 3] > 0, "pixel ({y}, {x}) vanished");
                }
            }
        }
    }

    #[test]
    fn pass_order_follows_pillow() {
        assert!(horizontal_first(210, 160));
        assert!(horizontal_first(250, 160));
        assert!(!horizontal_first(210, 129));
        assert!(!horizontal_first(65, 63));
        assert!(horizontal_first(63, 300));
        assert!(horizontal_first(64, 64));
    }

    #[test]
    fn every_code_path_gives_the_same_bytes() {
        let mut state = 1u32;
        for (h, w) in [(210, 160), (65, 63), (300, 7), (7, 300), (33, 85)] {
            let resizer = Resizer::new(h, w);
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
            assert_eq!(portable, dispatched, "{h}x{w}");
        }
    }

    #[test]
    fn max_pool_takes_the_brighter_byte() {
        let mut a = vec![1, 200, 3];
        max_pool_into(&mut a, &[100, 2, 3]);
        assert_eq!(a, vec![100, 200, 3]);
    }
}
