//! Support for the end-to-end tests: finding and running the real `p1duo` binary,
//! the simulators as child processes, configs, and counting what Duo holds.
//! Also used by `cargo xtask bench`.
//!
//! Must not know: internals of any crate; tests go through public interfaces only.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives inside the workspace")
}

/// Path of the `p1duo` binary, built once per test process with the same
/// profile as the tests (cargo does not build other packages' binaries for us).
pub fn p1duo_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| build_bin("p1duo", "p1duo"))
}

/// Path of the standalone `duo-sim` binary (built like [`p1duo_bin`]).
pub fn duo_sim_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| build_bin("duo-sim", "duo-sim"))
}

/// Path of the standalone `pingone-sim` binary (built like [`p1duo_bin`]).
pub fn pingone_sim_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| build_bin("pingone-sim", "pingone-sim"))
}

fn build_bin(package: &str, bin: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = target_dir();
    let release = profile_dir(&target_dir) == "release";
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root())
        .args(["build", "--quiet", "-p", package, "--bin", bin])
        .env("CARGO_TARGET_DIR", &target_dir);
    if release {
        cmd.arg("--release");
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("running cargo build for {bin}: {e}"));
    assert!(status.success(), "cargo build -p {package} failed");
    let path = target_dir
        .join(if release { "release" } else { "debug" })
        .join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{bin} binary not found at {}",
        path.display()
    );
    path
}

/// The cargo target directory the running test binary was built into
/// (`<target>/<profile>/deps/it-<hash>`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent() // deps
        .and_then(Path::parent) // profile
        .and_then(Path::parent) // target
        .map(Path::to_path_buf)
        .expect("test binary lives in <target>/<profile>/deps")
}

fn profile_dir(target: &Path) -> String {
    let exe = std::env::current_exe().expect("current_exe");
    exe.strip_prefix(target)
        .ok()
        .and_then(|p| p.components().next())
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_else(|| "debug".into())
}

pub mod census;
pub mod fixtures;
pub mod http;
pub mod standalone;
