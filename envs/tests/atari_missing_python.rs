//! Clear errors when the worker's Python or ale-py is missing. Kept in its own test
//! binary because it sets REM_PYTHON for the whole process.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use rem_envs::atari::{AtariConfig, AtariEnv, PYTHON_ENV_VAR};

#[test]
fn missing_python_gives_the_install_hint() {
    std::env::set_var(PYTHON_ENV_VAR, "/nonexistent/python3");
    let err = AtariEnv::new(AtariConfig::train("Pong"))
        .err()
        .expect("no interpreter");
    std::env::remove_var(PYTHON_ENV_VAR);
    let msg = err.to_string();
    assert!(msg.contains("'/nonexistent/python3' not found"), "{msg}");
    assert!(
        msg.contains("python3 -m pip install ale-py==0.12.1"),
        "{msg}"
    );
}

#[test]
fn python_without_ale_py_gives_the_install_hint() {
    let has_python = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_python {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: no python3 (python_without_ale_py_gives_the_install_hint)"
        );
        return;
    }
    // `python3 -S` hides site-packages, where ale-py lives.
    let dir = std::env::temp_dir().join(format!("rem-envs-no-ale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wrapper = dir.join("python-without-site");
    std::fs::write(&wrapper, "#!/bin/sh\nexec python3 -S \"$@\"\n").unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();

    let cfg = AtariConfig {
        python: Some(wrapper.clone()),
        ..AtariConfig::train("Pong")
    };
    let err = AtariEnv::new(cfg).err().expect("ale-py must be missing");
    std::fs::remove_dir_all(&dir).unwrap();
    let msg = err.to_string();
    assert!(msg.contains("ale-py is not available"), "{msg}");
    assert!(msg.contains("-m pip install ale-py==0.12.1"), "{msg}");
}
