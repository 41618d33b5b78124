//! Names the code a `rem` binary was built from, for the provenance every run records
//! (`src/provenance.rs`):
//!
//! - `REM_CODE_COMMIT`: the newest commit that changed the binary's code (the three
//!   crates' `src/`, this file, the Cargo manifests and Cargo.lock), or "unknown"
//!   outside a git checkout. Commits of docs or run files leave it as it is.
//! - `REM_CODE_MODIFIED`: "true" when that code differs from the commit (edited or
//!   new files), "false", or "unknown".
//!
//! Cargo reruns this script when any of that code or the checkout's HEAD changes, so
//! both stay true of the binary they are compiled into: after a commit of changed
//! code, the binary built next names the new commit, unmodified. (A rerun recompiles
//! this crate even where the values are the same, as after a commit of docs.)

use std::path::{Path, PathBuf};
use std::process::Command;

/// The binary's code, relative to the workspace root.
const CODE: [&str; 9] = [
    "Cargo.toml",
    "agent/src",
    "agent/build.rs",
    "agent/Cargo.toml",
    "envs/src",
    "envs/Cargo.toml",
    "worldmodel/src",
    "worldmodel/Cargo.toml",
    "Cargo.lock",
];

fn main() {
    let workspace = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .parent()
        .unwrap()
        .to_path_buf();
    for path in CODE {
        println!("cargo:rerun-if-changed={}", workspace.join(path).display());
    }
    for path in git_head_files(&workspace) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let mut log = vec!["log", "-1", "--format=%H", "--"];
    log.extend(CODE);
    let commit = git(&workspace, &log).filter(|hash| !hash.is_empty());
    let mut status = vec!["status", "--porcelain", "--"];
    status.extend(CODE);
    let modified = match (&commit, git(&workspace, &status)) {
        (Some(_), Some(changes)) => (!changes.is_empty()).to_string(),
        _ => "unknown".to_string(),
    };
    let commit = commit.unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=REM_CODE_COMMIT={commit}");
    println!("cargo:rustc-env=REM_CODE_MODIFIED={modified}");
}

/// What `git ARGS` prints in `dir`, trimmed, or None where git or the checkout is
/// missing.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// The files a commit or a checkout of another branch changes: HEAD, the branch's
/// ref and packed-refs, where they exist (a path that does not exist would rerun this
/// script at every build).
fn git_head_files(workspace: &Path) -> Vec<PathBuf> {
    let Some(git_dir) = git(workspace, &["rev-parse", "--absolute-git-dir"]) else {
        return Vec::new();
    };
    let git_dir = PathBuf::from(git_dir);
    let mut files = vec![git_dir.join("HEAD"), git_dir.join("packed-refs")];
    if let Some(branch) = git(workspace, &["symbolic-ref", "-q", "HEAD"]) {
        files.push(git_dir.join(branch));
    }
    files.retain(|path| path.exists());
    files
}
