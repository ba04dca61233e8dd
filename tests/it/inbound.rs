//! Inbound end to end (Duo → PingOne): users created, updated, disabled and
//! deprovisioned in the target population; and overlapping outbound and
//! inbound rules never echo changes back and forth.

use crate::support::{Env, inbound_rule, outbound_rule};
use agent::Outcome;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duo_users_are_created_updated_disabled_and_deprovisioned_in_the_target_population() {
    let env = Env::new().await;
    let dora = env
        .sims
        .duo
        .insert_user(
            "dora",
            &[("realname", "Dora Explorer"), ("email", "dora@example.net")],
        )
        .unwrap();
    let ed = env
        .sims
        .duo
        .insert_user(
            "ed",
            &[("realname", "Ed Edison"), ("email", "ed@example.net")],
        )
        .unwrap();
    let rule = inbound_rule(
        "in",
        "Contractors",
        "deprovision = true\nremove_action = \"delete\"",
    );
    let config = env.config(&rule);
    let r = env.sync(&config).await;
    assert_eq!(r[0].outcome, Outcome::InStep, "{:?}", r[0]);
    let u = env.p1_state_user("dora").expect("dora created in PingOne");
    assert_eq!(
        u.population_id, env.contractors,
        "lands in the target population"
    );
    assert_eq!(u.attributes["email"], "dora@example.net");
    assert_eq!(u.attributes["name"]["formatted"], "Dora Explorer");
    assert!(u.enabled);

    env.sims
        .duo
        .call(
            "POST",
            &format!("/admin/v1/users/{}", dora.user_id),
            &[("realname", "Dora the Explorer"), ("status", "disabled")],
        )
        .unwrap();
    env.sims
        .duo
        .call("DELETE", &format!("/admin/v1/users/{}", ed.user_id), &[])
        .unwrap();
    let r = env.sync_with(&config, false).await;
    assert_eq!(r[0].outcome, Outcome::InStep, "{:?}", r[0]);
    let u = env.p1_state_user("dora").unwrap();
    assert_eq!(u.attributes["name"]["formatted"], "Dora the Explorer");
    assert!(!u.enabled, "disabled in Duo, disabled in PingOne");
    assert!(
        env.p1_state_user("ed").is_none(),
        "deleted in Duo, deprovisioned (deleted) in PingOne"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_duo_user_is_created_disabled_though_pingone_ignores_enabled_on_create() {
    let env = Env::new().await;
    env.sims
        .duo
        .insert_user(
            "fay",
            &[
                ("realname", "Fay Field"),
                ("email", "fay@example.net"),
                ("status", "disabled"),
            ],
        )
        .unwrap();
    let config = env.config(&inbound_rule("in", "Contractors", ""));
    let r = env.sync(&config).await;
    assert_eq!(r[0].outcome, Outcome::InStep, "{:?}", r[0]);
    let u = env.p1_state_user("fay").expect("fay created");
    assert!(!u.enabled, "disabled in Duo, disabled in PingOne");
    let r = env.sync(&config).await;
    assert_eq!(r[0].ops, 0, "the next cycle is quiet: {:?}", r[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_outbound_and_inbound_rules_never_echo() {
    let env = Env::new().await;
    env.p1_user("alice", &env.workforce, json!({}));
    env.p1_user("cora", &env.contractors, json!({}));
    env.sims
        .duo
        .insert_user(
            "dora",
            &[("realname", "Dora"), ("email", "dora@example.net")],
        )
        .unwrap();
    // Outbound takes both populations, including the one inbound users land in.
    let out = outbound_rule("out", "deprovision = true", "")
        .replace("[\"Workforce\"]", "[\"Workforce\", \"Contractors\"]");
    let config = env.config(&format!(
        "{out}\n{}",
        inbound_rule("in", "Contractors", "deprovision = true")
    ));
    let r = env.sync(&config).await;
    assert!(r.iter().all(|r| r.outcome == Outcome::InStep), "{r:?}");
    for name in ["alice", "cora", "dora"] {
        assert_eq!(env.duo_users_named(name), 1, "{name} once in Duo");
        assert_eq!(
            env.sims
                .p1
                .state()
                .users
                .iter()
                .filter(|u| u.username == name)
                .count(),
            1,
            "{name} once in PingOne"
        );
    }
    for round in 0..2 {
        env.reset_stats();
        let r = env.sync(&config).await;
        assert!(r.iter().all(|r| r.ops == 0), "round {round}: {r:?}");
        assert_eq!(
            env.duo_writes(),
            0,
            "round {round}: {:?}",
            env.sims.duo.stats().by_route
        );
        assert_eq!(
            env.p1_writes(),
            0,
            "round {round}: {:?}",
            env.sims.p1.stats().by_route
        );
    }
    // A change on either side goes one way only.
    let dora = env.p1_state_user("dora").unwrap();
    assert_eq!(dora.population_id, env.contractors);
    let alice = env.duo_user("alice").unwrap();
    env.sims
        .duo
        .call(
            "POST",
            &format!("/admin/v1/users/{}", alice.user_id),
            &[("realname", "Changed In Duo")],
        )
        .unwrap();
    env.reset_stats();
    env.sync(&config).await;
    assert_eq!(
        env.p1_writes(),
        0,
        "a Duo change to an outbound user is not written to PingOne"
    );
    assert_eq!(
        env.duo_user("alice").unwrap().realname,
        "Given alice",
        "outbound restores its own value"
    );
}

/// A mapping target missing from PingOne's User schema (here `costCenter`,
/// never declared) is ignored by PingOne; the agent leaves it out instead of
/// writing it again every cycle: the second cycle is quiet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapping_target_missing_from_pingones_schema_is_not_written_every_cycle() {
    let env = Env::new().await;
    env.sims
        .duo
        .insert_user(
            "gus",
            &[("realname", "Gus Grove"), ("email", "gus@example.net")],
        )
        .unwrap();
    let rule = inbound_rule("in", "Contractors", "") + "\"custom.costCenter\" = \"email\"\n";
    let config = env.config(&rule);
    let r = env.sync(&config).await;
    assert_eq!(r[0].outcome, Outcome::InStep, "{:?}", r[0]);
    let u = env.p1_state_user("gus").expect("gus created");
    assert_eq!(u.attributes["name"]["formatted"], "Gus Grove");
    env.reset_stats();
    let r = env.sync(&config).await;
    assert_eq!(
        (r[0].ops, env.p1_writes()),
        (0, 0),
        "the next cycle is quiet: {:?}",
        r[0]
    );
}
