//! The real binary: config example and validate, refusing bad configs before
//! contacting anything (exit 2), exit codes 3 and 4, `--allow-deletes`, secrets
//! never printed or stored, and `demo` running to exit 0.

use crate::support::{Env, outbound_rule};
use agent::{DEMO_CLIENT_SECRET, DEMO_SKEY};
use p1duo_tests::p1duo_bin;
use serde_json::json;
use std::process::Output;

async fn p1duo(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = tokio::process::Command::new(p1duo_bin());
    cmd.args(args)
        .env_remove("P1DUO_CONFIG")
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().await.expect("p1duo runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_config_validates_and_a_bad_one_is_refused_before_any_call() {
    let dir = tempfile::tempdir().unwrap();
    let example = p1duo(&["config", "example"], &[]).await;
    assert!(example.status.success());
    let path = dir.path().join("p1duo.toml");
    std::fs::write(&path, &example.stdout).unwrap();
    let secrets = [
        ("P1DUO_DUO_SECRET_KEY", "x"),
        ("P1DUO_PINGONE_CLIENT_SECRET", "y"),
    ];
    let ok = p1duo(
        &["config", "validate", "--config", path.to_str().unwrap()],
        &secrets,
    )
    .await;
    assert!(ok.status.success(), "{}", text(&ok));

    // A bad config pointing at live simulators: exit 2, the key named, no call made.
    let env = Env::new().await;
    env.config(
        &outbound_rule("r", "remove_action = \"remove\"", "")
            .replace("remove_action = \"remove\"", "deprovision = true"),
    ); // valid first
    let bad = std::fs::read_to_string(&env.path)
        .unwrap()
        .replace("deprovision = true", "remove_action = \"remove\"");
    std::fs::write(&env.path, bad).unwrap();
    env.reset_stats();
    let out = p1duo(&["sync"], &[("P1DUO_CONFIG", env.path.to_str().unwrap())]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains(
            "rules[0].actions.remove_action: expected \"disable\", \"delete\" or \"purge\""
        ),
        "{}",
        text(&out)
    );
    assert_eq!(
        env.sims.duo.stats().total + env.sims.p1.stats().total,
        0,
        "nothing contacted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_exits_3_on_a_failed_object_and_4_when_blocked_until_deletes_are_allowed() {
    let env = Env::new().await;
    let ids: Vec<String> = (0..3)
        .map(|i| env.p1_user(&format!("u{i}"), &env.workforce, json!({})))
        .collect();
    let bad = env.p1_user("bad", &env.workforce, json!({ "primaryPhone": "call 12" }));
    env.config(&outbound_rule(
        "r",
        "deprovision = true",
        "[rules.safety]\nmax_disables = 2",
    ));
    let cfg = env.path.to_str().unwrap().to_owned();
    let out = p1duo(&["sync", "--config", &cfg], &[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("bad") && text(&out).contains("phones"),
        "{}",
        text(&out)
    );
    env.sims.p1.delete_user(&bad).unwrap();
    for id in &ids {
        env.sims.p1.delete_user(id).unwrap();
    }
    let plan = p1duo(&["plan", "--config", &cfg], &[]).await;
    assert_eq!(plan.status.code(), Some(4), "{}", text(&plan));
    let out = p1duo(&["sync", "--config", &cfg], &[]).await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("--allow-deletes"), "{}", text(&out));
    assert_eq!(
        env.duo_user("u0").unwrap().status,
        "active",
        "blocked: nothing changed"
    );
    let out = p1duo(&["sync", "--allow-deletes", "--config", &cfg], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(env.duo_user("u0").unwrap().status, "disabled");
    let status = p1duo(&["status", "--json", "--config", &cfg], &[]).await;
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_output_logs_or_the_state_database() {
    let env = Env::new().await;
    env.p1_user("alice", &env.workforce, json!({ "type": "nonsense" }));
    env.p1_user("bob", &env.workforce, json!({}));
    env.config(&outbound_rule(
        "r",
        "",
        "userType = \"coalesce(type, \\\"user\\\")\"",
    ));
    let cfg = env.path.to_str().unwrap().to_owned();
    let mut all = String::new();
    for args in [
        vec!["--log-level", "trace", "check"],
        vec!["--log-level", "trace", "plan", "--json"],
        vec!["--log-level", "trace", "--log-format", "json", "sync"],
        vec!["--log-level", "trace", "status", "--json"],
        vec!["--log-level", "trace", "explain", "alice"],
    ] {
        let mut a = args.clone();
        a.extend(["--config", &cfg]);
        let out = p1duo(&a, &[]).await;
        all.push_str(&text(&out));
    }
    assert!(all.contains("nonsense"), "the runs did happen: {all}");
    for secret in [DEMO_SKEY, DEMO_CLIENT_SECRET] {
        assert!(!all.contains(secret), "a secret leaked into the output");
        for f in std::fs::read_dir(env.dir.path()).unwrap() {
            let p = f.unwrap().path();
            if p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("p1duo.db")
            {
                let bytes = std::fs::read(&p).unwrap();
                assert!(
                    !String::from_utf8_lossy(&bytes).contains(secret),
                    "a secret is stored in {}",
                    p.display()
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_runs_and_exits_0() {
    let out = p1duo(&["demo"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("== p1duo sync") && t.contains("Users:  impacted"),
        "{t}"
    );
    assert!(t.contains("Duo write calls in the second sync: 0"), "{t}");
    // `plan` = `sync`: each rule's planned changes are the ones the first sync made.
    for rule in ["workforce-to-duo (outbound)", "duo-to-pingone (inbound)"] {
        let lines: Vec<&str> = t
            .lines()
            .filter(|l| l.starts_with(&format!("rule {rule}: ")))
            .collect();
        let planned: u64 = lines[0]
            .split(": ")
            .nth(1)
            .unwrap()
            .split(", ")
            .filter(|part| !part.ends_with("problems"))
            .map(|part| part.split(' ').next().unwrap().parse::<u64>().unwrap())
            .sum();
        let synced: u64 = lines[1]
            .split(": ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(planned, synced, "{rule}: {lines:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_status_and_api_show_what_an_operator_needs() {
    let env = Env::new().await;
    env.p1_user("alice", &env.workforce, json!({}));
    env.p1_user("zed", &env.workforce, json!({ "primaryPhone": "call 12" }));
    env.config(&outbound_rule("r", "", ""));
    let cfg = env.path.to_str().unwrap().to_owned();
    let out = p1duo(&["sync", "--config", &cfg], &[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));

    // By the Duo user's id, explain follows the link to the PingOne user.
    let duo_id = env.duo_user("alice").unwrap().user_id;
    let by_id = text(&p1duo(&["explain", &duo_id, "--config", &cfg], &[]).await);
    assert!(
        by_id.contains("PingOne: id")
            && by_id.contains("username alice")
            && by_id
                .lines()
                .any(|l| l.trim() == "in scope: population \"Workforce\" is in scope.populations"),
        "{by_id}"
    );
    let alice = p1duo(&["explain", "alice", "--config", &cfg], &[]).await;
    let t = text(&alice);
    assert!(alice.status.success(), "{t}");
    assert!(
        t.contains("in scope")
            && t.contains("linked user →")
            && t.contains("next cycle: nothing to do"),
        "{t}"
    );
    assert!(
        t.contains("last synced values") && t.contains("alice@example.com"),
        "{t}"
    );
    // The audit trail: the create, with what it wrote, as one line.
    let created = t
        .lines()
        .find(|l| l.contains("applied") && l.contains("create"))
        .unwrap_or_else(|| panic!("no applied create in {t}"));
    assert!(
        created.contains("(run 1): null →") && created.contains("alice@example.com"),
        "{created}"
    );
    let zed = text(&p1duo(&["explain", "zed", "--config", &cfg], &[]).await);
    assert!(
        zed.contains("status: failed") && zed.contains("phones"),
        "{zed}"
    );
    // Nobody by that name on either side: a usage error, not a silent success.
    let nobody = p1duo(&["explain", "nobody-at-all", "--config", &cfg], &[]).await;
    assert_eq!(nobody.status.code(), Some(2), "{}", text(&nobody));
    assert!(
        text(&nobody).contains("no PingOne or Duo user"),
        "{}",
        text(&nobody)
    );

    let status = p1duo(&["status", "--config", &cfg], &[]).await;
    assert_eq!(
        status.status.code(),
        Some(3),
        "an object is not in step: {}",
        text(&status)
    );
    assert!(
        text(&status).contains("zed") && text(&status).contains("call 12"),
        "{}",
        text(&status)
    );

    let api = p1duo(
        &[
            "api",
            "duo",
            "GET",
            "/admin/v1/users",
            "username=alice",
            "--config",
            &cfg,
        ],
        &[],
    )
    .await;
    assert!(api.status.success(), "{}", text(&api));
    let v: serde_json::Value = serde_json::from_slice(&api.stdout).unwrap();
    assert_eq!(v["response"][0]["username"], "alice");
    let api = p1duo(
        &[
            "api",
            "pingone",
            "GET",
            "/environments/{envId}/populations",
            "--config",
            &cfg,
        ],
        &[],
    )
    .await;
    assert!(
        api.status.success() && text(&api).contains("Workforce"),
        "{}",
        text(&api)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_says_what_to_fix() {
    let env = Env::new().await;
    let good = outbound_rule("r", "", "");
    env.config(&good);
    let cfg = env.path.to_str().unwrap().to_owned();
    let ok = p1duo(&["check", "--config", &cfg], &[]).await;
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    assert!(
        text(&ok).contains("all") && text(&ok).contains("checks passed"),
        "{}",
        text(&ok)
    );

    // A scope that names a population PingOne does not have.
    env.config(&good.replace("[\"Workforce\"]", "[\"Workfarce\"]"));
    let out = p1duo(&["check", "--config", &cfg], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("FAIL rule r: named populations and groups: not found in PingOne: population \"Workfarce\""), "{}", text(&out));
    // And sync refuses to treat it as an empty scope.
    let out = p1duo(&["sync", "--config", &cfg], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("\"Workfarce\"") && text(&out).contains("does not exist"),
        "{}",
        text(&out)
    );

    // A wrong Duo secret key.
    env.config(&good);
    std::fs::write(
        env.dir.path().join("duo.skey"),
        "0000000000000000000000000000000000000000",
    )
    .unwrap();
    let out = p1duo(&["check", "--config", &cfg], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("FAIL Duo connection"), "{}", text(&out));
    assert!(
        text(&out).contains("secret key"),
        "the fix is named: {}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_flags_inbound_mapping_targets_missing_from_pingones_schema() {
    let env = Env::new().await;
    // `costCenter` is not in PingOne's schema: PingOne would ignore it and
    // every sync would write it again.
    let rule = crate::support::inbound_rule("in", "Contractors", "").replace(
        "enabled = \"status\"",
        "enabled = \"status\"\n\"custom.costCenter\" = \"notes\"",
    );
    env.config(&rule);
    let cfg = env.path.to_str().unwrap().to_owned();
    let out = p1duo(&["check", "--config", &cfg], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("FAIL rule in: mapping targets in PingOne's schema")
            && text(&out).contains("costCenter"),
        "{}",
        text(&out)
    );
    env.sims.p1.declare_attribute("costCenter");
    let out = p1duo(&["check", "--config", &cfg], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
