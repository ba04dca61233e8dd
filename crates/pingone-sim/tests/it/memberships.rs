//! Direct and nested memberships: DIRECT / INDIRECT types, `include`,
//! `memberOfGroups[...]` filters on users and groups, removal rules.

use crate::common::{detail, filtered, start, user};
use pingone_sim::SimConfig;
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeMap;

#[tokio::test]
async fn nested_groups_make_indirect_members() {
    let api = start(SimConfig::default()).await;
    let eng = api
        .sim
        .create_group(json!({"name": "Engineering"}))
        .unwrap();
    let staff = api.sim.create_group(json!({"name": "Staff"})).unwrap();
    let all = api.sim.create_group(json!({"name": "Everyone"})).unwrap();
    // Engineering ⊂ Staff ⊂ Everyone, through the API (URL group is the child).
    let n = api
        .post(
            &format!("/groups/{eng}/memberOfGroups"),
            json!({"id": staff}),
        )
        .await;
    assert_eq!(
        (n.status, n.body["id"].as_str()),
        (201, Some(staff.as_str()))
    );
    api.sim.nest_group(&staff, &all).unwrap();
    let cycle = api
        .post(&format!("/groups/{all}/memberOfGroups"), json!({"id": eng}))
        .await;
    assert_eq!(
        detail(&cycle.body),
        ("CONSTRAINT_VIOLATION".into(), "id".into())
    );

    let dana = api.post("/users", user("dana")).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let erin = api.sim.create_user(user("erin")).unwrap();
    let add = api
        .post(&format!("/users/{dana}/memberOfGroups"), json!({"id": eng}))
        .await;
    assert_eq!(
        (add.status, add.body["type"].as_str()),
        (201, Some("DIRECT"))
    );
    api.sim.add_member(&erin, &staff).unwrap();
    let again = api
        .post(&format!("/users/{dana}/memberOfGroups"), json!({"id": eng}))
        .await;
    assert_eq!(detail(&again.body).0, "UNIQUENESS_VIOLATION");

    let (ms, _) = api
        .all(
            &format!("/users/{dana}/memberOfGroups?expand=group"),
            "groupMemberships",
        )
        .await;
    let types: BTreeMap<&str, &str> = ms
        .iter()
        .map(|m| (m["name"].as_str().unwrap(), m["type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        types,
        BTreeMap::from([
            ("Engineering", "DIRECT"),
            ("Everyone", "INDIRECT"),
            ("Staff", "INDIRECT")
        ])
    );
    assert_eq!(ms[0]["_embedded"]["group"]["id"], eng.as_str());
    let one = api
        .get(&format!("/users/{dana}/memberOfGroups/{all}"))
        .await;
    assert_eq!(one.body["type"], "INDIRECT");
    let ids = api
        .get(&format!("/users/{dana}?include=memberOfGroupIDs"))
        .await;
    assert_eq!(ids.body["memberOfGroupIDs"].as_array().unwrap().len(), 3);
    assert!(
        api.get("/users").await.body["_embedded"]["users"][0]
            .get("memberOfGroupIDs")
            .is_none()
    );

    let names = |f: String| {
        let api = &api;
        async move {
            let (us, _) = api.all(&filtered("/users", &f, ""), "users").await;
            us.iter()
                .map(|u| u["username"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        names(format!(r#"memberOfGroups[id eq "{all}"]"#)).await,
        vec!["dana", "erin"]
    );
    assert_eq!(
        names(format!(
            r#"memberOfGroups[id eq "{staff}" and type eq "DIRECT"]"#
        ))
        .await,
        vec!["erin"]
    );
    assert_eq!(
        names(format!(
            r#"memberOfGroups[id eq "{staff}"] and username eq "dana""#
        ))
        .await,
        vec!["dana"]
    );
    assert_eq!(
        names(format!(
            r#"memberOfGroups[id eq "{eng}"] and memberOfGroups[id eq "{staff}"]"#
        ))
        .await,
        vec!["dana"]
    );

    let (children, _) = api
        .all(
            &filtered(
                "/groups",
                &format!(r#"memberOfGroups[id eq "{all}" and type eq "DIRECT"]"#),
                "",
            ),
            "groups",
        )
        .await;
    assert_eq!(
        children
            .iter()
            .map(|g| g["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec!["Staff"]
    );
    let counts = api
        .get(&format!("/groups/{all}?include=totalMemberCounts"))
        .await;
    assert_eq!(counts.body["totalMemberCounts"]["users"], 2);
    assert_eq!(
        counts.body["directMemberCounts"],
        json!({"users": 0, "groups": 1})
    );

    let indirect = api
        .call(
            Method::DELETE,
            &format!("/users/{dana}/memberOfGroups/{staff}"),
            None,
        )
        .await;
    assert_eq!(
        indirect.status, 400,
        "only direct memberships can be removed"
    );
    assert_eq!(
        api.call(
            Method::DELETE,
            &format!("/users/{dana}/memberOfGroups/{eng}"),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        api.get(&format!("/users/{dana}/memberOfGroups/{all}"))
            .await
            .status,
        404
    );
    assert_eq!(
        api.call(
            Method::DELETE,
            &format!("/groups/{eng}/memberOfGroups/{staff}"),
            None
        )
        .await
        .status,
        204
    );
    let state = api.sim.state();
    assert_eq!(state.memberships.len(), 1);
    assert_eq!(state.nestings.len(), 1);
}

#[tokio::test]
async fn population_groups_take_only_their_population_and_moves_leave_them() {
    let api = start(SimConfig::default()).await;
    let other = api.sim.create_population("Partners").unwrap();
    let default = api.sim.default_population_id().unwrap();
    let scoped = api
        .sim
        .create_group(json!({"name": "Default-only", "population": {"id": default}}))
        .unwrap();
    let open = api.sim.create_group(json!({"name": "Anyone"})).unwrap();
    let u = api.sim.create_user(user("frank")).unwrap();
    let p = api
        .sim
        .create_user(
            json!({"username": "pat", "email": "p@example.com", "population": {"id": other}}),
        )
        .unwrap();
    assert_eq!(
        api.sim.add_member(&p, &scoped).unwrap_err().details[0].code,
        "CONSTRAINT_VIOLATION"
    );
    api.sim.add_member(&u, &scoped).unwrap();
    api.sim.add_member(&u, &open).unwrap();
    let r = api
        .call(
            Method::PUT,
            &format!("/users/{u}/population"),
            Some(json!({"id": other})),
        )
        .await;
    assert_eq!(r.status, 200);
    let ms: Vec<String> = api
        .sim
        .state()
        .memberships
        .into_iter()
        .map(|m| m.group_id)
        .collect();
    assert_eq!(ms, vec![open]);
    let (users, _) = api
        .all(
            &filtered("/users", &format!(r#"population.id eq "{other}""#), ""),
            "users",
        )
        .await;
    assert_eq!(users.len(), 2);
    let pops = api.get(&format!("/populations/{other}")).await;
    assert_eq!(pops.body["userCount"], 2);
}

/// Dynamic groups: users matching the group's `userFilter` are members
/// (not DIRECT ones), everywhere a membership shows, and leave when they stop
/// matching or the filter changes (Group Membership, reference §3.4).
#[tokio::test]
async fn dynamic_groups_take_the_users_their_filter_matches() {
    let api = start(SimConfig::default()).await;
    let sales = api
        .sim
        .create_group(json!({"name": "Sales", "userFilter": "title sw \"Sales\""}))
        .unwrap();
    let parent = api.sim.create_group(json!({"name": "Everyone"})).unwrap();
    api.sim.nest_group(&sales, &parent).unwrap();
    let mut ann = user("ann");
    ann["title"] = json!("Sales lead");
    let ann = api.sim.create_user(ann).unwrap();
    let bob = api.sim.create_user(user("bob")).unwrap();

    let members = |g: String, extra: &'static str| {
        let api = &api;
        async move {
            let f = format!(r#"memberOfGroups[id eq "{g}"{extra}]"#);
            let (us, _) = api.all(&filtered("/users", &f, ""), "users").await;
            us.iter()
                .map(|u| u["username"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(members(sales.clone(), "").await, vec!["ann"]);
    assert_eq!(
        members(parent.clone(), "").await,
        vec!["ann"],
        "through nesting"
    );
    assert!(
        members(sales.clone(), r#" and type eq "DIRECT""#)
            .await
            .is_empty()
    );
    let ids = api
        .get(&format!("/users/{ann}?include=memberOfGroupIDs"))
        .await;
    assert_eq!(ids.body["memberOfGroupIDs"].as_array().unwrap().len(), 2);
    let one = api
        .get(&format!("/users/{ann}/memberOfGroups/{sales}"))
        .await;
    assert_eq!(
        (one.status, one.body["type"].as_str()),
        (200, Some("INDIRECT"))
    );
    let counts = api
        .get(&format!("/groups/{sales}?include=totalMemberCounts"))
        .await;
    assert_eq!(counts.body["totalMemberCounts"]["users"], 1);
    assert_eq!(counts.body["directMemberCounts"]["users"], 0);
    let remove = api
        .call(
            Method::DELETE,
            &format!("/users/{ann}/memberOfGroups/{sales}"),
            None,
        )
        .await;
    assert_eq!(remove.status, 400, "a dynamic membership cannot be removed");

    // A user who starts matching joins; one who stops leaves.
    api.sim
        .update_user(&bob, json!({"title": "Sales engineer"}))
        .unwrap();
    api.sim.update_user(&ann, json!({"title": "CFO"})).unwrap();
    assert_eq!(members(sales.clone(), "").await, vec!["bob"]);
    // A new filter re-evaluates everyone; no filter makes the group static.
    api.sim
        .update_group(
            &sales,
            json!({"name": "Sales", "userFilter": "username eq \"ann\""}),
        )
        .unwrap();
    assert_eq!(members(sales.clone(), "").await, vec!["ann"]);
    api.sim
        .update_group(&sales, json!({"name": "Sales"}))
        .unwrap();
    assert!(members(sales.clone(), "").await.is_empty());

    for bad in ["title zz \"x\"", "memberOfGroups[id eq \"x\"]"] {
        let r = api
            .post("/groups", json!({"name": "Bad", "userFilter": bad}))
            .await;
        assert_eq!(
            (r.status, detail(&r.body)),
            (400, ("INVALID_VALUE".into(), "userFilter".into())),
            "{bad}"
        );
    }
}

/// Whether `include=memberOfGroupIDs` lists nested and dynamic groups is
/// undocumented: the `member-of-ids-direct` variant lists direct ones only.
#[tokio::test]
async fn member_of_group_ids_lists_direct_groups_only_in_a_variant() {
    let api = start(
        SimConfig::default()
            .with_variants("member-of-ids-direct")
            .unwrap(),
    )
    .await;
    let child = api.sim.create_group(json!({"name": "Child"})).unwrap();
    let parent = api.sim.create_group(json!({"name": "Parent"})).unwrap();
    let dynamic = api
        .sim
        .create_group(json!({"name": "Dyn", "userFilter": "username sw \"d\""}))
        .unwrap();
    api.sim.nest_group(&child, &parent).unwrap();
    let dana = api.sim.create_user(user("dana")).unwrap();
    api.sim.add_member(&dana, &child).unwrap();
    let ids = api
        .get(&format!("/users/{dana}?include=memberOfGroupIDs"))
        .await;
    assert_eq!(ids.body["memberOfGroupIDs"], json!([child]));
    // The filter still sees every kind of membership.
    for g in [&parent, &dynamic] {
        let f = format!(r#"memberOfGroups[id eq "{g}"]"#);
        let (us, _) = api.all(&filtered("/users", &f, ""), "users").await;
        assert_eq!(us.len(), 1);
    }
}
