//! `p1duo run` in-process: the status server's endpoints, readiness after the
//! first cycle, a PingOne change notification triggering a fast cycle long
//! before the interval, and a graceful stop.

use crate::support::{Env, outbound_rule};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Poll `f` until it holds; the bound only stops a broken test from hanging.
async fn eventually<F: FnMut() -> bool>(what: &str, mut f: F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_health_metrics_status_and_syncs_fast_on_a_change_notification() {
    let env = Env::new().await;
    env.p1_user("alice", &env.workforce, json!({}));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let agent_cfg = format!(
        "listen = \"127.0.0.1:{port}\"\ninterval = \"1h\"\njitter = \"0s\"\n[agent.notifications]\npublic_url = \"http://127.0.0.1:{port}/pingone/events\"\ndebounce = \"100ms\""
    );
    env.sims
        .write_config(env.dir.path(), &agent_cfg, &outbound_rule("r", "", ""))
        .unwrap();
    let config = Arc::new(agent::Config::load(&env.path).unwrap());
    let stop = CancellationToken::new();
    let agent = tokio::spawn(agent::run::run_with(config, None, stop.clone(), None));
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let get = |path: &str| {
        let (http, url) = (http.clone(), format!("{base}{path}"));
        async move { http.get(url).send().await.ok() }
    };
    let mut ready = false;
    for _ in 0..800 {
        if let Some(r) = get("/readyz").await
            && r.status() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(ready, "/readyz never became 200");
    assert!(env.duo_user("alice").is_some(), "the startup cycle ran");
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(metrics.contains("p1duo_operations_total{rule=\"r\",kind=\"user\",action=\"create\",result=\"success\"} 1"), "{metrics}");
    assert!(
        metrics.contains("p1duo_api_calls_total{side=\"duo\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("p1duo_last_successful_cycle_timestamp_seconds{rule=\"r\"}"),
        "{metrics}"
    );
    let page = get("/status").await.unwrap().text().await.unwrap();
    assert!(page.contains("rule r"), "{page}");

    // A user created in PingOne arrives in Duo through the notification, not the 1 h interval.
    env.p1_user("bob", &env.workforce, json!({}));
    eventually("bob in Duo after the change notification", || {
        env.duo_user("bob").is_some()
    })
    .await;

    stop.cancel();
    let outcome = tokio::time::timeout(Duration::from_secs(20), agent)
        .await
        .expect("stops")
        .unwrap()
        .unwrap();
    assert_eq!(outcome, agent::Outcome::InStep);
}
