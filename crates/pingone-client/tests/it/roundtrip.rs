//! Every typed call once against the simulator, checked through the simulator's state.

use futures::TryStreamExt;
use pingone_client::{
    Error, Filter, GroupFields, GroupQuery, MemberKind, MembershipType, Method, Name, ObjectRef,
    UserFields, UserQuery, collect_all,
};
use pingone_sim::SimConfig;
use serde_json::json;

use crate::start;

fn alice() -> UserFields {
    let mut f = UserFields {
        username: Some("alice@example.com".into()),
        email: Some("alice@example.com".into()),
        name: Some(Name {
            given: Some("Alice".into()),
            family: Some("Liddell".into()),
            ..Name::default()
        }),
        title: Some("Engineer".into()),
        ..UserFields::default()
    };
    f.extra.insert("costCenter".into(), json!("CC-42"));
    f
}

#[tokio::test]
async fn users_round_trip() {
    let (sim, client) = start(SimConfig {
        custom_attributes: vec!["costCenter".into()],
        ..SimConfig::default()
    })
    .await;
    let other_pop = sim.create_population("Contractors").unwrap();

    let created = client.create_user(&alice()).await.unwrap();
    assert!(!created.id.is_empty());
    assert_eq!(created.username, "alice@example.com");
    assert_eq!(
        created.extra.get("costCenter"),
        Some(&json!("CC-42")),
        "custom attribute kept"
    );
    assert_eq!(
        created.population_id(),
        sim.default_population_id().as_deref()
    );

    // PATCH changes only what is sent.
    let patch = UserFields {
        title: Some("Manager".into()),
        ..UserFields::default()
    };
    let updated = client.update_user(&created.id, &patch).await.unwrap();
    assert_eq!(updated.title.as_deref(), Some("Manager"));
    assert_eq!(updated.email.as_deref(), Some("alice@example.com"));
    assert_eq!(updated.extra.get("costCenter"), Some(&json!("CC-42")));

    assert!(!client.set_user_enabled(&created.id, false).await.unwrap());
    client
        .set_user_population(&created.id, &other_pop)
        .await
        .unwrap();
    let state = sim.state();
    let u = state.users.iter().find(|u| u.id == created.id).unwrap();
    assert!(!u.enabled);
    assert_eq!(u.population_id, other_pop);

    // Get includes the group ids; list with expand embeds the population.
    let g = sim.create_group(json!({"name": "Readers"})).unwrap();
    sim.add_member(&created.id, &g).unwrap();
    let got = client.get_user(&created.id).await.unwrap();
    assert_eq!(got.member_of_group_ids, Some(vec![g.clone()]));
    assert_eq!(got.enabled, Some(false));

    let query = UserQuery {
        filter: Some(Filter::eq("username", "alice@example.com").unwrap()),
        expand_population: true,
        limit: None,
    };
    let listed = collect_all(client.list_users(&query)).await.unwrap();
    assert_eq!(listed.len(), 1);
    let pop = listed[0]
        .expanded_population()
        .expect("population expanded");
    assert_eq!(pop.name, "Contractors");

    let found = client
        .find_user_by_username("alice@example.com")
        .await
        .unwrap();
    assert_eq!(found.map(|u| u.id), Some(created.id.clone()));
    assert!(
        client
            .find_user_by_username("nobody")
            .await
            .unwrap()
            .is_none()
    );

    client.delete_user(&created.id).await.unwrap();
    assert!(sim.state().users.is_empty());
    let err = client.get_user(&created.id).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains(&created.id), "{err}");
}

