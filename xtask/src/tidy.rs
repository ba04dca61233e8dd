//! Tidy checks, run as ordinary `#[test]`s: the layering of the crates, a `//!`
//! doc on every source file, no unmaintained crates in `Cargo.lock`.
//!
//! The rules are data (`RULES`, `FORBIDDEN_TRANSITIVE`) so the architecture
//! doc and this file can be read side by side.

use std::path::{Path, PathBuf};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

/// Which of our crates each crate may use (normal and build dependencies).
/// Dev-dependencies may use any crate of ours but `p1duo`, except as
/// `SEALED` and `PRIVATE` say.
#[cfg(test)]
const RULES: &[(&str, &[&str])] = &[
    ("duo-client", &[]),
    ("pingone-client", &[]),
    ("mapping", &[]),
    ("reconcile-engine", &["mapping"]),
    ("state-store", &[]),
    ("sim-kit", &[]),
    ("duo-sim", &["sim-kit"]),
    ("pingone-sim", &["sim-kit"]),
    (
        "agent",
        &[
            "duo-client",
            "pingone-client",
            "mapping",
            "reconcile-engine",
            "state-store",
            "duo-sim",
            "pingone-sim",
        ],
    ),
    ("p1duo", &["agent"]),
    (
        "p1duo-tests",
        &[
            "duo-client",
            "pingone-client",
            "mapping",
            "reconcile-engine",
            "state-store",
            "duo-sim",
            "pingone-sim",
            "agent",
        ],
    ),
    ("xtask", &["p1duo-tests"]),
];

/// Crates whose dev-dependencies follow `RULES` too: the simulators' kit
/// stays free of our crates even in its tests.
#[cfg(test)]
const SEALED: &[&str] = &["sim-kit"];

/// Crates that only the listed crates may depend on, in any kind: the kit is
/// the simulators' own infrastructure, not a library for the product.
#[cfg(test)]
const PRIVATE: &[(&str, &[&str])] = &[("sim-kit", &["duo-sim", "pingone-sim"])];

#[cfg(test)]
const HTTP: &[&str] = &["reqwest", "hyper", "hyper-util", "axum", "h2", "tower-http"];

/// Third-party crates a crate must not reach, even transitively, through its
/// normal dependencies.
#[cfg(test)]
const FORBIDDEN_TRANSITIVE: &[(&str, &[&[&str]])] = &[
    ("mapping", &[HTTP, &["rusqlite", "tokio"]]),
    ("reconcile-engine", &[HTTP, &["rusqlite"]]),
    ("state-store", &[HTTP]),
    ("duo-client", &[&["rusqlite", "axum"]]),
    ("pingone-client", &[&["rusqlite", "axum"]]),
    ("sim-kit", &[&["rusqlite", "reqwest"]]),
    ("duo-sim", &[&["rusqlite", "reqwest"]]),
    ("pingone-sim", &[&["rusqlite", "reqwest"]]),
];

/// Only this crate may depend on `rusqlite` directly.
#[cfg(test)]
const SQL_CRATE: &str = "state-store";

/// Unmaintained crates that must never enter `Cargo.lock`.
#[cfg(test)]
const UNMAINTAINED: &[(&str, &str)] = &[
    (
        "backoff",
        "RUSTSEC-2025-0012; use backon or a bounded retry loop",
    ),
    ("instant", "RUSTSEC-2024-0384; use std::time or web-time"),
];

#[cfg(test)]
mod checks {
    use super::*;
    use serde_json::Value;
    use std::collections::{BTreeMap, BTreeSet};
    use std::process::Command;

    /// A resolved edge: the dependency's package id and its kinds (None = normal).
    type Edge = (String, Vec<Option<String>>);

    struct Metadata {
        /// package id -> name
        names: BTreeMap<String, String>,
        /// workspace package name -> its declared dependencies (name, kind)
        declared: BTreeMap<String, Vec<(String, Option<String>)>>,
        /// package id -> (dep package id, kinds) from the resolve graph
        graph: BTreeMap<String, Vec<Edge>>,
        /// workspace package name -> id
        members: BTreeMap<String, String>,
    }

