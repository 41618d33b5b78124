//! Shared by the Atari integration tests: skip when ale-py or Pillow is missing, and
//! locate the plain-Python reference wrapper stack and the Pillow oracle.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use rem_envs::atari::AtariConfig;

/// The interpreter the Atari backend would use (`$REM_PYTHON`, else `python3`).
pub fn python() -> PathBuf {
    AtariConfig::train("Breakout").python_command()
}

/// True when `python -c "import <modules>"` works; otherwise prints why the test skips.
fn importable(modules: &str, what: &str, install: &str, test: &str) -> bool {
    let ok = Command::new(python())
        .args(["-c", &format!("import {modules}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        // Straight to stderr: libtest would swallow eprintln! of a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: {what} not installed for {} ({test}; python3 -m pip install {install})",
            python().display()
        );
    }
    ok
}

/// True when ale-py and numpy import; otherwise prints why the test skips.
pub fn ale_py_available(test: &str) -> bool {
    importable("ale_py, numpy", "ale-py", "ale-py==0.12.1", test)
}

/// True when Pillow and numpy import; otherwise prints why the test skips.
pub fn pillow_available(test: &str) -> bool {
    importable("PIL.Image, numpy", "Pillow", "pillow==13.0.0", test)
}

pub fn reference_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/atari/reference_wrappers.py")
}

/// Raw screens of real games with Pillow's resize of each (`pillow_frames.py`).
pub fn pillow_frames_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/atari_support/pillow_frames.py")
}

/// The state letter of a process ('R', 'S', 'Z' for a zombie, ...), `None` once reaped.
pub fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The state follows the parenthesised command name: "pid (comm) S ...".
    stat.rsplit(')').next()?.trim_start().chars().next()
}
