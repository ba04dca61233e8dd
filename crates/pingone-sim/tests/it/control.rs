//! The `--control` endpoints, and their absence without it.

use crate::common::{client, start, user};
use pingone_sim::{SimConfig, SimState, Stats};
use serde_json::json;

#[tokio::test]
async fn control_endpoints_are_absent_by_default() {
    let api = start(SimConfig::default()).await;
    for path in ["/__sim/stats", "/__sim/state", "/__sim/faults"] {
        let r = api
            .http
            .get(format!("{}{path}", api.sim.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn stats_state_and_faults_over_http() {
    let api = start(SimConfig {
        control: true,
        ..SimConfig::default()
    })
    .await;
    let base = api.sim.base_url();
    let http = client();
    api.post("/users", user("judy")).await;
    api.get("/users").await;
    api.get("/users").await;
    api.get("/nowhere").await;
    let stats: Stats = http
        .get(format!("{base}/__sim/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats.total, 5);
    assert_eq!(stats.by_route["GET /v1/environments/{envId}/users"], 2);
    assert_eq!(stats.by_route["POST /v1/environments/{envId}/users"], 1);
    assert_eq!(stats.by_route["POST /{envId}/as/token"], 1);
    assert_eq!(stats.by_status["200"], 3);
    assert_eq!(stats.by_status["201"], 1);
    assert_eq!(stats, api.sim.stats());

    assert_eq!(
        http.post(format!("{base}/__sim/stats/reset"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(api.sim.stats().total, 0);

    let state: SimState = http
        .get(format!("{base}/__sim/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state, api.sim.state());
    assert_eq!(state.users[0].username, "judy");
    assert_eq!(state.populations.len(), 1);

    let put = http
        .put(format!("{base}/__sim/faults"))
        .json(&json!({"seed": 1, "server_error_rate": 1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let st = api.get("/users").await.status;
    assert!(st == 500 || st == 503, "a server error, got {st}");
    let bad = http
        .put(format!("{base}/__sim/faults"))
        .json(&json!({"sever_error_rate": 1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}
