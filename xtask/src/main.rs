//! `cargo xtask`: the workspace's build tasks, in Rust so they run wherever cargo does.
//!
//! Tasks: `ci` (fmt, clippy, tests, tidy), `tidy` (the layering and hygiene
//! checks alone), `bench` (the end-to-end benchmarks against the simulators),
//! `soak` (the long variants of the fault, crash and outage suites).

mod bench;
mod tidy;

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    let rest = &args[args.len().min(1)..];
    let result = match task {
        "ci" => ci(),
        "tidy" => cargo(&["test", "--locked", "-p", "xtask", "--", "tidy::"]),
        "bench" => bench::bench(&tidy::workspace_root(), rest),
        "soak" => soak(rest),
        "help" | "--help" | "-h" => {
            print_help();
            Ok(())
        }
        other => {
            eprintln!("xtask: unknown task `{other}`\n");
            print_help();
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {task}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_help() {
    eprintln!(
        "usage: cargo xtask <task>\n\n\
         tasks:\n  \
         ci      .ci/run: fmt check, clippy -D warnings, the whole test suite (tidy included)\n  \
         tidy    only the tidy checks (layering, //! docs, unmaintained crates)\n  \
         bench   the end-to-end benchmarks (release; options --users N --scale K\n          \
                 --rss-users N,M --only efficiency|limited|unlimited|planner|rss)\n  \
         soak    the long fault, crash and outage suites (P1DUO_SOAK=1, release;\n          \
                 extra arguments go to the test harness, e.g. --nocapture)"
    );
}

/// The CI recipe lives in one place, `.ci/run` (what CI runs on a clean
/// clone); this task runs it.
fn ci() -> Result<(), String> {
    let root = tidy::workspace_root();
    let status = std::process::Command::new("bash")
        .arg(root.join(".ci/run"))
        .current_dir(&root)
        .status()
        .map_err(|e| format!("running .ci/run: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(".ci/run failed ({status})"))
    }
}

fn soak(rest: &[String]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut args = vec![
        "test",
        "--release",
        "-p",
        "p1duo-tests",
        "--test",
        "it",
        "--",
        "faults::",
        "crash::",
        "outage::",
        "--test-threads",
        "1",
    ];
    args.extend(rest.iter().map(String::as_str));
    eprintln!("$ P1DUO_SOAK=1 cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(&args)
        .env("P1DUO_SOAK", "1")
        .current_dir(tidy::workspace_root())
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the soak suites failed ({status})"))
    }
}

fn cargo(args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .current_dir(tidy::workspace_root())
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}
