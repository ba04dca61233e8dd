//! Source outages: PingOne answering an empty user list, errors of every kind,
//! or flaky paging never deprovisions anything in Duo beyond the safety limits.
//! Paused tokio time: the clients' retries cost no wall time.

use crate::support::{Env, outbound_rule};
use agent::Outcome;
use agent::{SyncOptions, sync_reports};
use serde_json::json;

async fn setup(n: usize, actions: &str, safety: &str) -> (Env, agent::Config, Vec<String>) {
    let env = Env::new().await;
    let ids = (0..n)
        .map(|i| env.p1_user(&format!("u{i:03}"), &env.workforce, json!({})))
        .collect();
    let config = env.config(&outbound_rule("r", actions, safety));
    let r = env.sync(&config).await;
    assert_eq!(r[0].outcome, Outcome::InStep, "{r:?}");
    (env, config, ids)
}

async fn sync(
    config: &agent::Config,
    allow: bool,
) -> Vec<Result<agent::CycleReport, agent::AgentError>> {
    let o = SyncOptions {
        rule: None,
        allow_deletes: allow,
        ..SyncOptions::default()
    };
    sync_reports(config, &o).await.expect("sync starts")
}

fn active(env: &Env) -> usize {
    env.sims
        .duo
        .state()
        .users
        .iter()
        .filter(|u| u.status == "active")
        .count()
}

#[tokio::test(start_paused = true)]
async fn an_empty_source_is_blocked_whatever_the_remove_action() {
    for actions in [
        "deprovision = true\nremove_action = \"disable\"",
        "deprovision = true\nremove_action = \"delete\"",
    ] {
        // Limits high enough that only the empty-source guard can stop it.
        let (env, config, ids) = setup(
            30,
            actions,
            "[rules.safety]\nmax_disables = 1000\nmax_deletes = 1000\nmax_disable_percent = 100.0\nmax_delete_percent = 100.0",
        )
        .await;
        for id in &ids {
            env.sims.p1.delete_user(id).unwrap();
        }
        env.reset_stats();
        let r = sync(&config, false).await;
        let r = r[0].as_ref().expect("rule runs");
        assert_eq!(r.outcome, Outcome::Blocked, "{actions}: {r:?}");
        assert!(r.blocked[0].contains("no account"), "{:?}", r.blocked);
        assert_eq!(
            env.duo_writes(),
            0,
            "{actions}: {:?}",
            env.sims.duo.stats().by_route
        );
        assert_eq!(active(&env), 30, "{actions}");
    }
}

#[tokio::test(start_paused = true)]
async fn source_errors_fail_the_cycle_and_touch_nothing_in_duo() {
    let (env, config, _) = setup(25, "deprovision = true\nremove_action = \"delete\"", "").await;
    let cases = [
        (
            "every call 5xx",
            json!({ "seed": 1, "server_error_rate": 1.0 }),
        ),
        (
            "every call 429",
            json!({ "seed": 2, "too_many_requests_rate": 1.0, "retry_after_rate": 1.0 }),
        ),
        (
            "every connection dropped",
            json!({ "seed": 3, "drop_before_rate": 1.0 }),
        ),
    ];
    for (what, f) in cases {
        env.sims.p1.set_faults(serde_json::from_value(f).unwrap());
        env.reset_stats();
        let r = sync(&config, true).await;
        assert!(r[0].is_err(), "{what}: the cycle must fail, got {:?}", r[0]);
        assert_eq!(env.duo_writes(), 0, "{what}");
        assert_eq!(active(&env), 25, "{what}");
        // Retries are bounded: the client gives up rather than spinning.
        let p1_calls = env.sims.p1.stats().total;
        assert!(p1_calls <= 40, "{what}: {p1_calls} PingOne calls");
    }
    env.sims.p1.set_faults(Default::default());
    // A worker without its role (403) and revoked tokens.
    env.sims.p1.set_forbidden(true);
    env.reset_stats();
    let r = sync(&config, true).await;
    assert!(r[0].is_err(), "forbidden: {:?}", r[0]);
    assert_eq!(env.duo_writes(), 0);
    env.sims.p1.set_forbidden(false);
    // Back to normal: nothing was lost, nothing to do.
    env.reset_stats();
    let r = sync(&config, false).await;
    assert_eq!(r[0].as_ref().unwrap().ops, 0);
    assert_eq!(env.duo_writes(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_partial_source_beyond_the_limits_is_blocked_until_allowed() {
    let (env, config, ids) = setup(
        40,
        "deprovision = true",
        "[rules.safety]\nmax_disables = 10",
    )
    .await;
    for id in &ids[..25] {
        env.sims.p1.delete_user(id).unwrap();
    }
    env.reset_stats();
    let r = sync(&config, false).await;
    let rep = r[0].as_ref().unwrap();
    assert_eq!(rep.outcome, Outcome::Blocked, "{rep:?}");
    assert_eq!(env.duo_writes(), 0);
    assert_eq!(active(&env), 40);
    let r = sync(&config, true).await;
    assert_eq!(r[0].as_ref().unwrap().outcome, Outcome::InStep);
    assert_eq!(active(&env), 15);
}

#[tokio::test(start_paused = true)]
async fn flaky_paging_never_looks_like_users_leaving() {
    // Three PingOne pages of 200: a lost page must never read as 200 departures.
    let (env, config, _) = setup(
        450,
        "deprovision = true\nremove_action = \"delete\"",
        "[rules.safety]\nmax_deletes = 1000",
    )
    .await;
    for seed in 1..=4 {
        env.sims.p1.set_faults(
            serde_json::from_value(json!({
                "seed": seed, "server_error_rate": 0.3, "drop_before_rate": 0.1,
                "too_many_requests_rate": 0.1, "burst_length": 2
            }))
            .unwrap(),
        );
        env.reset_stats();
        let r = sync(&config, true).await;
        if let Ok(rep) = &r[0] {
            assert_eq!(rep.ops, 0, "seed {seed}: {rep:?}");
        }
        assert_eq!(env.duo_writes(), 0, "seed {seed}");
        assert_eq!(env.sims.duo.state().users.len(), 450, "seed {seed}");
    }
}
