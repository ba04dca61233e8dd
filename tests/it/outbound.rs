//! Outbound end to end (PingOne → Duo) against both simulators: create with
//! mapped attributes and phone, update, disable, deprovision, adoption,
//! create = false, userType, groups and memberships, rule deletion, and a
//! second sync that writes nothing.

use crate::support::{Env, outbound_rule};
use agent::Outcome;
use serde_json::json;

const ACTIONS: &str = "deprovision = true\nremove_action = \"disable\"";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_in_scope_are_created_with_mapped_attributes_and_phone_and_a_second_sync_writes_nothing()
 {
    let env = Env::new().await;
    env.p1_user(
        "alice",
        &env.workforce,
        json!({ "primaryPhone": "+1 734 555 1212" }),
    );
    env.p1_user("bob", &env.workforce, json!({}));
    env.p1_user("carol", &env.contractors, json!({}));
    let config = env.config(&outbound_rule("r", ACTIONS, ""));
    let reports = env.sync(&config).await;
    assert_eq!(reports[0].outcome, Outcome::InStep, "{:?}", reports[0]);
    assert_eq!(reports[0].summary.users_impacted, 2);
    let alice = env.duo_user("alice").expect("alice created in Duo");
    assert_eq!(alice.email, "alice@example.com");
    assert_eq!(alice.realname, "Given alice");
    assert_eq!(alice.status, "active");
    assert_eq!(env.duo_phones("alice"), ["+17345551212"]);
    assert!(env.duo_user("bob").is_some());
    assert!(
        env.duo_user("carol").is_none(),
        "carol is not in the Workforce population"
    );

    env.reset_stats();
    let again = env.sync(&config).await;
    assert_eq!(again[0].ops, 0, "nothing left to do: {:?}", again[0]);
    assert_eq!(
        env.duo_writes(),
        0,
        "second sync wrote to Duo: {:?}",
        env.sims.duo.stats().by_route
    );
    assert_eq!(
        env.p1_writes(),
        0,
        "second sync wrote to PingOne: {:?}",
        env.sims.p1.stats().by_route
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_updates_disables_and_deprovisions_by_the_remove_action() {
    let env = Env::new().await;
    let alice = env.p1_user("alice", &env.workforce, json!({}));
    let bob = env.p1_user("bob", &env.workforce, json!({}));
    let carol = env.p1_user("carol", &env.workforce, json!({}));
    let dave = env.p1_user("dave", &env.workforce, json!({}));
    // Four linked users: limits large enough for one of each change.
    let safety = "";
    let config = env.config(&outbound_rule("r", ACTIONS, safety));
    env.sync(&config).await;
    env.sims
        .p1
        .update_user(&alice, json!({ "email": "alice@new.example.com" }))
        .unwrap();
    env.sims.p1.set_user_enabled(&bob, false).unwrap();
    env.sims.p1.delete_user(&carol).unwrap();
    env.sims.p1.move_user(&dave, &env.contractors).unwrap();
    let r = env.sync(&config).await;
    assert_eq!(r[0].outcome, Outcome::InStep, "{:?}", r[0]);
    assert_eq!(
        env.duo_user("alice").unwrap().email,
        "alice@new.example.com"
    );
    assert_eq!(env.duo_user("bob").unwrap().status, "disabled");
    assert_eq!(
        env.duo_user("carol").unwrap().status,
        "disabled",
        "remove action disable keeps the user, disabled"
    );
    assert_eq!(
        env.duo_user("dave").unwrap().status,
        "disabled",
        "out of scope is deprovisioned too"
    );

    // The same with remove_action = "purge" (the Admin API's permanent delete; "delete" sends
    // users to Duo's trash, see duo_fidelity.rs).
    let config = env.config(&outbound_rule(
        "r",
        "deprovision = true\nremove_action = \"purge\"",
        safety,
    ));
    env.sims.p1.delete_user(&alice).unwrap();
    let r = env.sync_with(&config, true).await;
    assert_eq!(r[0].outcome, Outcome::InStep, "{:?}", r[0]);
    assert!(env.duo_user("alice").is_none(), "alice deleted from Duo");
}

/// Same username and same email: the same person, adopted and updated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_duo_user_is_adopted_not_duplicated() {
    let env = Env::new().await;
    env.sims
        .duo
        .insert_user(
            "alice",
            &[("realname", "Old Name"), ("email", "alice@example.com")],
        )
        .unwrap();
    env.p1_user("alice", &env.workforce, json!({}));
    let config = env.config(&outbound_rule("r", ACTIONS, ""));
    let r = env.sync(&config).await;
    assert_eq!(r[0].outcome, Outcome::InStep, "{:?}", r[0]);
    assert_eq!(env.duo_users_named("alice"), 1, "no duplicate");
    let u = env.duo_user("alice").unwrap();
    assert_eq!(
        (u.realname.as_str(), u.email.as_str()),
        ("Given alice", "alice@example.com")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_create_false_users_are_unsynced_and_nothing_is_created() {
    let env = Env::new().await;
    env.p1_user("alice", &env.workforce, json!({}));
    let config = env.config(&outbound_rule("r", "create = false", ""));
    let r = env.sync(&config).await;
    assert_eq!(r[0].summary.users_unsynced, 1, "{:?}", r[0]);
    assert!(env.duo_user("alice").is_none());
    assert_eq!(env.duo_writes(), 0);
    let report = agent::StatusReport::read(
        &config,
        agent::StateDb::open_read_only(&config.state_path)
            .await
            .unwrap()
            .as_ref(),
    )
    .await
    .unwrap();
    let st = &report.rules[0].not_in_step;
    assert_eq!(st.len(), 1);
    assert_eq!(st[0].status, state_store::SyncStatus::Unsynced);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_type_admin_becomes_a_read_only_duo_admin_and_an_invalid_one_fails_only_that_user() {
    let env = Env::new().await;
    env.p1_user("boss", &env.workforce, json!({ "type": "admin" }));
    env.p1_user("weird", &env.workforce, json!({ "type": "superuser" }));
    env.p1_user("plain", &env.workforce, json!({}));
    let config = env.config(&outbound_rule(
        "r",
        ACTIONS,
        "userType = \"coalesce(type, \\\"user\\\")\"",
    ));
    let r = env.sync(&config).await;
    assert_eq!(r[0].outcome, Outcome::SomeFailed);
    assert_eq!(r[0].summary.users_failed, 1, "{:?}", r[0]);
    let (_, name, status, msg) = &r[0].problems[0];
    assert_eq!((name.as_str(), status.as_str()), ("weird", "failed"));
    assert!(
        msg.contains("userType") && msg.contains("superuser"),
        "{msg}"
    );
    assert!(env.duo_user("plain").is_some(), "the others sync");
    assert!(env.duo_user("weird").is_none());
    let admins = env.sims.duo.state().admins;
    let boss = admins
        .iter()
        .find(|a| a.email == "boss@example.com")
        .expect("boss is a Duo administrator");
    assert_eq!(boss.role, "Read-only", "never Owner by accident");
    assert!(
        env.duo_user("boss").is_none(),
        "an admin is not also a Duo user"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_groups_are_created_renamed_and_deleted_and_memberships_follow() {
    let env = Env::new().await;
    let alice = env.p1_user("alice", &env.workforce, json!({}));
    let bob = env.p1_user("bob", &env.workforce, json!({}));
    let eng = env
        .sims
        .p1
        .create_group(json!({ "name": "Engineering", "description": "Builders" }))
        .unwrap();
    let sales = env
        .sims
        .p1
        .create_group(json!({ "name": "Sales" }))
        .unwrap();
    env.sims.p1.add_member(&alice, &eng).unwrap();
    env.sims.p1.add_member(&bob, &sales).unwrap();
    let push = |groups: &str| {
        format!(
            "{}\n[rules.groups]\npush = [{groups}]\n",
            outbound_rule("r", ACTIONS, "")
        )
    };
    let config = env.config(&push("\"Engineering\", \"Sales\""));
    let r = env.sync(&config).await;
    assert_eq!(r[0].outcome, Outcome::InStep, "{:?}", r[0]);
    let members = |name: &str| {
        let st = env.sims.duo.state();
        let g = st
            .groups
            .iter()
            .find(|g| g.name == name)
            .unwrap_or_else(|| panic!("group {name} in Duo"));
        let mut m: Vec<String> = st
            .users
            .iter()
            .filter(|u| u.groups.contains(&g.group_id))
            .map(|u| u.username.clone())
            .collect();
        m.sort();
        m
    };
    assert_eq!(members("Engineering"), ["alice"]);
    assert_eq!(members("Sales"), ["bob"]);
    assert_eq!(
        env.sims
            .duo
            .state()
            .groups
            .iter()
            .find(|g| g.name == "Engineering")
            .unwrap()
            .desc,
        "Builders"
    );

    // Membership changes and a rename in PingOne follow, with the config
    // still naming the group by its old name (it is followed by id).
    env.sims.p1.add_member(&bob, &eng).unwrap();
    env.sims.p1.remove_member(&bob, &sales).unwrap();
    env.sims
        .p1
        .update_group(&eng, json!({ "name": "Platform" }))
        .unwrap();
    let r = env.sync(&config).await;
    assert_eq!(r[0].outcome, Outcome::InStep, "{:?}", r[0]);
    assert_eq!(members("Platform"), ["alice", "bob"]);
    assert!(members("Sales").is_empty());
    assert!(
        !duo_has_group(&env, "Engineering"),
        "renamed, not duplicated"
    );
    // Updating the config to the new name changes nothing.
    let config = env.config(&push("\"Platform\", \"Sales\""));
    let r = env.sync(&config).await;
    assert_eq!(r[0].outcome, Outcome::InStep, "{:?}", r[0]);
    assert_eq!(r[0].ops, 0, "{:?}", r[0]);

    // Deleted in PingOne while still in the push list: deleted in Duo too.
    let dropped = env
        .sims
        .p1
        .create_group(json!({ "name": "Dropped" }))
        .unwrap();
    env.sims.p1.add_member(&alice, &dropped).unwrap();
    let config = env.config(&push("\"Platform\", \"Sales\", \"Dropped\""));
    env.sync(&config).await;
    assert_eq!(members("Dropped"), ["alice"]);
    env.sims.p1.delete_group(&dropped).unwrap();
    let r = env.sync_with(&config, true).await;
    assert_eq!(r[0].outcome, Outcome::InStep, "{:?}", r[0]);
    assert!(
        !duo_has_group(&env, "Dropped"),
        "a pushed group deleted in PingOne is deleted in Duo"
    );
    // A name never seen is still a configuration error that names the fix.
    let typo = env.config(&push("\"Platfrom\""));
    let err = env.sync_error(&typo, false).await;
    assert!(
        err.contains("group \"Platfrom\" named in rule \"r\" groups.push does not exist"),
        "{err}"
    );

    // Removed from the push list: deleted in Duo.
    let config = env.config(&push("\"Platform\""));
    let r = env.sync_with(&config, true).await;
    assert_eq!(r[0].outcome, Outcome::InStep, "{:?}", r[0]);
    assert!(!duo_has_group(&env, "Sales"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_rule_with_deprovision_on_rule_deletion_deprovisions_what_it_provisioned() {
    let env = Env::new().await;
    env.p1_user("alice", &env.workforce, json!({}));
    env.sims.duo.insert_user("outsider", &[]).unwrap();
    let keep = outbound_rule("keeper", "deprovision = false", "");
    let doomed = outbound_rule(
        "doomed",
        "deprovision = true\nremove_action = \"purge\"\ndeprovision_on_rule_deletion = true",
        "",
    );
    let config = env.config(&doomed);
    env.sync(&config).await;
    assert!(env.duo_user("alice").is_some());
    // The rule is removed from the configuration (another rule stays).
    let config = env.config(&keep.replace(
        "populations = [\"Workforce\"]",
        "populations = [\"Contractors\"]",
    ));
    let r = env.sync_with(&config, true).await;
    let gone = r
        .iter()
        .find(|r| r.rule == "doomed")
        .expect("the removed rule still runs once");
    assert_eq!(gone.outcome, Outcome::InStep, "{gone:?}");
    assert!(
        env.duo_user("alice").is_none(),
        "alice was provisioned by the removed rule: deleted"
    );
    assert!(
        env.duo_user("outsider").is_some(),
        "a user the rule never managed is left alone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_group_renamed_in_pingone_is_followed_and_a_deleted_one_stops_the_rule() {
    let env = Env::new().await;
    let alice = env.p1_user("alice", &env.workforce, json!({}));
    env.p1_user("bob", &env.workforce, json!({}));
    let g = env
        .sims
        .p1
        .create_group(json!({ "name": "Duo Users" }))
        .unwrap();
    env.sims.p1.add_member(&alice, &g).unwrap();
    let rule = outbound_rule("r", ACTIONS, "").replace(
        "populations = [\"Workforce\"]",
        "populations = [\"Workforce\"]\ngroups = [\"Duo Users\"]",
    );
    let config = env.config(&rule);
    let r = env.sync(&config).await;
    assert_eq!(r[0].outcome, Outcome::InStep, "{:?}", r[0]);
    assert!(env.duo_user("alice").is_some() && env.duo_user("bob").is_none());

    // Renamed in PingOne, the config unchanged: followed by id, nothing to do.
    env.sims
        .p1
        .update_group(&g, json!({ "name": "MFA Users" }))
        .unwrap();
    let r = env.sync(&config).await;
    assert_eq!((r[0].outcome, r[0].ops), (Outcome::InStep, 0), "{:?}", r[0]);
    // `check` passes and says what to update.
    let mut out = Vec::new();
    agent::check(&config, false, &mut out)
        .await
        .expect("check runs");
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("ok")
            && l.contains("rule r: named populations and groups")
            && l.contains("group \"Duo Users\" is now \"MFA Users\" (scope.groups)")),
        "{text}"
    );

    // Deleted in PingOne: the rule stops instead of deprovisioning its scope.
    env.sims.p1.delete_group(&g).unwrap();
    let err = env.sync_error(&config, true).await;
    assert!(
        err.contains("group \"Duo Users\" named in rule \"r\" scope.groups was deleted in PingOne")
            && err.contains("fix rule \"r\" scope.groups"),
        "{err}"
    );
    assert!(env.duo_user("alice").is_some(), "nothing was deprovisioned");
}

/// Whether Duo holds a group of this name.
fn duo_has_group(env: &Env, name: &str) -> bool {
    env.sims.duo.state().groups.iter().any(|g| g.name == name)
}