    fn metadata() -> Metadata {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args(["metadata", "--format-version", "1"])
            .current_dir(workspace_root())
            .output()
            .expect("cargo metadata runs");
        assert!(
            out.status.success(),
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
        let ws: BTreeSet<&str> = v["workspace_members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        let mut names = BTreeMap::new();
        let mut declared = BTreeMap::new();
        let mut members = BTreeMap::new();
        for p in v["packages"].as_array().unwrap() {
            let id = p["id"].as_str().unwrap().to_string();
            let name = p["name"].as_str().unwrap().to_string();
            if ws.contains(id.as_str()) {
                let deps = p["dependencies"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| {
                        (
                            d["name"].as_str().unwrap().to_string(),
                            d["kind"].as_str().map(str::to_string),
                        )
                    })
                    .collect();
                declared.insert(name.clone(), deps);
                members.insert(name.clone(), id.clone());
            }
            names.insert(id, name);
        }
        let mut graph = BTreeMap::new();
        for n in v["resolve"]["nodes"].as_array().unwrap() {
            let id = n["id"].as_str().unwrap().to_string();
            let deps = n["deps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    let kinds = d["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|k| k["kind"].as_str().map(str::to_string))
                        .collect();
                    (d["pkg"].as_str().unwrap().to_string(), kinds)
                })
                .collect();
            graph.insert(id, deps);
        }
        Metadata {
            names,
            declared,
            graph,
            members,
        }
    }

    /// Every package reachable from `id` through normal (and build) edges.
    fn reachable(md: &Metadata, id: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![id.to_string()];
        while let Some(cur) = stack.pop() {
            for (dep, kinds) in md.graph.get(&cur).into_iter().flatten() {
                let runtime = kinds.iter().any(|k| k.as_deref() != Some("dev"));
                if runtime && seen.insert(dep.clone()) {
                    stack.push(dep.clone());
                }
            }
        }
        seen.into_iter().map(|d| md.names[&d].clone()).collect()
    }

    /// The layering violations, as messages naming the crate and the dependency.
    fn layering_violations(md: &Metadata) -> Vec<String> {
        let ours: BTreeSet<&str> = md.members.keys().map(String::as_str).collect();
        let mut errors = Vec::new();
        for (krate, deps) in &md.declared {
            let Some((_, allowed)) = RULES.iter().find(|(n, _)| n == krate) else {
                errors.push(format!(
                    "crate `{krate}` has no entry in tidy::RULES: add it with the crates it may use, \
                     and describe it in docs/ARCHITECTURE.md"
                ));
                continue;
            };
            for (dep, kind) in deps {
                if dep == "p1duo" {
                    errors.push(format!(
                        "crate `{krate}` depends on `p1duo`: nothing may depend on the binary; \
                         move the shared code into `agent`"
                    ));
                } else if ours.contains(dep.as_str())
                    && (kind.as_deref() != Some("dev") || SEALED.contains(&krate.as_str()))
                    && !allowed.contains(&dep.as_str())
                {
                    errors.push(format!(
                        "crate `{krate}` must not depend on `{dep}` (allowed: {allowed:?}); \
                         see docs/ARCHITECTURE.md"
                    ));
                } else if let Some((_, users)) = PRIVATE.iter().find(|(p, _)| p == dep)
                    && !users.contains(&krate.as_str())
                {
                    errors.push(format!(
                        "crate `{krate}` must not depend on `{dep}`, even for tests: only \
                         {users:?} may; see docs/ARCHITECTURE.md"
                    ));
                }
                if dep == "rusqlite" && krate != SQL_CRATE {
                    errors.push(format!(
                        "crate `{krate}` depends on `rusqlite`: only `{SQL_CRATE}` knows SQL"
                    ));
                }
            }
        }
        for (krate, groups) in FORBIDDEN_TRANSITIVE {
            let Some(id) = md.members.get(*krate) else {
                continue;
            };
            let reach = reachable(md, id);
            for bad in groups.iter().flat_map(|g| g.iter()) {
                if reach.contains(*bad) {
                    errors.push(format!(
                        "crate `{krate}` depends (directly or through another crate) on the \
                         forbidden dependency `{bad}`; see docs/ARCHITECTURE.md"
                    ));
                }
            }
        }
        errors
    }

