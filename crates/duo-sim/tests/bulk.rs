//! The bulk endpoints over HTTP: `users/bulk_create`, `/admin/v1/bulk`, `username_list` and
//! `user_id_list` lookups, and each switch (maxima, atomicity, rate class, off, bulk faults).

mod common;

use common::Caller;
use duo_sim::{BulkFault, BulkRateClass, BulkSettings, DuoSim, SimConfig};
use serde_json::{Value, json};

async fn sim_with(cfg: SimConfig) -> (DuoSim, Caller) {
    let sim = DuoSim::start(cfg).await.unwrap();
    let c = Caller::new(&sim.base_url());
    (sim, c)
}

fn users(names: &[&str]) -> String {
    let v: Vec<Value> = names
        .iter()
        .map(|n| json!({"username": n, "email": format!("{n}@example.com")}))
        .collect();
    serde_json::to_string(&v).unwrap()
}

fn usernames(sim: &DuoSim) -> Vec<String> {
    sim.state().users.into_iter().map(|u| u.username).collect()
}

#[tokio::test]
async fn bulk_create_answers_the_created_users_in_order() {
    let (sim, c) = sim_with(SimConfig::default()).await;
    let (st, b) = c
        .call(
            "POST",
            "/admin/v1/users/bulk_create",
            &[("users", &users(&["ann", "bob"]))],
        )
        .await;
    assert_eq!(st, 200, "{b}");
    let got: Vec<&str> = b["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["ann", "bob"]);
    assert!(
        b["response"][0]["user_id"]
            .as_str()
            .unwrap()
            .starts_with("DU")
    );
    assert_eq!(b["response"][1]["email"], "bob@example.com");
    assert_eq!(usernames(&sim), ["ann", "bob"]);
    assert_eq!(sim.stats().route("POST /admin/v1/users/bulk_create"), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn bulk_create_is_all_or_nothing_by_default_and_partial_as_a_variant() {
    let (sim, c) = sim_with(SimConfig::default()).await;
    sim.insert_user("taken", &[]).unwrap();
    let body = users(&["ann", "taken", "bob"]);
    let (st, b) = c
        .call("POST", "/admin/v1/users/bulk_create", &[("users", &body)])
        .await;
    assert_eq!((st, b["code"].as_u64()), (400, Some(40003)), "{b}");
    assert_eq!(usernames(&sim), ["taken"], "nothing of the batch stays");

    let mut cfg = SimConfig::default();
    cfg.apply_variants("bulk_partial").unwrap();
    sim.set_bulk(cfg.bulk);
    let (st, b) = c
        .call("POST", "/admin/v1/users/bulk_create", &[("users", &body)])
        .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["response"].as_array().unwrap().len(), 2);
    assert_eq!(usernames(&sim), ["taken", "ann", "bob"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn over_the_maximum_is_refused_naming_the_list() {
    let (sim, c) = sim_with(SimConfig::default()).await;
    let names: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let (st, b) = c
        .call(
            "POST",
            "/admin/v1/users/bulk_create",
            &[("users", &users(&refs))],
        )
        .await;
    assert_eq!(
        (st, b["code"].as_u64(), b["message_detail"].as_str()),
        (400, Some(40002), Some("users"))
    );
    let (st, _) = c
        .call(
            "POST",
            "/admin/v1/users/bulk_create",
            &[("users", &users(&refs[..100]))],
        )
        .await;
    assert_eq!(st, 200);

    let op = json!({"method": "DELETE", "path": "/admin/v1/users/DUNOSUCH", "body": {}});
    let ops = |n: usize| serde_json::to_string(&vec![op.clone(); n]).unwrap();
    let (st, b) = c
        .call("POST", "/admin/v1/bulk", &[("operations", &ops(51))])
        .await;
    assert_eq!(
        (st, b["message_detail"].as_str()),
        (400, Some("operations"))
    );
    assert_eq!(
        c.call("POST", "/admin/v1/bulk", &[("operations", &ops(50))])
            .await
            .0,
        200
    );
    // Smaller maxima as a switch.
    sim.set_bulk(BulkSettings {
        max_users: 2,
        max_operations: 1,
        ..BulkSettings::default()
    });
    let (st, b) = c
        .call(
            "POST",
            "/admin/v1/users/bulk_create",
            &[("users", &users(&["x", "y", "z"]))],
        )
        .await;
    assert_eq!((st, b["message_detail"].as_str()), (400, Some("users")));
    assert_eq!(
        c.call("POST", "/admin/v1/bulk", &[("operations", &ops(2))])
            .await
            .0,
        400
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn bulk_operations_run_in_order_each_with_its_own_answer() {
    let (sim, c) = sim_with(SimConfig::default()).await;
    let ann = sim.insert_user("ann", &[]).unwrap().user_id;
    let bob = sim.insert_user("bob", &[]).unwrap().user_id;
    let g = sim.insert_group("staff", &[]).unwrap().group_id;
    sim.add_member(&bob, &g).unwrap();
    let ops = json!([
        {"method": "POST", "path": "/admin/v1/users", "body": {"username": "cat"}},
        {"method": "POST", "path": format!("/admin/v1/users/{ann}"), "body": {"email": "ann@example.com", "status": "disabled"}},
        {"method": "POST", "path": format!("/admin/v1/users/{ann}"), "body": {"email": "not-an-email"}},
        {"method": "POST", "path": format!("/admin/v1/users/{ann}/groups"), "body": {"group_id": g}},
        {"method": "DELETE", "path": format!("/admin/v1/users/{bob}/groups/{g}"), "body": {}},
        {"method": "POST", "path": "/admin/v1/users/DUNOSUCHUSER000000000/groups", "body": {"group_id": g}},
        {"method": "POST", "path": "/admin/v1/groups", "body": {"name": "not allowed in bulk"}},
        {"method": "DELETE", "path": format!("/admin/v1/users/{bob}"), "body": {}},
    ]);
    let (st, b) = c
        .call(
            "POST",
            "/admin/v1/bulk",
            &[("operations", &ops.to_string())],
        )
        .await;
    assert_eq!(st, 200, "{b}");
    let r = b["response"].as_array().unwrap();
    let stats: Vec<&str> = r.iter().map(|x| x["stat"].as_str().unwrap()).collect();
    assert_eq!(
        stats,
        ["OK", "OK", "FAIL", "OK", "OK", "FAIL", "FAIL", "OK"]
    );
    assert_eq!(r[0]["response"]["username"], "cat");
    assert_eq!(r[1]["response"]["status"], "disabled");
    assert_eq!(
        (r[2]["code"].as_u64(), r[2]["message_detail"].as_str()),
        (Some(40002), Some("email"))
    );
    assert_eq!(r[5]["code"].as_u64(), Some(40401));
    assert_eq!(r[6]["message_detail"].as_str(), Some("operations"));
    let st = sim.state();
    let ann_now = st.users.iter().find(|u| u.user_id == ann).unwrap();
    assert_eq!(
        ann_now.email, "ann@example.com",
        "a later failure undoes nothing"
    );
    assert_eq!(ann_now.groups, std::slice::from_ref(&g));
    assert!(st.users.iter().all(|u| u.user_id != bob), "bob deleted");
    assert_eq!(usernames(&sim), ["ann", "cat"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn username_and_user_id_lists_look_up_at_most_100() {
    let (sim, c) = sim_with(SimConfig::default()).await;
    let ids = sim.insert_users("u", 3).unwrap();
    let (st, b) = c
        .call(
            "GET",
            "/admin/v1/users",
            &[("username_list", r#"["U000002","u000000","nobody"]"#)],
        )
        .await;
    assert_eq!(st, 200, "{b}");
    let got: Vec<&str> = b["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["u000002", "u000000"]);
    let list = serde_json::to_string(&[&ids[1]]).unwrap();
    let (_, b) = c
        .call("GET", "/admin/v1/users", &[("user_id_list", &list)])
        .await;
    assert_eq!(b["response"][0]["username"], "u000001");
    let many: Vec<String> = (0..101).map(|i| format!("n{i}")).collect();
    let (st, b) = c
        .call(
            "GET",
            "/admin/v1/users",
            &[("username_list", &serde_json::to_string(&many).unwrap())],
        )
        .await;
    assert_eq!(
        (st, b["message_detail"].as_str()),
        (400, Some("username_list"))
    );
    // A lookup is a page read, like any list call.
    assert_eq!(sim.stats().route("GET /admin/v1/users"), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn without_bulk_the_endpoints_are_unknown() {
    let mut cfg = SimConfig::default();
    cfg.apply_variants("no_bulk").unwrap();
    let (sim, c) = sim_with(cfg).await;
    let (st, b) = c
        .call(
            "POST",
            "/admin/v1/users/bulk_create",
            &[("users", &users(&["ann"]))],
        )
        .await;
    assert_eq!((st, b["code"].as_u64()), (404, Some(40401)));
    let (st, _) = c
        .call("POST", "/admin/v1/bulk", &[("operations", "[]")])
        .await;
    assert_eq!(st, 404);
    assert!(usernames(&sim).is_empty());
    sim.shutdown().await;
}

async fn bulk_calls_allowed(rate_class: BulkRateClass, per_call: usize) -> (usize, u16) {
    let (sim, c) = sim_with(SimConfig {
        rate_limit: true,
        bulk: BulkSettings {
            rate_class,
            ..BulkSettings::default()
        },
        ..SimConfig::default()
    })
    .await;
    let mut n = 0;
    loop {
        let names: Vec<String> = (0..per_call).map(|i| format!("c{n}x{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let (st, _) = c
            .call(
                "POST",
                "/admin/v1/users/bulk_create",
                &[("users", &users(&refs))],
            )
            .await;
        if st != 200 || n > 400 {
            // The single-write bucket is what is left after the bulk calls.
            let single = c.call("POST", "/admin/v1/groups", &[("name", "g")]).await.0;
            sim.shutdown().await;
            return (n, single);
        }
        n += 1;
    }
}

#[tokio::test(start_paused = true)]
async fn the_rate_class_of_bulk_calls_is_a_switch() {
    // Default: each call is one write, whatever its size: 300 calls a minute, then 429, and the
    // writes are spent.
    assert_eq!(
        bulk_calls_allowed(BulkRateClass::Write, 10).await,
        (300, 429)
    );
    // A bucket of their own: 50 calls, single writes untouched.
    assert_eq!(
        bulk_calls_allowed(BulkRateClass::Own(50), 10).await,
        (50, 200)
    );
    // Per object: 10 users a call use 10 writes each.
    assert_eq!(
        bulk_calls_allowed(BulkRateClass::PerObject, 10).await,
        (30, 429)
    );
}

#[tokio::test]
async fn bulk_faults_hit_the_next_bulk_calls_only() {
    let (sim, c) = sim_with(SimConfig::default()).await;
    sim.fail_next_bulk(&[
        BulkFault::DropAfter,
        BulkFault::ServerErrorAfter,
        BulkFault::DropBefore,
    ]);
    // A single call is not a bulk call: untouched.
    assert_eq!(
        c.call("POST", "/admin/v1/users", &[("username", "solo")])
            .await
            .0,
        200
    );
    let create = |names: &'static [&'static str]| {
        let c = c.clone();
        async move {
            c.send(
                "POST",
                "/admin/v1/users/bulk_create",
                &[("users", &users(names))],
            )
            .await
        }
    };
    assert!(
        create(&["a1", "a2"]).await.is_err(),
        "applied, then dropped"
    );
    let r = create(&["b1"]).await.unwrap();
    assert_eq!(r.status().as_u16(), 500);
    assert!(create(&["c1"]).await.is_err(), "dropped before");
    assert_eq!(create(&["d1"]).await.unwrap().status().as_u16(), 200);
    assert_eq!(usernames(&sim), ["solo", "a1", "a2", "b1", "d1"]);
    sim.shutdown().await;
}
