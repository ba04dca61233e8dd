//! Users: validation envelopes, uniqueness, PATCH versus PUT, `/enabled`,
//! `/population`, `include` and `expand`, custom attributes; group names.

use crate::common::{detail, start, user};
use pingone_sim::SimConfig;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn duplicate_username_is_invalid_data_with_the_existing_id() {
    let api = start(SimConfig::default()).await;
    let first = api.post("/users", user("alice")).await;
    assert_eq!(first.status, 201);
    let id = first.body["id"].as_str().unwrap();
    let dup = api
        .post(
            "/users",
            json!({"username": "alice", "email": "other@example.com"}),
        )
        .await;
    assert_eq!(dup.status, 400);
    assert_eq!(dup.body["code"], "INVALID_DATA");
    assert_eq!(
        detail(&dup.body),
        ("UNIQUENESS_VIOLATION".into(), "username".into())
    );
    assert_eq!(dup.body["details"][0]["innerError"]["existingId"], id);
    assert!(dup.body["id"].is_string() && dup.body["message"].is_string());
    // Case differs: the same username (PingOne), unless configured otherwise.
    assert_eq!(api.post("/users", user("Alice")).await.status, 400);
    let lax = start(SimConfig {
        username_case_insensitive: false,
        ..SimConfig::default()
    })
    .await;
    assert_eq!(lax.post("/users", user("alice")).await.status, 201);
    assert_eq!(lax.post("/users", user("Alice")).await.status, 201);
    let strict = start(SimConfig {
        uniqueness_status: 409,
        ..SimConfig::default()
    })
    .await;
    assert_eq!(strict.post("/users", user("bob")).await.status, 201);
    assert_eq!(strict.post("/users", user("BOB")).await.status, 409);
}

#[tokio::test]
async fn validation_details_name_the_target() {
    let api = start(SimConfig::default()).await;
    api.sim.declare_attribute("blob");
    let cases = [
        (
            json!({"email": "a@example.com"}),
            "REQUIRED_VALUE",
            "username",
        ),
        (
            json!({"username": "x".repeat(129), "email": "a@example.com"}),
            "INVALID_VALUE",
            "username",
        ),
        (
            json!({"username": "x", "email": "not-an-email"}),
            "INVALID_VALUE",
            "email",
        ),
        (
            json!({"username": "x", "email": "a@example.com", "name": {"family": "<b>"}}),
            "INVALID_VALUE",
            "name.family",
        ),
        (
            json!({"username": "x", "email": "a@example.com", "mobilePhone": "call me"}),
            "INVALID_VALUE",
            "mobilePhone",
        ),
        (
            json!({"username": "x", "email": "a@example.com", "externalId": "e".repeat(1025)}),
            "INVALID_VALUE",
            "externalId",
        ),
        (
            json!({"username": "x", "email": "a@example.com", "population": {"id": "nope"}}),
            "INVALID_VALUE",
            "population.id",
        ),
        (
            json!({"username": "x", "email": "a@example.com", "blob": "z".repeat(17_000)}),
            "SIZE_LIMIT_EXCEEDED",
            "user",
        ),
    ];
    for (body, code, target) in cases {
        let r = api.post("/users", body).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(
            detail(&r.body),
            (code.to_string(), target.to_string()),
            "{}",
            r.body
        );
    }
    let long = api
        .post(
            "/users",
            json!({"username": "x".repeat(129), "email": "a@example.com"}),
        )
        .await;
    assert_eq!(
        long.body["details"][0]["innerError"]["rangeMaximumValue"],
        128
    );
    let not_json = api
        .http
        .post(api.url("/users"))
        .bearer_auth(&api.token)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    assert!(api.sim.state().users.is_empty());
}

