//! Change notifications delivered to a local receiver as activity events.

use crate::common::{start, user};
use axum::Router;
use axum::extract::State;
use axum::routing::post;
use pingone_sim::SimConfig;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::mpsc;

/// A webhook receiver on 127.0.0.1 forwarding each event of each POSTed batch.
async fn receiver() -> (String, mpsc::UnboundedReceiver<(Value, Option<String>)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new()
        .route(
            "/hook",
            post(
                |State(tx): State<mpsc::UnboundedSender<(Value, Option<String>)>>,
                 headers: axum::http::HeaderMap,
                 body: axum::body::Bytes| async move {
                    // One JSON array of events per request.
                    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let auth = headers
                        .get("x-hook-secret")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    for e in v.as_array().into_iter().flatten() {
                        let _ = tx.send((e.clone(), auth.clone()));
                    }
                    axum::http::StatusCode::OK
                },
            ),
        )
        .with_state(tx);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (url, rx)
}

async fn next(
    rx: &mut mpsc::UnboundedReceiver<(Value, Option<String>)>,
) -> (Value, Option<String>) {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an event arrives")
        .expect("receiver open")
}

#[tokio::test]
async fn changes_arrive_in_order_as_activity_events() {
    let api = start(SimConfig::default()).await;
    let (url, mut rx) = receiver().await;
    let sub = api
        .post(
            "/subscriptions",
            json!({"name": "p1duo", "enabled": true, "format": "ACTIVITY", "verifyTlsCertificates": true,
                   "httpEndpoint": {"url": url, "headers": {"x-hook-secret": "h"}},
                   "filterOptions": {"includedActionTypes": ["USER.CREATED", "USER.UPDATED", "USER.DELETED", "GROUP.CREATED", "GROUP_MEMBERSHIP.CREATED", "GROUP_MEMBERSHIP.DELETED"]}}),
        )
        .await;
    assert_eq!(sub.status, 201, "{}", sub.body);
    let listed = api.get("/subscriptions").await;
    assert_eq!(
        listed.body["_embedded"]["subscriptions"][0]["id"],
        sub.body["id"]
    );

    let uid = api.post("/users", user("gina")).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    api.call(
        Method::PUT,
        &format!("/users/{uid}/enabled"),
        Some(json!({"enabled": false})),
    )
    .await;
    let gid = api.sim.create_group(json!({"name": "Ops"})).unwrap();
    api.sim.add_member(&uid, &gid).unwrap();
    api.sim
        .nest_group(
            &gid,
            &api.sim.create_group(json!({"name": "Parent"})).unwrap(),
        )
        .unwrap(); // not subscribed
    api.sim.remove_member(&uid, &gid).unwrap();
    api.sim.delete_user(&uid).unwrap();

    let want = [
        "USER.CREATED",
        "USER.UPDATED",
        "GROUP.CREATED",
        "GROUP_MEMBERSHIP.CREATED",
        "GROUP.CREATED",
        "GROUP_MEMBERSHIP.DELETED",
        "USER.DELETED",
    ];
    let mut got = Vec::new();
    for _ in want {
        let (e, header) = next(&mut rx).await;
        assert_eq!(header.as_deref(), Some("h"));
        got.push(e);
    }
    let types: Vec<&str> = got
        .iter()
        .map(|e| e["action"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, want);
    let created = &got[0];
    assert_eq!(created["resources"][0]["type"], "USER");
    assert_eq!(created["resources"][0]["id"], uid.as_str());
    assert_eq!(created["resources"][0]["name"], "gina");
    assert_eq!(
        created["resources"][0]["environment"]["id"],
        api.sim.env_id()
    );
    assert_eq!(created["result"]["status"], "SUCCESS");
    assert!(created["recordedAt"].as_str().unwrap().ends_with('Z'));
    let m = &got[3];
    assert_eq!(
        (
            m["resources"][0]["type"].as_str(),
            m["resources"][1]["type"].as_str()
        ),
        (Some("USER"), Some("GROUP"))
    );
    assert_eq!(m["resources"][1]["id"], gid.as_str());
    assert!(
        api.sim
            .events()
            .iter()
            .any(|e| e["action"]["type"] == "GROUP_NESTING.CREATED"),
        "every change is logged"
    );
    assert_eq!(
        api.call(
            Method::DELETE,
            &format!("/subscriptions/{}", sub.body["id"].as_str().unwrap()),
            None
        )
        .await
        .status,
        204
    );
}

#[tokio::test]
async fn only_loopback_http_endpoints_and_required_action_types() {
    let api = start(SimConfig::default()).await;
    let bad_url = api
        .post("/subscriptions", json!({"name": "x", "enabled": true, "format": "ACTIVITY", "verifyTlsCertificates": true, "httpEndpoint": {"url": "https://hooks.example.com/x"}, "filterOptions": {"includedActionTypes": ["USER.CREATED"]}}))
        .await;
    assert_eq!(
        (
            bad_url.status,
            bad_url.body["details"][0]["target"].as_str()
        ),
        (400, Some("httpEndpoint.url"))
    );
    let no_types = api
        .post(
            "/subscriptions",
            json!({"name": "x", "enabled": true, "format": "ACTIVITY", "verifyTlsCertificates": true, "httpEndpoint": {"url": "http://127.0.0.1:9/x"}}),
        )
        .await;
    assert_eq!(no_types.body["details"][0]["code"], "REQUIRED_VALUE");
    let unknown = api
        .post(
            "/subscriptions",
            json!({"name": "x", "enabled": true, "format": "ACTIVITY", "verifyTlsCertificates": true, "httpEndpoint": {"url": "http://127.0.0.1:9/x"},
                   "filterOptions": {"includedActionTypes": ["USER.CREATED", "USER.EXPLODED"]}}),
        )
        .await;
    assert_eq!(
        (
            unknown.status,
            unknown.body["details"][0]["message"].as_str()
        ),
        (400, Some("USER.EXPLODED is not a known action type"))
    );
}

#[tokio::test(start_paused = true)]
async fn undeliverable_events_are_retried_until_they_expire() {
    let api = start(SimConfig::default()).await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let sub = api
        .post(
            "/subscriptions",
            json!({"name": "gone", "enabled": true, "format": "ACTIVITY", "verifyTlsCertificates": true, "httpEndpoint": {"url": format!("http://{closed}/hook")},
                   "filterOptions": {"includedActionTypes": ["*"]}}),
        )
        .await;
    assert_eq!(sub.status, 201);
    api.sim.create_user(user("kim")).unwrap();
    while api.sim.deliveries() == (0, 0) {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    assert_eq!(api.sim.deliveries(), (0, 1));
    assert!(
        api.sim.delivery_posts() > 3,
        "retried, not dropped after 3 tries"
    );
}
