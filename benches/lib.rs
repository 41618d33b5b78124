//! Shared helpers for the bench binaries.

use std::path::PathBuf;

use rem_envs::atari::AtariConfig;

/// A knob read from the environment, `default` when unset or unparsable.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The Python interpreter of the comparison sides: `REM_PYTHON`, else `python3`
/// (the one the Atari worker uses).
pub fn python() -> PathBuf {
    AtariConfig::train("Breakout").python_command()
}
