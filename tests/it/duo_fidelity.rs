//! Issue 15 end to end: Duo's trash (a trashed linked user is reported, or restored with
//! `restore_trashed = true`, never re-created), observed phone numbers without `+`, and
//! `check` against a read-only administrators grant.

use crate::support::{Env, outbound_rule};
use serde_json::json;

const ACTIONS: &str = "deprovision = true\nremove_action = \"disable\"";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trashed_linked_user_is_reported_and_never_recreated() {
    let env = Env::new().await;
    env.p1_user("alice", &env.workforce, json!({}));
    let config = env.config(&outbound_rule("r", ACTIONS, ""));
    env.sync(&config).await;
    let alice = env.duo_user("alice").expect("alice created");
    env.sims.duo.send_to_trash(&[&alice.user_id]).unwrap();

    let r = env.sync(&config).await;
    let problem = r[0]
        .problems
        .iter()
        .find(|p| p.1.contains("alice"))
        .unwrap_or_else(|| panic!("no problem reported for alice: {:?}", r[0]));
    assert!(
        problem.3.contains("trash") && problem.3.contains("restore_trashed"),
        "the problem names the fix: {problem:?}"
    );
    assert_eq!(env.duo_users_named("alice"), 1, "never a duplicate");
    assert_eq!(env.duo_user("alice").unwrap().status, "pending deletion");
    // Still reported on the next cycle, and still no second alice.
    let r = env.sync(&config).await;
    assert!(
        r[0].problems.iter().any(|p| p.1.contains("alice")),
        "{:?}",
        r[0]
    );
    assert_eq!(env.duo_users_named("alice"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_trashed_restores_the_same_user_instead_of_recreating_it() {
    let env = Env::new().await;
    env.p1_user("alice", &env.workforce, json!({}));
    let config = env.config(&outbound_rule(
        "r",
        &format!("{ACTIONS}\nrestore_trashed = true"),
        "",
    ));
    env.sync(&config).await;
    let alice = env.duo_user("alice").expect("alice created");
    env.sims.duo.send_to_trash(&[&alice.user_id]).unwrap();

    let r = env.sync(&config).await;
    assert!(r[0].problems.is_empty(), "{:?}", r[0]);
    let now = env.duo_user("alice").unwrap();
    assert_eq!(now.user_id, alice.user_id, "the same user, enrollment kept");
    assert_eq!(now.status, "active");
    assert_eq!(env.duo_users_named("alice"), 1);
    env.reset_stats();
    let again = env.sync(&config).await;
    assert_eq!(again[0].ops, 0, "{:?}", again[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observed_numbers_without_plus_plan_no_phone_changes() {
    let env = Env::new_with(|c| c.variants.phone_without_plus = true).await;
    env.p1_user(
        "alice",
        &env.workforce,
        json!({ "primaryPhone": "+1 734 555 1212" }),
    );
    let config = env.config(&outbound_rule("r", ACTIONS, ""));
    env.sync(&config).await;
    assert_eq!(env.duo_phones("alice"), ["+17345551212"]);
    env.reset_stats();
    let again = env.sync(&config).await;
    assert_eq!(again[0].ops, 0, "{:?}", again[0]);
    assert_eq!(env.duo_writes(), 0, "{:?}", env.sims.duo.stats().by_route);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_fails_a_read_only_administrators_grant_and_names_the_permission() {
    let env = Env::new_with(|c| {
        c.permissions.remove(&duo_sim::Permission::AdminapiAdmins);
        c.permissions
            .insert(duo_sim::Permission::AdminapiAdminsRead);
    })
    .await;
    let config = env.config(&outbound_rule(
        "r",
        ACTIONS,
        "userType = \"coalesce(type, \\\"user\\\")\"",
    ));
    let mut out = Vec::new();
    let result = agent::check(&config, false, &mut out).await;
    let text = String::from_utf8_lossy(&out);
    assert!(result.is_err(), "{text}");
    assert!(
        text.contains("FAIL Duo permission: administrator writes")
            && text.contains("Grant administrators")
            && text.contains("Read/Write"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_action_delete_sends_users_to_duos_trash_where_they_stay_restorable() {
    let env = Env::new().await;
    let alice = env.p1_user("alice", &env.workforce, json!({}));
    let config = env.config(&outbound_rule(
        "r",
        "deprovision = true\nremove_action = \"delete\"\nrestore_trashed = true",
        "",
    ));
    env.sync(&config).await;
    let before = env.duo_user("alice").expect("alice created");
    env.sims.p1.delete_user(&alice).unwrap();
    let r = env.sync_with(&config, true).await;
    assert_eq!(r[0].outcome, agent::Outcome::InStep, "{:?}", r[0]);
    let trashed = env.duo_user("alice").expect("still in Duo, in the trash");
    assert_eq!(
        (trashed.user_id.as_str(), trashed.status.as_str()),
        (before.user_id.as_str(), "pending deletion")
    );
    // Back in PingOne within Duo's retention period: the same Duo user is restored.
    env.p1_user("alice", &env.workforce, json!({}));
    let r = env.sync(&config).await;
    assert!(r[0].problems.is_empty(), "{:?}", r[0]);
    let back = env.duo_user("alice").unwrap();
    assert_eq!(
        (back.user_id.as_str(), back.status.as_str()),
        (before.user_id.as_str(), "active")
    );
    assert_eq!(env.duo_users_named("alice"), 1);
}
