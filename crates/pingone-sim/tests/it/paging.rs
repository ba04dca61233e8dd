//! HAL paging: the 200 cap, `size`/`count`, `next` links followed verbatim.

use crate::common::start;
use pingone_sim::SimConfig;
use serde_json::Value;
use std::collections::BTreeSet;

#[tokio::test]
async fn users_pages_are_capped_at_200_and_cover_everyone_once() {
    let api = start(SimConfig {
        seed_users: 450,
        ..SimConfig::default()
    })
    .await;
    let first = api.get("/users?limit=1000").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["size"], 200);
    assert_eq!(first.body["count"], 450);
    assert!(
        first.body["_links"]["self"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/users?limit=1000")
    );
    let next = first.body["_links"]["next"]["href"].as_str().unwrap();
    assert!(
        next.contains("limit=1000") && next.contains("cursor="),
        "{next}"
    );
    assert_eq!(
        first.headers["content-type"],
        "application/hal+json;charset=UTF-8"
    );

    let (items, sizes) = api.all("/users?limit=1000", "users").await;
    assert_eq!(sizes, vec![200, 200, 50]);
    let ids: BTreeSet<&str> = items.iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 450);
    let expected: BTreeSet<String> = api.sim.state().users.into_iter().map(|u| u.id).collect();
    assert_eq!(ids, expected.iter().map(String::as_str).collect());
}

#[tokio::test]
async fn small_limits_page_exactly_and_the_last_page_has_no_next() {
    let api = start(SimConfig {
        seed_users: 10,
        ..SimConfig::default()
    })
    .await;
    let (items, sizes) = api.all("/users?limit=3", "users").await;
    assert_eq!(sizes, vec![3, 3, 3, 1]);
    assert_eq!(items.len(), 10);
    let exact = api.get("/users?limit=10").await;
    assert!(exact.body["_links"].get("next").is_none());
    let empty = start(SimConfig::default()).await;
    let r = empty.get("/users").await;
    assert_eq!(r.body["_embedded"]["users"], Value::Array(vec![]));
    assert_eq!(
        (r.body["count"].as_u64(), r.body["size"].as_u64()),
        (Some(0), Some(0))
    );
}

#[tokio::test]
async fn filtered_paging_keeps_the_filter_and_the_count_across_pages() {
    let api = start(SimConfig {
        seed_users: 700,
        ..SimConfig::default()
    })
    .await;
    // user000000..user000499: 500 of the 700.
    let f = r#"username sw "user0000" or username sw "user0001" or username sw "user0002" or (username sw "user0003" or username sw "user0004")"#;
    let path = crate::common::filtered("/users", f, "limit=500");
    let (items, sizes) = api.all(&path, "users").await;
    assert_eq!(sizes, vec![200, 200, 100]);
    assert!(
        items
            .iter()
            .all(|u| u["username"].as_str().unwrap() < "user000500")
    );
    let first = api.get(&path).await;
    let second = api
        .raw(
            reqwest::Method::GET,
            first.body["_links"]["next"]["href"].as_str().unwrap(),
            None,
        )
        .await;
    assert_eq!(second.body["count"], 500);
}

#[tokio::test]
async fn deletes_between_pages_do_not_skip_or_repeat_survivors() {
    let api = start(SimConfig {
        seed_users: 30,
        ..SimConfig::default()
    })
    .await;
    let first = api.get("/users?limit=10").await;
    let seen: Vec<String> = first.body["_embedded"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    // Delete one already seen and one not yet seen.
    let state = api.sim.state();
    api.sim.delete_user(&seen[0]).unwrap();
    api.sim.delete_user(&state.users[20].id).unwrap();
    let mut url = first.body["_links"]["next"]["href"]
        .as_str()
        .map(str::to_string);
    let mut rest = Vec::new();
    while let Some(u) = url {
        let r = api.raw(reqwest::Method::GET, &u, None).await;
        rest.extend(
            r.body["_embedded"]["users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_string()),
        );
        url = r.body["_links"]["next"]["href"]
            .as_str()
            .map(str::to_string);
    }
    let expected: Vec<String> = state.users[10..]
        .iter()
        .filter(|u| u.id != state.users[20].id)
        .map(|u| u.id.clone())
        .collect();
    assert_eq!(rest, expected);
}

#[tokio::test]
async fn bad_limits_and_forged_cursors_are_invalid_parameters() {
    let api = start(SimConfig::default()).await;
    for q in [
        "/users?limit=0",
        "/users?limit=abc",
        "/users?limit=1001",
        "/users?cursor=bm9wZQ",
        "/groups?limit=-1",
    ] {
        let r = api.get(q).await;
        assert_eq!(r.status, 400, "{q}");
        assert_eq!(r.body["details"][0]["code"], "INVALID_PARAMETER", "{q}");
    }
}

#[tokio::test]
async fn groups_and_populations_page_too() {
    let api = start(SimConfig {
        seed_groups: 25,
        ..SimConfig::default()
    })
    .await;
    let (groups, sizes) = api.all("/groups?limit=10", "groups").await;
    assert_eq!(sizes, vec![10, 10, 5]);
    assert_eq!(groups[0]["name"], "group-0000");
    let (pops, _) = api.all("/populations", "populations").await;
    assert_eq!(pops.len(), 1);
    assert_eq!(pops[0]["default"], true);
}
