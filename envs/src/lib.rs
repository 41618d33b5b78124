//! Environments for rem-rs: the `Env` trait, native Rust games, the Atari (ALE)
//! worker backend, vectorised collection and the episode store.

pub mod atari;
pub mod durable;
pub mod env;
pub mod frame;
pub mod native;
pub mod registry;
pub mod rng;
pub mod store;
pub mod vector;

pub use env::{ActionSpace, Env, EnvError, EnvResult, Info, Step};
pub use frame::{Frame, FRAME_BYTES, FRAME_CHANNELS, FRAME_SIDE};
pub use registry::{check_game, is_native, make_env, make_envs, EnvMode};