#[tokio::test]
async fn patch_changes_only_what_is_sent_and_put_replaces() {
    let api = start(SimConfig::default()).await;
    api.sim.declare_attribute("costCenter");
    api.sim.declare_attribute("prefs");
    let pop = api.sim.create_population("Contractors").unwrap();
    let created = api
        .post(
            "/users",
            json!({"username": "carol", "email": "carol@example.com", "title": "CTO", "name": {"given": "Carol", "family": "Shaw"},
                   "costCenter": "42", "prefs": {"a": 1, "b": 2}, "population": {"id": pop}}),
        )
        .await;
    assert_eq!(created.status, 201);
    assert_eq!(created.body["costCenter"], "42");
    assert_eq!(created.body["population"]["id"], pop);
    assert_eq!(created.body["enabled"], true);
    let id = created.body["id"].as_str().unwrap().to_string();
    let path = format!("/users/{id}");

    let patched = api.call(Method::PATCH, &path, Some(json!({"title": "CEO", "name": {"given": "Caz"}, "prefs": {"b": null}, "enabled": false}))).await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["title"], "CEO");
    assert_eq!(
        patched.body["name"],
        json!({"given": "Caz", "family": "Shaw"})
    );
    assert_eq!(patched.body["costCenter"], "42");
    assert_eq!(patched.body["prefs"], json!({"a": 1}));
    assert_eq!(
        patched.body["enabled"], true,
        "enabled changes only through /enabled"
    );

    let default_pop = api.sim.default_population_id().unwrap();
    let put = api.call(Method::PUT, &path, Some(json!({"username": "carol", "email": "carol@example.com", "population": {"id": default_pop}}))).await;
    assert_eq!(put.status, 200);
    assert!(
        put.body.get("title").is_none()
            && put.body.get("costCenter").is_none()
            && put.body.get("name").is_none()
    );
    assert_eq!(
        put.body["population"]["id"], pop,
        "PUT does not move populations"
    );
    let bad_put = api
        .call(
            Method::PUT,
            &path,
            Some(json!({"email": "carol@example.com"})),
        )
        .await;
    assert_eq!(
        detail(&bad_put.body),
        ("REQUIRED_VALUE".into(), "username".into())
    );

    let en = api
        .call(
            Method::PUT,
            &format!("{path}/enabled"),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(
        (en.status, en.body["enabled"].as_bool()),
        (200, Some(false))
    );
    assert_eq!(
        api.get(&format!("{path}/enabled")).await.body["enabled"],
        false
    );
    assert!(!api.sim.state().users[0].enabled);

    let moved = api
        .call(
            Method::PUT,
            &format!("{path}/population"),
            Some(json!({"id": default_pop})),
        )
        .await;
    assert_eq!(
        (moved.status, moved.body["id"].as_str()),
        (200, Some(default_pop.as_str()))
    );
    let got = api.get(&format!("{path}?expand=population")).await;
    assert_eq!(got.body["_embedded"]["population"]["name"], "Default");
    assert_eq!(api.call(Method::DELETE, &path, None).await.status, 204);
    assert_eq!(api.get(&path).await.status, 404);
    assert_eq!(api.get(&path).await.body["code"], "NOT_FOUND");
}

#[tokio::test]
async fn group_names_are_unique_and_put_keeps_the_population() {
    let api = start(SimConfig::default()).await;
    let pop = api.sim.default_population_id().unwrap();
    let g = api
        .post(
            "/groups",
            json!({"name": "Sales", "population": {"id": pop}, "customData": {"k": 1}}),
        )
        .await;
    assert_eq!(g.status, 201);
    let gid = g.body["id"].as_str().unwrap().to_string();
    let dup = api.post("/groups", json!({"name": "Sales"})).await;
    assert_eq!(
        detail(&dup.body),
        ("UNIQUENESS_VIOLATION".into(), "name".into())
    );
    assert_eq!(
        dup.body["details"][0]["innerError"]["existingId"],
        gid.as_str()
    );
    assert_eq!(
        detail(&api.post("/groups", json!({"description": "x"})).await.body),
        ("REQUIRED_VALUE".into(), "name".into())
    );
    let put = api
        .call(
            Method::PUT,
            &format!("/groups/{gid}"),
            Some(json!({"name": "Sales EMEA", "description": "d"})),
        )
        .await;
    assert_eq!(put.status, 200);
    assert_eq!(put.body["population"]["id"], pop.as_str());
    assert!(put.body.get("customData").is_none());
    assert_eq!(
        api.post("/groups", json!({"name": "Sales"})).await.status,
        201,
        "the old name is free again"
    );
    let patch = api
        .call(
            Method::PATCH,
            &format!("/groups/{gid}"),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(
        (patch.status, patch.body["code"].as_str()),
        (405, Some("METHOD_NOT_ALLOWED"))
    );
}

#[tokio::test]
async fn the_same_seed_generates_the_same_directory() {
    let cfg = SimConfig {
        seed_users: 40,
        seed_groups: 5,
        seed: 11,
        ..SimConfig::default()
    };
    let a = pingone_sim::PingOneSim::start(cfg.clone()).await.unwrap();
    let b = pingone_sim::PingOneSim::start(cfg.clone()).await.unwrap();
    let c = pingone_sim::PingOneSim::start(SimConfig { seed: 12, ..cfg })
        .await
        .unwrap();
    assert_eq!(a.state(), b.state());
    assert_ne!(a.state().users[0].id, c.state().users[0].id);
    assert_eq!(a.state().users.len(), 40);
    assert!(!a.state().memberships.is_empty());
}
