//! Smoke: the real binary starts and reports its version.

use p1duo_tests::p1duo_bin;
use std::process::Command;

#[test]
fn version_prints_name_and_package_version() {
    let out = Command::new(p1duo_bin()).arg("--version").output().unwrap();
    assert!(out.status.success(), "p1duo --version failed: {out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.trim(),
        format!("p1duo {}", env!("CARGO_PKG_VERSION"))
    );
}
