//! e^x for f32 in a form the compiler turns into vector instructions, and a way to
//! compile a loop for the widest vectors the CPU has.
//!
//! The C library's `expf` is a scalar call per element; SiLU over the world model's
//! feed-forward maps spends most of its time there. Here e^x = 2^n e^r with
//! `n = round(x / ln 2)` (by the add-and-subtract of 1.5 * 2^23, which rounds to
//! nearest in plain arithmetic) and `|r| <= ln 2 / 2`, `e^r` from the polynomial of
//! the Cephes library's `expf`, `2^n` written into the exponent bits.
//! Relative error below 2e-7 over the clamped range (`tests` checks it against f64).
//! Rust does not fuse multiplies and adds on its own, so the bits are the same
//! whichever instruction set [`with_wide_vectors`] picks.

/// The range of inputs whose power of two is a normal float.
const LOWEST: f32 = -87.0;
const HIGHEST: f32 = 88.0;

/// e^x for x clamped to [-87, 88].
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23
                                     // ln 2 split in two so that n * LN2_HIGH is exact.
    const LN2_HIGH: f32 = 0.693_359_4;
    const LN2_LOW: f32 = -2.121_944_4e-4;
    let x = x.clamp(LOWEST, HIGHEST);
    let n = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = (x - n * LN2_HIGH) - n * LN2_LOW;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let e_r = p * (r * r) + r + 1.0;
    // 2^n from its exponent bits, n + 127. Adding 1.5 * 2^23 to the integer n + 127
    // leaves it in the low mantissa bits, so integer arithmetic (which vectorises,
    // where a float-to-int cast checks every lane) reads it back.
    let biased = (n + (ROUND + 127.0)).to_bits() - ROUND.to_bits();
    let two_n = f32::from_bits(biased << 23);
    e_r * two_n
}

/// Runs `body` compiled for AVX-512 or AVX2 where the CPU has them, so that loops
/// over [`exp`] use the widest vectors; elsewhere as it is.
#[inline(always)]
pub(crate) fn with_wide_vectors<R>(body: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has the feature the function is compiled for.
            return unsafe { on_avx512(body) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            return unsafe { on_avx2(body) };
        }
    }
    body()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn on_avx512<R>(body: impl FnOnce() -> R) -> R {
    body()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn on_avx2<R>(body: impl FnOnce() -> R) -> R {
    body()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_two_ten_millionths_of_f64_over_its_range() {
        let mut worst = 0.0f64;
        let steps = 2_000_000;
        for i in 0..=steps {
            let x = LOWEST + (HIGHEST - LOWEST) * i as f32 / steps as f32;
            let exact = f64::from(x).exp();
            let error = ((f64::from(exp(x)) - exact) / exact).abs();
            worst = worst.max(error);
        }
        assert!(worst < 2e-7, "worst relative error {worst}");
    }

    #[test]
    fn exp_clamps_outside_its_range_and_is_exact_at_zero() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-1e4), exp(LOWEST));
        assert!(exp(-1e4) > 0.0 && exp(-1e4) < 2e-38);
        assert_eq!(exp(1e4), exp(HIGHEST));
        assert!(exp(HIGHEST).is_finite());
    }

    #[test]
    fn wide_vectors_give_the_same_bits_as_plain_code() {
        let xs: Vec<f32> = (0..10_000).map(|i| -90.0 + i as f32 * 0.0181).collect();
        let plain: Vec<u32> = xs.iter().map(|&x| exp(x).to_bits()).collect();
        let wide: Vec<u32> = with_wide_vectors(|| xs.iter().map(|&x| exp(x).to_bits()).collect());
        assert_eq!(plain, wide);
    }
}
