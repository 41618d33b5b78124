//! The emulator seed of an Atari environment.

use crate::rng::SplitMix64;

/// The emulator seed derived from an environment seed (ALE wants a non-negative int).
pub fn ale_seed(seed: u64) -> u64 {
    SplitMix64::new(seed ^ 0xA7A2_1000_0000_0000).next_u64() & 0x7FFF_FFFF
}
