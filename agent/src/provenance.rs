//! What made a result: the code a `rem` binary was built from, the machine it ran on
//! and the command. `rem train` appends one line of it to RUN/provenance.jsonl at each
//! start and resume, `rem eval` puts it in eval.json, and `rem report` shows the code
//! of each run.
//!
//! A run repeats exactly from its config and seed only with the same code on the same
//! kind of machine: the float kernels take other paths under AVX-512 and AVX2, and
//! every commit that changes an operation's order changes the floats. The code is the
//! newest commit that changed the binary's code, named at build time (`build.rs`), so
//! `git checkout COMMIT && cargo build --release` rebuilds it; "+" marks a binary built
//! with changes not yet committed.
//!
//! ```json
//! {"started":"2026-12-07T14:02:11Z","command":["rem","train","--config","runs/catch.toml"],
//!  "code":{"version":"0.1.0","commit":"05a1a44…","modified":false},
//!  "machine":{"cpu":"Intel(R) Xeon(R) …","simd":["avx512f","avx2","fma"],"cores":2,"threads":2}}
//! ```

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// One command's provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// When the command started, UTC, RFC 3339 to the second.
    pub started: String,
    /// The command line, program first.
    pub command: Vec<String>,
    pub code: Code,
    pub machine: Machine,
}

/// The code of the binary that ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Code {
    /// The crate version.
    pub version: String,
    /// The newest commit that changed the binary's code; None outside a git checkout.
    pub commit: Option<String>,
    /// Whether that code had changes not in the commit; None where git could not tell.
    pub modified: Option<bool>,
}

/// The machine that ran it, as far as it changes the floats or the speed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// The processor's model name (/proc/cpuinfo), else its architecture.
    pub cpu: String,
    /// The vector instruction sets the kernels choose between that it has.
    pub simd: Vec<String>,
    /// Cores the process may use.
    pub cores: usize,
    /// Threads in the pool the kernels share (RAYON_NUM_THREADS, else the cores).
    pub threads: usize,
}

impl Provenance {
    /// This process's: its start, command line, code and machine.
    pub fn of_this_process() -> Self {
        Self {
            started: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            command: std::env::args().collect(),
            code: Code::of_this_binary(),
            machine: Machine::this_one(),
        }
    }

    /// Whether the command continued a run (`rem train --resume`) rather than started it.
    pub fn is_resume(&self) -> bool {
        self.command
            .iter()
            .any(|arg| arg == "--resume" || arg.starts_with("--resume="))
    }
}

impl Code {
    /// What `build.rs` found when this binary was compiled.
    pub fn of_this_binary() -> Self {
        let commit = env!("REM_CODE_COMMIT");
        Self {
            version: env!("CARGO_PKG_VERSION").to_string(),
            commit: (commit != "unknown").then(|| commit.to_string()),
            modified: env!("REM_CODE_MODIFIED").parse().ok(),
        }
    }

    /// The commit's first 7 characters, with "+" when the code was modified and "?"
    /// when nobody could tell; "unknown" without a commit.
    pub fn short(&self) -> String {
        let Some(commit) = &self.commit else {
            return "unknown".to_string();
        };
        let mark = match self.modified {
            Some(false) => "",
            Some(true) => "+",
            None => "?",
        };
        format!("{}{mark}", &commit[..commit.len().min(7)])
    }
}

/// `rem --version`: the crate version and the code's commit.
pub fn version_line() -> String {
    let code = Code::of_this_binary();
    format!("{} (code {})", code.version, code.short())
}

impl Machine {
    pub fn this_one() -> Self {
        Self {
            cpu: cpu_model().unwrap_or_else(|| std::env::consts::ARCH.to_string()),
            simd: simd_sets(),
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            threads: rayon::current_num_threads(),
        }
    }
}

/// The first "model name" of /proc/cpuinfo (Linux on x86).
fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = info.lines().find(|line| line.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

/// The vector instruction sets, among those the kernels have paths for, this
/// processor has.
fn simd_sets() -> Vec<String> {
    #[cfg(target_arch = "x86_64")]
    let sets = [
        ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
        ("avx2", std::arch::is_x86_feature_detected!("avx2")),
        ("fma", std::arch::is_x86_feature_detected!("fma")),
    ];
    #[cfg(target_arch = "aarch64")]
    let sets = [("neon", std::arch::is_aarch64_feature_detected!("neon"))];
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let sets: [(&str, bool); 0] = [];
    sets.into_iter()
        .filter(|(_, has)| *has)
        .map(|(name, _)| name.to_string())
        .collect()
}