#[tokio::test]
async fn duplicate_username_carries_the_existing_id() {
    for status in [400, 409] {
        let cfg = SimConfig {
            uniqueness_status: status,
            ..SimConfig::default()
        };
        let (_sim, client) = start(cfg).await;
        let first = client.create_user(&alice()).await.unwrap();
        let err = client.create_user(&alice()).await.unwrap_err();
        match &err {
            Error::Uniqueness {
                status: s,
                target,
                existing_id,
                ..
            } => {
                assert_eq!(*s, status);
                assert_eq!(target.as_deref(), Some("username"));
                assert_eq!(existing_id.as_deref(), Some(first.id.as_str()));
            }
            other => panic!("expected Uniqueness, got {other:?}"),
        }
        assert!(!err.is_transient());
        let text = err.to_string();
        assert!(
            text.contains("`username`") && text.contains("alice@example.com"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn missing_required_value_names_the_field() {
    // PingOne's email is optional; the SDK's model (a simulator variant) requires it.
    let (_sim, client) = start(SimConfig {
        require_email: true,
        ..SimConfig::default()
    })
    .await;
    let err = client
        .create_user(&UserFields {
            username: Some("no-email".into()),
            ..UserFields::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Rejected { status: 400, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("`email`"), "{err}");
}

#[tokio::test]
async fn groups_round_trip() {
    let (sim, client) = start(SimConfig::default()).await;
    let fields = GroupFields {
        name: "Sales".into(),
        description: Some("sales team".into()),
        external_id: Some("duo-G1".into()),
        ..GroupFields::default()
    };
    let g = client.create_group(&fields).await.unwrap();
    assert_eq!(g.name, "Sales");
    assert_eq!(
        client
            .get_group(&g.id)
            .await
            .unwrap()
            .external_id
            .as_deref(),
        Some("duo-G1")
    );

    // PUT replaces: the description left out is gone.
    let replaced = client
        .update_group(
            &g.id,
            &GroupFields {
                name: "Sales EMEA".into(),
                ..GroupFields::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(replaced.name, "Sales EMEA");
    assert_eq!(replaced.description, None);

    client
        .create_group(&GroupFields {
            name: "Support".into(),
            ..GroupFields::default()
        })
        .await
        .unwrap();
    let all = collect_all(client.list_groups(&GroupQuery::default()))
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let query = GroupQuery {
        filter: Some(Filter::sw("name", "Sales").unwrap()),
        limit: None,
    };
    let sales = collect_all(client.list_groups(&query)).await.unwrap();
    assert_eq!(
        sales.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
        ["Sales EMEA"]
    );

    let dup = client
        .create_group(&GroupFields {
            name: "Support".into(),
            ..GroupFields::default()
        })
        .await;
    assert!(matches!(dup, Err(Error::Uniqueness { .. })), "{dup:?}");

    client.delete_group(&g.id).await.unwrap();
    assert_eq!(sim.state().groups.len(), 1);
    assert!(client.get_group(&g.id).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn memberships_round_trip_direct_and_indirect() {
    let (sim, client) = start(SimConfig::default()).await;
    let user = client.create_user(&alice()).await.unwrap();
    let bob = client
        .create_user(&UserFields {
            username: Some("bob".into()),
            email: Some("bob@example.com".into()),
            ..UserFields::default()
        })
        .await
        .unwrap();
    let child = sim.create_group(json!({"name": "Child"})).unwrap();
    let parent = sim.create_group(json!({"name": "Parent"})).unwrap();
    sim.nest_group(&child, &parent).unwrap();

    let m = client.add_user_to_group(&user.id, &child).await.unwrap();
    assert_eq!(m.id, child);
    assert_eq!(m.membership_type, Some(MembershipType::Direct));
    client.add_user_to_group(&bob.id, &parent).await.unwrap();

    let mut groups = collect_all(client.list_user_groups(&user.id))
        .await
        .unwrap();
    groups.sort_by_key(|g| g.group().map(|g| g.name.clone()));
    let seen: Vec<(String, MembershipType)> = groups
        .iter()
        .map(|m| {
            (
                m.group().expect("expanded group").name.clone(),
                m.membership_type.unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("Child".to_string(), MembershipType::Direct),
            ("Parent".to_string(), MembershipType::Indirect)
        ]
    );

    let names = |users: Vec<pingone_client::User>| {
        let mut v: Vec<String> = users.into_iter().map(|u| u.username).collect();
        v.sort();
        v
    };
    let any = collect_all(client.list_group_members(&parent, MemberKind::Any))
        .await
        .unwrap();
    assert_eq!(names(any), ["alice@example.com", "bob"]);
    let direct = collect_all(client.list_group_members(&parent, MemberKind::Direct))
        .await
        .unwrap();
    assert_eq!(names(direct), ["bob"]);

    client
        .remove_user_from_group(&user.id, &child)
        .await
        .unwrap();
    assert!(
        collect_all(client.list_user_groups(&user.id))
            .await
            .unwrap()
            .is_empty()
    );
    let err = client
        .remove_user_from_group(&user.id, &child)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn populations_and_raw_calls() {
    let (sim, client) = start(SimConfig::default()).await;
    let id = sim.create_population("Partners").unwrap();
    let pops = collect_all(client.list_populations()).await.unwrap();
    assert!(pops.iter().any(|p| p.id == id && p.name == "Partners"));
    assert!(pops.iter().any(|p| p.default == Some(true)));
    let p = client.get_population(&id).await.unwrap();
    assert_eq!(p.name, "Partners");

    let env = client.environment_id().to_owned();
    let body = json!({"username": "raw", "email": "raw@example.com"});
    let created = client
        .raw(
            Method::POST,
            &format!("/environments/{env}/users"),
            Some(&body),
        )
        .await
        .unwrap()
        .unwrap();
    let uid = created["id"].as_str().unwrap().to_owned();
    let listed = client
        .raw(
            Method::GET,
            &format!("/environments/{env}/users?limit=5"),
            None,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(listed["_embedded"]["users"][0]["username"], "raw");
    let deleted = client
        .raw(
            Method::DELETE,
            &format!("/environments/{env}/users/{uid}"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(deleted, None);

    // A bad filter the builder would refuse, sent raw, maps to InvalidFilter.
    let err = client
        .raw(
            Method::GET,
            &format!("/environments/{env}/users?filter=updatedAt%20eq%20%22x%22"),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidFilter { .. }), "{err:?}");
}

#[tokio::test]
async fn forbidden_explains_the_role() {
    let (sim, client) = start(SimConfig::default()).await;
    sim.set_forbidden(true);
    let mut pages = client.list_users(&UserQuery::all());
    let err = pages.try_next().await.unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
    assert!(err.to_string().contains("Identity Data Admin"), "{err}");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn population_ref_on_create_is_honoured() {
    let (sim, client) = start(SimConfig::default()).await;
    let pop = sim.create_population("Staff").unwrap();
    let mut f = alice();
    f.population = Some(ObjectRef::new(pop.clone()));
    let u = client.create_user(&f).await.unwrap();
    assert_eq!(u.population_id(), Some(pop.as_str()));
}

#[tokio::test]
async fn a_username_lookup_ignores_case_as_pingone_usernames_do() {
    // Whether PingOne's `username eq` filter itself ignores case is undocumented:
    // under the simulator variant where it does, the lookup must keep the match.
    let (sim, client) = start(
        SimConfig::default()
            .with_variants("username-filter-ci")
            .unwrap(),
    )
    .await;
    let id = sim
        .create_user(serde_json::json!({"username": "alice"}))
        .unwrap();
    let found = client.find_user_by_username("ALICE").await.unwrap();
    assert_eq!(found.map(|u| u.id), Some(id));
}
