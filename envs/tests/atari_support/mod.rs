//! Shared by the Atari integration tests: skip when ale-py is missing, and locate the
//! plain-Python reference wrapper stack.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use rem_envs::atari::AtariConfig;

/// The interpreter the Atari backend would use (`$REM_PYTHON`, else `python3`).
pub fn python() -> PathBuf {
    AtariConfig::train("Breakout").python_command()
}

/// True when `python -c "import ale_py"` works; otherwise prints why the test skips.
pub fn ale_py_available(test: &str) -> bool {
    let ok = Command::new(python())
        .args(["-c", "import ale_py, numpy"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        // Straight to stderr: libtest would swallow eprintln! of a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: ale-py not installed for {} ({test}; python3 -m pip install ale-py==0.12.1)",
            python().display()
        );
    }
    ok
}

pub fn reference_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/atari/reference_wrappers.py")
}

/// The state letter of a process ('R', 'S', 'Z' for a zombie, ...), `None` once reaped.
pub fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The state follows the parenthesised command name: "pid (comm) S ...".
    stat.rsplit(')').next()?.trim_start().chars().next()
}