    #[test]
    fn tidy_signature_vectors_are_the_reference_ones() {
        // The copy lets a clean clone test alone; beside `shared/` (a developer's
        // checkout) it must still be byte for byte the published file.
        let root = super::workspace_root();
        let copy = std::fs::read(root.join("testdata/duo-signature-vectors.json"))
            .expect("testdata/duo-signature-vectors.json is in the repository");
        let reference = root.join("../shared/reference/duo-signature-vectors.json");
        match std::fs::read(&reference) {
            Ok(want) => assert!(
                copy == want,
                "testdata/duo-signature-vectors.json differs from {}: copy it again",
                reference.display()
            ),
            Err(_) => eprintln!("{} not here; only the copy is checked", reference.display()),
        }
        let v: serde_json::Value = serde_json::from_slice(&copy).expect("the copy is JSON");
        assert_eq!(
            v.as_array().map(Vec::len),
            Some(47),
            "the copy holds Duo's 47 signing vectors"
        );
    }

    #[test]
    fn tidy_layering() {
        let md = metadata();
        let errors = layering_violations(&md);
        assert!(
            errors.is_empty(),
            "layering broken:\n  {}",
            errors.join("\n  ")
        );
    }

    #[test]
    fn tidy_layering_detects_a_forbidden_dependency() {
        // Graft `reqwest` onto `mapping` in a copy of the real metadata: the
        // check must name both.
        let mut md = metadata();
        let mapping_id = md.members["mapping"].clone();
        md.declared
            .get_mut("mapping")
            .unwrap()
            .push(("reqwest".into(), None));
        md.declared
            .get_mut("mapping")
            .unwrap()
            .push(("agent".into(), None));
        // The simulators' kit: no test of another crate may use it, and its
        // own tests may use none of ours.
        md.declared
            .get_mut("agent")
            .unwrap()
            .push(("sim-kit".into(), Some("dev".into())));
        md.declared
            .get_mut("sim-kit")
            .unwrap()
            .push(("duo-sim".into(), Some("dev".into())));
        md.names.insert("fake-reqwest".into(), "reqwest".into());
        md.graph
            .get_mut(&mapping_id)
            .unwrap()
            .push(("fake-reqwest".into(), vec![None]));
        let errors = layering_violations(&md).join("\n");
        assert!(
            errors.contains("crate `mapping` depends (directly or through another crate) on the forbidden dependency `reqwest`"),
            "{errors}"
        );
        assert!(
            errors.contains("crate `mapping` must not depend on `agent`"),
            "{errors}"
        );
        assert!(
            errors.contains("crate `agent` must not depend on `sim-kit`, even for tests"),
            "{errors}"
        );
        assert!(
            errors.contains("crate `sim-kit` must not depend on `duo-sim`"),
            "{errors}"
        );
    }

    #[test]
    fn tidy_no_unmaintained_crates_in_lockfile() {
        let lock = std::fs::read_to_string(workspace_root().join("Cargo.lock"))
            .expect("Cargo.lock is committed");
        let mut errors = Vec::new();
        for (name, why) in UNMAINTAINED {
            if lock.contains(&format!("name = \"{name}\"\n")) {
                errors.push(format!("`{name}` is in Cargo.lock: {why}"));
            }
        }
        assert!(errors.is_empty(), "{}", errors.join("\n"));
    }

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name();
            if name == "target" || name.to_string_lossy().starts_with('.') {
                continue;
            }
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    #[test]
    fn tidy_every_source_file_has_a_module_doc() {
        let root = workspace_root();
        let mut files = Vec::new();
        for dir in ["crates", "xtask", "tests"] {
            rust_files(&root.join(dir), &mut files);
        }
        assert!(files.len() > 10, "found too few source files: {files:?}");
        let missing: Vec<String> = files
            .iter()
            .filter(|f| {
                let text = std::fs::read_to_string(f).unwrap_or_default();
                let first = text.lines().map(str::trim).find(|l| !l.is_empty());
                !first.is_some_and(|l| l.starts_with("//!"))
            })
            .map(|f| f.strip_prefix(&root).unwrap_or(f).display().to_string())
            .collect();
        assert!(
            missing.is_empty(),
            "these source files do not start with a `//!` doc saying what they are for:\n  {}",
            missing.join("\n  ")
        );
    }
}
