//! Operators see the truth: `status` (its exit code and JSON), `/readyz` and
//! the metrics never say "in step" when a cycle was blocked or cannot run.

use crate::support::{Env, outbound_rule};
use agent::Outcome;
use serde_json::{Value, json};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

async fn status(env: &Env, json: bool) -> (Outcome, String) {
    let config = agent::Config::load(&env.path).unwrap();
    let mut out = Vec::new();
    let o = agent::status(&config, json, &mut out)
        .await
        .expect("status runs");
    (o, String::from_utf8(out).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_cycle_is_never_reported_in_step_and_keeps_the_failures_it_did_not_touch() {
    let env = Env::new().await;
    let config = env.config(&outbound_rule(
        "r",
        "deprovision = true\nremove_action = \"disable\"",
        "",
    ));
    // No database yet: not "in step".
    let (o, text) = status(&env, false).await;
    assert_eq!(o.exit_code(), 1, "{text}");

    let ids: Vec<String> = (0..20)
        .map(|i| env.p1_user(&format!("u{i:02}"), &env.workforce, json!({})))
        .collect();
    env.p1_user(
        "broken",
        &env.workforce,
        json!({ "primaryPhone": "call 12" }),
    );
    env.sync(&config).await;
    let (o, _) = status(&env, false).await;
    assert_eq!(o, Outcome::SomeFailed, "the broken user fails");

    // PingOne loses most of the rule: blocked, nothing written.
    for id in &ids[..15] {
        env.sims.p1.delete_user(id).unwrap();
    }
    let r = env.sync(&config).await;
    assert_eq!(r[0].outcome, Outcome::Blocked, "{:?}", r[0]);
    let (o, text) = status(&env, false).await;
    assert_eq!(o, Outcome::Blocked, "{text}");
    assert_eq!(o.exit_code(), 4);
    assert!(text.contains("BLOCKED"), "{text}");
    assert!(text.contains("wait for approval"), "{text}");
    assert!(
        text.contains("broken"),
        "a blocked cycle keeps the failures: {text}"
    );
    let (_, js) = status(&env, true).await;
    let v: Value = serde_json::from_str(&js).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["rules"][0]["state"], "blocked", "{v:#}");
    assert!(v["rules"][0]["blocked"]["pending_destructive"].as_u64() >= Some(15));

    // Approved: the block is gone; the broken user still fails.
    env.sync_with(&config, true).await;
    let (o, text) = status(&env, false).await;
    assert_eq!(o, Outcome::SomeFailed, "{text}");
    assert!(!text.contains("BLOCKED"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_whose_every_cycle_fails_is_not_ready_and_its_last_success_is_zero() {
    let env = Env::new().await;
    let (port, agent_cfg) = crate::support::hourly_agent();
    env.sims
        .write_config(env.dir.path(), &agent_cfg, &outbound_rule("r", "", ""))
        .unwrap();
    // A wrong Duo secret key: every cycle fails.
    std::fs::write(env.dir.path().join("duo.skey"), "x".repeat(40)).unwrap();
    let config = Arc::new(agent::Config::load(&env.path).unwrap());
    let stop = CancellationToken::new();
    let agent = tokio::spawn(agent::run_with(config, None, stop.clone(), None));
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut readyz = (0, String::new());
    // Bounded: the first cycle fails fast against the local simulators.
    for _ in 0..200 {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
            readyz = (r.status().as_u16(), r.text().await.unwrap_or_default());
            if readyz.1.contains("last cycle of every rule failed") {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(readyz.0, 503, "{}", readyz.1);
    assert!(readyz.1.contains("every rule failed"), "{}", readyz.1);
    let metrics = crate::support::get_text(&http, &base, "/metrics").await;
    assert!(
        metrics.contains("p1duo_last_successful_cycle_timestamp_seconds{rule=\"r\"} 0"),
        "never succeeded is 0, so an alert on it fires: {metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "p1duo_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        )),
        "{metrics}"
    );
    stop.cancel();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(20), agent).await;
}

/// The hash of rule "r"'s blocked plan, from `status --json`.
async fn blocked_hash(env: &Env) -> String {
    let (_, js) = status(env, true).await;
    let v: Value = serde_json::from_str(&js).unwrap();
    v["rules"][0]["blocked"]["plan_hash"]
        .as_str()
        .unwrap_or_else(|| panic!("not blocked: {v:#}"))
        .to_owned()
}

async fn approve(env: &Env, hash: &str) -> Result<String, agent::AgentError> {
    let config = agent::Config::load(&env.path).unwrap();
    let mut out = Vec::new();
    agent::approve(&config, "r", hash, &mut out).await?;
    Ok(String::from_utf8(out).unwrap())
}

/// 20 users synced by rule "r" (remove action disable), then 15 gone from
/// PingOne: the next cycle is blocked.
async fn most_of_the_rule_leaves(env: &Env, agent_cfg: &str) -> agent::Config {
    env.sims
        .write_config(
            env.dir.path(),
            agent_cfg,
            &outbound_rule("r", "deprovision = true\nremove_action = \"disable\"", ""),
        )
        .unwrap();
    let config = agent::Config::load(&env.path).unwrap();
    let ids: Vec<String> = (0..20)
        .map(|i| env.p1_user(&format!("u{i:02}"), &env.workforce, json!({})))
        .collect();
    env.sync(&config).await;
    for id in &ids[..15] {
        env.sims.p1.delete_user(id).unwrap();
    }
    config
}

fn disabled(env: &Env) -> usize {
    env.sims
        .duo
        .state()
        .users
        .iter()
        .filter(|u| u.status == "disabled")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_is_bound_to_the_reviewed_plan() {
    let env = Env::new().await;
    let config = most_of_the_rule_leaves(&env, "listen = \"127.0.0.1:0\"").await;
    let r = env.sync(&config).await;
    assert_eq!(r[0].outcome, Outcome::Blocked);
    let hash = blocked_hash(&env).await;
    // Another plan's hash approves nothing, and says which plan is blocked.
    let wrong = approve(&env, &"0".repeat(64))
        .await
        .unwrap_err()
        .to_string();
    assert!(wrong.contains(&hash), "{wrong}");
    assert_eq!(env.sync(&config).await[0].outcome, Outcome::Blocked);
    // The reviewed plan's hash: the next sync carries it out, once.
    approve(&env, &hash).await.unwrap();
    let r = env.sync(&config).await;
    assert_eq!(r[0].outcome, Outcome::InStep, "{:?}", r[0]);
    assert_eq!(disabled(&env), 15);
    let (o, _) = status(&env, false).await;
    assert_eq!(o, Outcome::InStep);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_reaches_the_running_agent_and_runs_the_rule_at_once() {
    let env = Env::new().await;
    let (port, agent_cfg) = crate::support::hourly_agent();
    let config = most_of_the_rule_leaves(&env, &agent_cfg).await;
    let stop = CancellationToken::new();
    let agent = tokio::spawn(agent::run_with(Arc::new(config), None, stop.clone(), None));
    let http = reqwest::Client::new();
    let mut hash = String::new();
    for _ in 0..400 {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/status.json"))
            .send()
            .await
            && let Ok(v) = r.json::<Value>().await
            && let Some(h) = v["rules"][0]["blocked"]["plan_hash"].as_str()
        {
            hash = h.to_owned();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(!hash.is_empty(), "the startup cycle was never blocked");
    // The agent holds the database: the approval goes through its server,
    // which runs the rule now rather than at the next interval (an hour).
    let said = approve(&env, &hash)
        .await
        .expect("approved through the agent");
    assert!(said.contains("runs the rule now"), "{said}");
    for _ in 0..400 {
        if disabled(&env) == 15 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(disabled(&env), 15);
    stop.cancel();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(20), agent).await;
}
