//! The simulator's defaults are PingOne's documented behaviour (one test per
//! difference found by the fidelity review; `docs/simulators.md` has the table).

use crate::common::{start, user};
use axum::Router;
use axum::extract::State;
use axum::routing::post;
use pingone_sim::SimConfig;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A complete subscription body, as PingOne requires it.
fn sub_body(url: &str) -> Value {
    json!({
        "name": "p1duo",
        "enabled": true,
        "format": "ACTIVITY",
        "verifyTlsCertificates": true,
        "httpEndpoint": {"url": url, "headers": {"Authorization": "Bearer t"}},
        "filterOptions": {"includedActionTypes": ["USER.CREATED", "USER.UPDATED"]}
    })
}

#[tokio::test]
async fn a_subscription_without_verify_tls_certificates_is_refused_naming_it() {
    let api = start(SimConfig::default()).await;
    let mut b = sub_body("http://127.0.0.1:9/x");
    b.as_object_mut().unwrap().remove("verifyTlsCertificates");
    let r = api.post("/subscriptions", b).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["details"][0]["code"], "REQUIRED_VALUE");
    assert_eq!(r.body["details"][0]["target"], "verifyTlsCertificates");
    for field in ["enabled", "format"] {
        let mut b = sub_body("http://127.0.0.1:9/x");
        b.as_object_mut().unwrap().remove(field);
        let r = api.post("/subscriptions", b).await;
        assert_eq!(
            (r.status, r.body["details"][0]["target"].as_str()),
            (400, Some(field))
        );
    }
    assert_eq!(
        api.post("/subscriptions", sub_body("http://127.0.0.1:9/x"))
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn included_populations_are_objects_with_an_id() {
    let api = start(SimConfig::default()).await;
    let pop = api.sim.default_population_id().unwrap();
    let mut b = sub_body("http://127.0.0.1:9/x");
    b["filterOptions"]["includedPopulations"] = json!([{"id": pop}]);
    let r = api.post("/subscriptions", b.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    b["filterOptions"]["includedPopulations"] = json!([pop]);
    let r = api.post("/subscriptions", b).await;
    assert_eq!(
        (
            r.status,
            r.body["details"][0]["target"].as_str().unwrap_or("")
        ),
        (400, "filterOptions.includedPopulations")
    );
}

#[tokio::test]
async fn at_most_fifty_subscriptions_per_environment() {
    let api = start(SimConfig::default()).await;
    for i in 0..50 {
        let mut b = sub_body("http://127.0.0.1:9/x");
        b["name"] = json!(format!("s{i}"));
        assert_eq!(api.post("/subscriptions", b).await.status, 201);
    }
    let r = api
        .post("/subscriptions", sub_body("http://127.0.0.1:9/x"))
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
}

#[tokio::test]
async fn a_subscription_is_updated_in_place_with_put() {
    let api = start(SimConfig::default()).await;
    let r = api
        .post("/subscriptions", sub_body("http://127.0.0.1:9/x"))
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let mut b = sub_body("http://127.0.0.1:9/y");
    b["name"] = json!("renamed");
    let u = api
        .call(Method::PUT, &format!("/subscriptions/{id}"), Some(b))
        .await;
    assert_eq!(u.status, 200, "{}", u.body);
    let subs = api.sim.subscriptions();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0]["name"], "renamed");
    assert_eq!(subs[0]["httpEndpoint"]["url"], "http://127.0.0.1:9/y");
}

