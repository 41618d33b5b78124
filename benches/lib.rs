//! Shared helpers for the bench binaries.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
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

/// Whether [`python`] can import `modules` (a comma-separated list, as in `import`).
pub fn python_imports(modules: &str) -> bool {
    Command::new(python())
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs a comparison-side Python script under [`python`] and returns its standard
/// output; a script that fails is an error carrying its standard error.
pub fn run_python_script(script: &Path, args: &[String]) -> Result<String> {
    let output = Command::new(python())
        .arg(script)
        .args(args)
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !output.status.success() {
        bail!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
