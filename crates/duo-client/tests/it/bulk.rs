//! The bulk calls against duo-sim: `bulk_create_users`, `bulk_operations` with typed
//! per-operation results, `get_users_by_usernames`, size refusals, an absent endpoint, an
//! unknown outcome, and a reserved slot under the pacer.

use duo_client::{
    BulkOperation, DuoConfig, DuoError, ErrorClass, NewUser, RateLimits, RetryPolicy, UserStatus,
    UserUpdate,
};
use duo_sim::{BulkFault, BulkSettings, SimConfig};

use crate::sim::{start, start_with};

fn new_users(names: &[&str]) -> Vec<NewUser> {
    names
        .iter()
        .map(|n| NewUser {
            email: Some(format!("{n}@example.com")),
            ..NewUser::new(*n)
        })
        .collect()
}

#[tokio::test]
async fn bulk_create_users_answers_each_created_user() {
    let (sim, duo) = start().await;
    let got = duo
        .bulk_create_users(&new_users(&["ann", "bob"]), None)
        .await
        .unwrap();
    let names: Vec<&str> = got.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["ann", "bob"]);
    assert_eq!(got[1].email.as_deref(), Some("bob@example.com"));
    assert_eq!(sim.state().users.len(), 2);
    // All or nothing: one duplicate fails the call, Duo's code kept.
    let e = duo
        .bulk_create_users(&new_users(&["cat", "ann"]), None)
        .await
        .unwrap_err();
    assert!(matches!(e, DuoError::Duplicate { .. }), "{e}");
    assert_eq!(sim.state().users.len(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn refusals_for_size_and_absent_endpoints_are_told_apart() {
    let (sim, duo) = start_with(SimConfig {
        bulk: BulkSettings {
            max_users: 2,
            max_operations: 1,
            ..BulkSettings::default()
        },
        ..SimConfig::default()
    })
    .await;
    let e = duo
        .bulk_create_users(&new_users(&["a", "b", "c"]), None)
        .await
        .unwrap_err();
    assert!(e.refused_for_size("users"), "{e}");
    let bad_email = NewUser {
        email: Some("nope".into()),
        ..NewUser::new("d")
    };
    let e = duo.bulk_create_users(&[bad_email], None).await.unwrap_err();
    assert!(
        !e.refused_for_size("users"),
        "a bad record is not a size: {e}"
    );
    let del = |id: &str| BulkOperation::DeleteUser { user_id: id.into() };
    let e = duo
        .bulk_operations(&[del("DU1"), del("DU2")], None)
        .await
        .unwrap_err();
    assert!(e.refused_for_size("operations"), "{e}");
    sim.set_bulk(BulkSettings {
        enabled: false,
        ..BulkSettings::default()
    });
    let e = duo
        .bulk_create_users(&new_users(&["a"]), None)
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
    sim.shutdown().await;
}

#[tokio::test]
async fn bulk_operations_give_one_typed_result_per_operation() {
    let (sim, duo) = start().await;
    let ann = sim.insert_user("ann", &[]).unwrap().user_id;
    let g = sim.insert_group("staff", &[]).unwrap().group_id;
    let ops = [
        BulkOperation::ModifyUser {
            user_id: ann.clone(),
            update: UserUpdate {
                status: Some(UserStatus::Disabled),
                ..UserUpdate::default()
            },
        },
        BulkOperation::AddUserToGroup {
            user_id: ann.clone(),
            group_id: g.clone(),
        },
        BulkOperation::AddUserToGroup {
            user_id: "DUNOSUCH000000000000".into(),
            group_id: g.clone(),
        },
        BulkOperation::ModifyUser {
            user_id: ann.clone(),
            update: UserUpdate {
                email: Some("bad".into()),
                ..UserUpdate::default()
            },
        },
        BulkOperation::CreateUser(NewUser::new("bob")),
        BulkOperation::RemoveUserFromGroup {
            user_id: ann.clone(),
            group_id: g.clone(),
        },
    ];
    let r = duo.bulk_operations(&ops, None).await.unwrap();
    assert_eq!(r.len(), 6);
    assert_eq!(
        r[0].as_ref().unwrap().as_ref().unwrap().status,
        Some(UserStatus::Disabled)
    );
    assert_eq!(r[1].as_ref().unwrap(), &None);
    assert!(r[2].as_ref().unwrap_err().is_not_found());
    let e = r[3].as_ref().unwrap_err();
    assert!(
        matches!(e, DuoError::BadRequest { .. }) && e.class() == ErrorClass::Permanent,
        "{e}"
    );
    assert!(
        e.to_string().contains("/admin/v1/users/"),
        "names the call: {e}"
    );
    assert_eq!(r[4].as_ref().unwrap().as_ref().unwrap().username, "bob");
    assert!(r[5].is_ok());
    assert!(sim.state().memberships.is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn lookups_by_username_list_take_at_most_100_and_only_the_names_asked() {
    let (sim, duo) = start().await;
    sim.insert_users("u", 3).unwrap();
    sim.insert_user("other", &[("alias1", "al")]).unwrap();
    let got = duo
        .get_users_by_usernames(&["U000001", "al", "missing"])
        .await
        .unwrap();
    let mut names: Vec<&str> = got.iter().map(|u| u.username.as_str()).collect();
    names.sort();
    assert_eq!(names, ["other", "u000001"]);
    assert_eq!(sim.stats().route("GET /admin/v1/users"), 1);
    let many: Vec<String> = (0..101).map(|i| format!("n{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let e = duo.get_users_by_usernames(&refs).await.unwrap_err();
    assert!(matches!(e, DuoError::Config { .. }), "{e}");
    assert_eq!(sim.stats().route("GET /admin/v1/users"), 1, "never sent");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_lost_bulk_create_answer_is_an_unknown_outcome_never_resent() {
    let (sim, _) = start().await;
    let mut config = DuoConfig::new(
        sim.base_url(),
        "DIXXXXXXXXXXXXXXXXXX",
        "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef".to_owned().into(),
    );
    config.rate_limits = RateLimits::off();
    config.retry = RetryPolicy {
        max_attempts: 3,
        initial_backoff: std::time::Duration::from_millis(1),
        max_backoff: std::time::Duration::from_millis(1),
        jitter: std::time::Duration::ZERO,
        ..RetryPolicy::default()
    };
    let duo = duo_client::DuoClient::new(config).unwrap();
    sim.fail_next_bulk(&[BulkFault::DropAfter]);
    let e = duo
        .bulk_create_users(&new_users(&["ann", "bob"]), None)
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::OutcomeUnknown, "{e}");
    assert_eq!(sim.stats().route("POST /admin/v1/users/bulk_create"), 1);
    assert_eq!(sim.state().users.len(), 2, "applied once");
    // Operations without a create are idempotent: re-sent after a lost answer.
    let ann = sim.state().users[0].user_id.clone();
    sim.fail_next_bulk(&[BulkFault::ServerErrorAfter]);
    let r = duo
        .bulk_operations(&[BulkOperation::DeleteUser { user_id: ann }], None)
        .await;
    assert!(matches!(r.as_deref(), Ok([Ok(None)])), "{r:?}");
    assert_eq!(sim.stats().route("POST /admin/v1/bulk"), 2);
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_reserved_slot_is_spent_by_the_call_it_is_given_to() {
    let (sim, _) = start().await;
    let mut config = DuoConfig::new(
        sim.base_url(),
        "DIXXXXXXXXXXXXXXXXXX",
        "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef".to_owned().into(),
    );
    config.rate_limits = RateLimits {
        writes_per_minute: std::num::NonZeroU32::new(60),
        burst: std::num::NonZeroU32::new(1).unwrap(),
        ..RateLimits::off()
    };
    config.retry = RetryPolicy::none();
    let duo = duo_client::DuoClient::new(config).unwrap();
    let start = tokio::time::Instant::now();
    let slot = duo.reserve(duo_client::EndpointClass::Bulk).await;
    assert!(start.elapsed().is_zero());
    duo.bulk_create_users(&new_users(&["a"]), Some(slot))
        .await
        .unwrap();
    assert!(
        start.elapsed() < std::time::Duration::from_millis(500),
        "no second wait: {:?}",
        start.elapsed()
    );
    // Without a slot the next bulk call waits its turn (60/min: a second).
    duo.bulk_create_users(&new_users(&["b"]), None)
        .await
        .unwrap();
    assert!(start.elapsed() >= std::time::Duration::from_secs(1));
    sim.shutdown().await;
}