#[tokio::test]
async fn an_unknown_action_type_is_named_in_the_details() {
    let api = start(SimConfig::default()).await;
    let mut b = sub_body("http://127.0.0.1:9/x");
    b["filterOptions"]["includedActionTypes"] = json!(["USER.CREATED", "X.A", "X.B"]);
    let r = api.post("/subscriptions", b).await;
    assert_eq!(r.status, 400);
    let named: Vec<&str> = r.body["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["target"] == "filterOptions.includedActionTypes")
        .filter_map(|d| d["innerError"]["value"].as_str())
        .collect();
    assert_eq!(named, ["X.A", "X.B"], "{}", r.body);
}

type Seen = Arc<Mutex<Vec<(u16, String)>>>;

/// A receiver answering the statuses in `answers` in turn (then 200), recording each body.
async fn receiver(answers: Vec<u16>) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let answers = Arc::new(Mutex::new(answers.into_iter()));
    let app = Router::new()
        .route(
            "/hook",
            post(
                |State((seen, answers)): State<(Seen, Arc<Mutex<std::vec::IntoIter<u16>>>)>,
                 body: axum::body::Bytes| async move {
                    let code = answers.lock().unwrap().next().unwrap_or(200);
                    seen.lock()
                        .unwrap()
                        .push((code, String::from_utf8_lossy(&body).into_owned()));
                    axum::http::StatusCode::from_u16(code).unwrap()
                },
            ),
        )
        .with_state((seen.clone(), answers));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (url, seen)
}

