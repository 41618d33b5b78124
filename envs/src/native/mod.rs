//! Native Rust games that render 64x64 RGB frames, so the whole pipeline runs and
//! is tested without Python or an emulator. Each game is fully determined by the
//! seed given to `reset(Some(seed))` and the actions taken, and each comes with a
//! scripted good policy (`heuristic_action`) as a baseline.

pub mod bricks;
pub mod catch;
pub mod dodge;
mod draw;

pub use bricks::Bricks;
pub use catch::Catch;
pub use dodge::Dodge;

use crate::env::Env;

pub const NATIVE_GAMES: &[&str] = &["catch", "bricks", "dodge"];

/// A native game together with its scripted policy.
pub trait NativeGame: Env {
    /// The scripted good policy's action for the current state (NOOP before reset).
    fn heuristic_action(&self) -> usize;
}

impl NativeGame for Catch {
    fn heuristic_action(&self) -> usize {
        Catch::heuristic_action(self)
    }
}

impl NativeGame for Bricks {
    fn heuristic_action(&self) -> usize {
        Bricks::heuristic_action(self)
    }
}

impl NativeGame for Dodge {
    fn heuristic_action(&self) -> usize {
        Dodge::heuristic_action(self)
    }
}

/// The native game called `name` (one of `NATIVE_GAMES`) with its scripted policy.
pub fn make_native_game(name: &str) -> Option<Box<dyn NativeGame>> {
    match name {
        "catch" => Some(Box::new(Catch::new())),
        "bricks" => Some(Box::new(Bricks::new())),
        "dodge" => Some(Box::new(Dodge::new())),
        _ => None,
    }
}

/// The native game called `name` (one of `NATIVE_GAMES`), or `None`.
pub fn make_native(name: &str) -> Option<Box<dyn Env>> {
    make_native_game(name).map(|game| game as Box<dyn Env>)
}
