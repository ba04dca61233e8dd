//! How the real binary writes: `--json` on `plan`, `sync`, `check` and `explain`
//! (versioned like `status --json`), and a quiet exit when the reader of its
//! output is gone (`p1duo plan | head -1`).

use crate::support::{Env, outbound_rule};
use p1duo_tests::p1duo_bin;
use serde_json::{Value, json};
use std::process::{Output, Stdio};

async fn p1duo(args: &[&str]) -> Output {
    tokio::process::Command::new(p1duo_bin())
        .args(args)
        .env_remove("P1DUO_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .await
        .expect("p1duo runs")
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// The keys of every object in `v`, nested, values left out: the shape a
/// script relies on.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.first().map(shape).into_iter().collect()),
        _ => Value::Null,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_sync_check_and_explain_print_versioned_json() {
    let env = Env::new().await;
    env.p1_user("alice", &env.workforce, json!({}));
    env.p1_user("zed", &env.workforce, json!({ "primaryPhone": "call 12" }));
    env.config(&outbound_rule("r", "", ""));
    let cfg = env.path.to_str().unwrap().to_owned();

    let plan = json_of(&p1duo(&["plan", "--json", "--config", &cfg]).await);
    assert_eq!(plan["version"], 1);
    assert!(plan["plans"][0].is_object(), "{plan}");

    let sync = p1duo(&["sync", "--json", "--config", &cfg]).await;
    assert_eq!(sync.status.code(), Some(3), "the exit code is unchanged");
    let s = json_of(&sync);
    assert_eq!(s["version"], 1);
    assert_eq!(s["outcome"], "some_failed");
    assert_eq!(s["rules"][0]["rule"], "r");
    assert_eq!(s["rules"][0]["summary"]["users_failed"], 1);
    assert_eq!(s["rules"][0]["problems"][0]["name"], "zed");
    expect_test::expect![[r#"
        {
          "version": null,
          "outcome": null,
          "rules": [
            {
              "rule": null,
              "direction": null,
              "outcome": null,
              "plan_hash": null,
              "blocked": [],
              "changes_planned": null,
              "calls_made": null,
              "summary": {
                "users_impacted": null,
                "users_success": null,
                "users_unsynced": null,
                "users_partial": null,
                "users_failed": null,
                "groups_impacted": null,
                "groups_success": null,
                "groups_failed": null
              },
              "held": null,
              "common_failures": [],
              "problems": [
                {
                  "kind": null,
                  "name": null,
                  "status": null,
                  "message": null
                }
              ]
            }
          ]
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&shape(&s)).unwrap());

    let check = p1duo(&["check", "--json", "--config", &cfg]).await;
    assert!(check.status.success(), "{check:?}");
    let c = json_of(&check);
    assert_eq!(c["version"], 1);
    assert_eq!(c["failed"], 0);
    let names: Vec<&str> = c["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Duo connection") && names.contains(&"PingOne connection"),
        "{names:?}"
    );

    let explain = p1duo(&["explain", "alice", "--json", "--config", &cfg]).await;
    assert!(explain.status.success(), "{explain:?}");
    let e = json_of(&explain);
    assert_eq!(e["version"], 1);
    assert_eq!(e["pingone"]["username"], "alice");
    assert_eq!(e["duo"]["username"], "alice");
    assert_eq!(e["rules"][0]["scope"], "in_scope");
    assert_eq!(e["rules"][0]["objects"][0]["kind"], "user");
    assert_eq!(
        e["rules"][0]["objects"][0]["link"]["target_id"],
        env.duo_user("alice").unwrap().user_id.as_str()
    );
    assert_eq!(e["rules"][0]["next"], json!([]));
    // An unknown user is still exit 2, JSON or not.
    let nobody = p1duo(&["explain", "nobody-at-all", "--json", "--config", &cfg]).await;
    assert_eq!(nobody.status.code(), Some(2));
}

/// Issue #13: `p1duo plan | head -1` ended in "error: writing the output:
/// Broken pipe" (exit 1), and `config example` into a closed pipe panicked.
/// Now every command exits 0 and says nothing when its reader is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_on_stdout_ends_every_command_quietly() {
    let env = Env::new().await;
    for i in 0..20 {
        env.p1_user(&format!("user{i}"), &env.workforce, json!({}));
    }
    env.config(&outbound_rule("r", "", ""));
    let cfg = env.path.to_str().unwrap().to_owned();
    let commands: &[&[&str]] = &[
        &["config", "example"],
        &["config", "validate", "--config", &cfg],
        &["completion", "bash"],
        &["man"],
        &["plan", "--config", &cfg],
        &["plan", "--json", "--config", &cfg],
        &["check", "--config", &cfg],
        &["status", "--config", &cfg],
    ];
    for args in commands {
        // The read end is closed before the command starts: its first write fails.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = tokio::process::Command::new(p1duo_bin())
            .args(*args)
            .env_remove("P1DUO_CONFIG")
            .env_remove("RUST_LOG")
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
            // Not `output()`: it would pipe stdout to this process.
            .wait_with_output()
            .await
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && err.is_empty(),
            "p1duo {}: {:?}: {err}",
            args.join(" "),
            out.status
        );
    }
}