async fn wait_for(seen: &Seen, n: usize) {
    for _ in 0..2000 {
        if seen.lock().unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{} deliveries, wanted {n}", seen.lock().unwrap().len());
}

#[tokio::test(start_paused = true)]
async fn events_arrive_as_a_json_array_and_only_a_200_moves_the_queue_on() {
    let api = start(SimConfig::default()).await;
    // 204 is a 2xx but not PingOne's "200": the batch is posted again.
    let (url, seen) = receiver(vec![204, 500]).await;
    assert_eq!(api.post("/subscriptions", sub_body(&url)).await.status, 201);
    api.sim.create_user(user("ann")).unwrap();
    api.sim.create_user(user("ben")).unwrap();
    wait_for(&seen, 3).await;
    let seen = seen.lock().unwrap().clone();
    let first: Value = serde_json::from_str(&seen[0].1).unwrap();
    let arr = first.as_array().expect("a JSON array of events");
    assert!(!arr.is_empty() && arr[0]["action"]["type"] == "USER.CREATED");
    // Head of line: the same batch until a 200.
    assert_eq!(seen[1].1, seen[0].1);
    assert_eq!(seen[2].1, seen[0].1);
    assert_eq!(seen[2].0, 200);
}

#[tokio::test(start_paused = true)]
async fn a_batch_carries_up_to_500_events_and_nd_json_is_a_variant() {
    let api = start(SimConfig::default()).await;
    let (url, seen) = receiver(vec![503]).await;
    assert_eq!(api.post("/subscriptions", sub_body(&url)).await.status, 201);
    for i in 0..600 {
        api.sim.create_user(user(&format!("u{i}"))).unwrap();
    }
    wait_for(&seen, 3).await;
    let sizes: Vec<usize> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| {
            serde_json::from_str::<Value>(b)
                .unwrap()
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    assert!(sizes.iter().all(|n| *n <= 500), "{sizes:?}");
    assert_eq!(sizes.iter().skip(1).sum::<usize>(), 600, "{sizes:?}");

    let nd = start(SimConfig {
        delivery_format: pingone_sim::DeliveryFormat::NdJson,
        ..SimConfig::default()
    })
    .await;
    let (url, seen) = receiver(vec![]).await;
    assert_eq!(nd.post("/subscriptions", sub_body(&url)).await.status, 201);
    nd.sim.create_user(user("a")).unwrap();
    nd.sim.create_user(user("b")).unwrap();
    wait_for(&seen, 1).await;
    let body = seen.lock().unwrap()[0].1.clone();
    for line in body.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(v.is_object(), "{line}");
    }
}

#[tokio::test(start_paused = true)]
async fn an_undelivered_batch_is_retried_for_about_seven_days_then_dropped() {
    let api = start(SimConfig::default()).await;
    let (url, seen) = receiver(vec![500; 100_000]).await;
    assert_eq!(api.post("/subscriptions", sub_body(&url)).await.status, 201);
    api.sim.create_user(user("kim")).unwrap();
    wait_for(&seen, 5).await;
    assert_eq!(api.sim.deliveries(), (0, 0), "still retrying");
    tokio::time::sleep(Duration::from_secs(8 * 24 * 3600)).await;
    assert_eq!(api.sim.deliveries(), (0, 1), "expired");
}

#[tokio::test]
async fn usernames_are_case_insensitive_and_email_is_optional() {
    let api = start(SimConfig::default()).await;
    assert_eq!(api.post("/users", user("alice")).await.status, 201);
    let dup = api.post("/users", user("ALICE")).await;
    assert_eq!(dup.status, 400, "{}", dup.body);
    assert_eq!(dup.body["details"][0]["code"], "UNIQUENESS_VIOLATION");
    let r = api.post("/users", json!({"username": "noemail"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn enabled_is_read_only_on_create() {
    let api = start(SimConfig::default()).await;
    let mut b = user("dis");
    b["enabled"] = json!(false);
    let r = api.post("/users", b.clone()).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["enabled"], true, "PingOne ignores enabled on create");
    let honour = start(SimConfig {
        enabled_on_create: true,
        ..SimConfig::default()
    })
    .await;
    let r = honour.post("/users", b).await;
    assert_eq!(r.body["enabled"], false, "the variant honours it");
}

#[tokio::test]
async fn a_groups_direct_parents_come_first() {
    let api = start(SimConfig::default()).await;
    // Created grandparent first: by creation time it would lead the list.
    let grand = api.sim.create_group(json!({"name": "Grand"})).unwrap();
    let parent = api.sim.create_group(json!({"name": "Parent"})).unwrap();
    let child = api.sim.create_group(json!({"name": "Child"})).unwrap();
    api.sim.nest_group(&parent, &grand).unwrap();
    api.sim.nest_group(&child, &parent).unwrap();
    let r = api.get(&format!("/groups/{child}/memberOfGroups")).await;
    let ids: Vec<&str> = r.body["_embedded"]["groupMemberships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [parent.as_str(), grand.as_str()], "{}", r.body);
    // Paging keeps the order.
    let p1 = api
        .get(&format!("/groups/{child}/memberOfGroups?limit=1"))
        .await;
    assert_eq!(
        p1.body["_embedded"]["groupMemberships"][0]["id"],
        parent.as_str()
    );
    let next = p1.body["_links"]["next"]["href"].as_str().unwrap();
    let p2 = api.raw(Method::GET, next, None).await;
    assert_eq!(
        p2.body["_embedded"]["groupMemberships"][0]["id"],
        grand.as_str()
    );
}

#[tokio::test]
async fn attributes_missing_from_the_schema_are_ignored() {
    let api = start(SimConfig::default()).await;
    let mut b = user("ivy");
    b["costCenter"] = json!("42");
    let r = api.post("/users", b).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body.get("costCenter").is_none(), "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    api.sim.declare_attribute("costCenter");
    let p = api
        .call(
            Method::PATCH,
            &format!("/users/{id}"),
            Some(json!({"costCenter": "7"})),
        )
        .await;
    assert_eq!(p.body["costCenter"], "7", "{}", p.body);
}

#[tokio::test]
async fn the_short_pages_variant_pages_short_and_leaves_count_out() {
    let api = start(SimConfig::default().with_variants("short-pages").unwrap()).await;
    for i in 0..50 {
        api.sim.create_user(user(&format!("p{i}"))).unwrap();
    }
    let r = api.get("/users?limit=200").await;
    assert_eq!(r.body["size"], 37, "{}", r.body["size"]);
    assert!(r.body.get("count").is_none());
    let next = r.body["_links"]["next"]["href"].as_str().unwrap();
    assert_eq!(api.raw(Method::GET, next, None).await.body["size"], 13);
}
