//! SplitMix64: the random stream behind no-op counts and ALE seeds.
//!
//! It is a few lines in any language, so the Python reference wrapper stack draws
//! exactly the same no-op counts as the Rust one.

#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `1..=max` (the modulo bias is below 2^-58 for small `max`).
    pub fn one_to(&mut self, max: u32) -> u32 {
        assert!(max > 0, "one_to needs a positive maximum");
        1 + (self.next_u64() % max as u64) as u32
    }
}

/// The emulator seed derived from an environment seed (ALE wants a non-negative int).
pub fn ale_seed(seed: u64) -> u64 {
    SplitMix64::new(seed ^ 0xA7A2_1000_0000_0000).next_u64() & 0x7FFF_FFFF
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_splitmix64_sequence() {
        // First outputs for seed 1234567 from the reference C implementation.
        let mut rng = SplitMix64::new(1234567);
        assert_eq!(rng.next_u64(), 6457827717110365317);
        assert_eq!(rng.next_u64(), 3203168211198807973);
    }

    #[test]
    fn one_to_stays_in_range() {
        let mut rng = SplitMix64::new(3);
        let draws: Vec<u32> = (0..1000).map(|_| rng.one_to(30)).collect();
        assert!(draws.iter().all(|&d| (1..=30).contains(&d)));
        assert!(draws.contains(&1) && draws.contains(&30));
    }
}
