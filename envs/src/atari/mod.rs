//! Atari 100K through the Arcade Learning Environment.
//!
//! Each `AtariEnv` drives one emulator in a Python process running `ale_worker.py`
//! (ALE from the `ale-py` package stays out of process) over a binary pipe protocol,
//! one round trip per agent step; environments started together share processes. The wrapper stack of algorithm.md, section 1 lives here in Rust;
//! `reference_wrappers.py` is an independent plain-Python implementation of it,
//! used for parity tests and speed comparisons.

mod config;
mod environment;
mod games;
pub mod protocol;
pub mod resize;
mod rng;
mod slots;
mod watchdog;
mod worker;

pub use config::{AtariConfig, DEFAULT_PYTHON, PYTHON_ENV_VAR};
pub use environment::AtariEnv;
pub use games::{AtariGame, ALE_ACTION_NAMES, ATARI_100K_GAMES};
pub use rng::ale_seed;
pub use worker::ALE_PY_REQUIREMENT;
