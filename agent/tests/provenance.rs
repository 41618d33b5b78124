//! The code a binary names in its provenance is the code it was built from: the
//! commit exists in the checkout and, where the binary says its code was not
//! modified, the sources equal the commit's (git is the oracle).

use std::path::Path;
use std::process::Command;

use rem_agent::provenance::{Code, Provenance};

fn git(args: &[&str]) -> std::process::Output {
    Command::new("git")
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .output()
        .expect("git runs")
}

#[test]
fn the_code_named_is_a_commit_of_this_checkout_with_the_sources_built() {
    let code = Code::of_this_binary();
    assert_eq!(code.version, env!("CARGO_PKG_VERSION"));
    let in_checkout = git(&["rev-parse", "--is-inside-work-tree"])
        .status
        .success();
    let Some(commit) = &code.commit else {
        assert!(!in_checkout, "built inside a checkout, yet no commit named");
        return;
    };
    let kind = git(&["cat-file", "-t", commit]);
    assert_eq!(String::from_utf8_lossy(&kind.stdout).trim(), "commit");
    if code.modified == Some(false) {
        let paths = ["agent/src", "envs/src", "worldmodel/src", "Cargo.lock"];
        let mut args = vec!["diff", "--quiet", commit.as_str(), "--"];
        args.extend(paths);
        assert!(
            git(&args).status.success(),
            "the binary says its code is {commit} unmodified, but the sources differ"
        );
    }
}

#[test]
fn a_provenance_line_reads_back_as_written() {
    let provenance = Provenance::of_this_process();
    assert!(provenance.started.ends_with('Z') && provenance.started.len() == 20);
    assert!(provenance.machine.cores >= 1 && provenance.machine.threads >= 1);
    let line = serde_json::to_string(&provenance).unwrap();
    assert!(!line.contains('\n'));
    let read: Provenance = serde_json::from_str(&line).unwrap();
    assert_eq!(read, provenance);
}
