//! Duo's bulk endpoints end to end: an initial provisioning through `users/bulk_create` and
//! `/admin/v1/bulk` with phones read once, a refusal for size that halves the batch, a Duo
//! without bulk endpoints (single calls, said once), a batch with one bad record (its
//! neighbours created), and batches whose outcome is unknown (resolved per user by name,
//! never duplicated), plus `[duo] bulk = false`.

use crate::support::{Env, outbound_rule};
use agent::Outcome;
use duo_sim::{BulkFault, BulkSettings};
use p1duo_tests::p1duo_bin;
use serde_json::json;

const ACTIONS: &str = "deprovision = true\nremove_action = \"purge\"";
const GROUPS: &str = "\n[rules.groups]\npush = [\"Engineering\"]\n";

fn route(env: &Env, r: &str) -> u64 {
    env.sims.duo.stats().route(r)
}

fn users(env: &Env, n: usize, phones: bool) -> Vec<String> {
    (0..n)
        .map(|i| {
            let extra = if phones {
                json!({ "primaryPhone": format!("+1 734 555 {:04}", 1000 + i) })
            } else {
                json!({})
            };
            env.p1_user(&format!("user{i:03}"), &env.workforce, extra)
        })
        .collect()
}

/// Every one of `n` users exists in Duo exactly once.
fn assert_each_once(env: &Env, n: usize) {
    let st = env.sims.duo.state();
    for i in 0..n {
        let name = format!("user{i:03}");
        let count = st.users.iter().filter(|u| u.username == name).count();
        assert_eq!(count, 1, "{name} in Duo {count} times");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_initial_provisioning_creates_users_in_bulk_and_reads_phones_once() {
    let env = Env::new().await;
    let ids = users(&env, 30, true);
    let eng = env
        .sims
        .p1
        .create_group(json!({ "name": "Engineering" }))
        .unwrap();
    for id in &ids {
        env.sims.p1.add_member(id, &eng).unwrap();
    }
    let config = env.config(&outbound_rule("r", ACTIONS, GROUPS));
    let r = env.sync(&config).await;
    assert_eq!(r[0].outcome, Outcome::InStep, "{:?}", r[0]);
    assert_each_once(&env, 30);
    assert_eq!(env.duo_phones("user007"), ["+17345551007"]);
    assert_eq!(env.sims.duo.state().memberships.len(), 30);
    assert_eq!(route(&env, "POST /admin/v1/users"), 0, "no single create");
    let bulk = route(&env, "POST /admin/v1/users/bulk_create");
    // Batches form as the ops arrive (each journaled first), so their sizes depend on the
    // machine's speed: fewer calls than users, and never a single create.
    assert!((1..30).contains(&bulk), "30 users in {bulk} bulk calls");
    // One read of Duo's phones instead of one lookup per number.
    assert_eq!(route(&env, "GET /admin/v1/phones"), 1);
    let ops = route(&env, "POST /admin/v1/bulk");
    assert!(
        (1..=12).contains(&ops),
        "30 memberships in {ops} bulk calls"
    );

    // Changes and deletes go through /admin/v1/bulk.
    let p1 = env.sims.p1.state();
    let ids: Vec<String> = p1
        .users
        .iter()
        .filter(|u| u.username.starts_with("user00"))
        .map(|u| u.id.clone())
        .collect();
    for id in &ids[..3] {
        env.sims
            .p1
            .update_user(id, json!({ "email": "changed@example.com" }))
            .unwrap();
    }
    env.sims.p1.delete_user(&ids[3]).unwrap();
    env.reset_stats();
    let r = env.sync_with(&config, true).await;
    assert_eq!(r[0].outcome, Outcome::InStep, "{:?}", r[0]);
    assert_eq!(
        env.sims
            .duo
            .state()
            .users
            .iter()
            .filter(|u| u.email == "changed@example.com")
            .count(),
        3
    );
    assert_eq!(env.sims.duo.state().users.len(), 29);
    // Phones have no bulk operation: the purged user's phone goes on its own.
    assert_eq!(
        env.duo_writes(),
        route(&env, "POST /admin/v1/bulk") + route(&env, "DELETE /admin/v1/phones/{phone_id}"),
        "every user write in bulk: {:?}",
        env.sims.duo.stats().by_route
    );
    assert!(route(&env, "POST /admin/v1/bulk") <= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_for_size_halves_the_batch_and_every_user_is_created() {
    let env = Env::new_with(|c| {
        c.bulk = BulkSettings {
            max_users: 7,
            ..BulkSettings::default()
        };
    })
    .await;
    users(&env, 40, false);
    let config = env.config(&outbound_rule("r", ACTIONS, ""));
    let r = env.sync(&config).await;
    assert_eq!(r[0].outcome, Outcome::InStep, "{:?}", r[0]);
    assert_each_once(&env, 40);
    let stats = env.sims.duo.stats();
    let refused = stats
        .by_route
        .get("POST /admin/v1/users/bulk_create")
        .copied()
        .unwrap_or(0);
    assert_eq!(route(&env, "POST /admin/v1/users"), 0, "no single create");
    // 40 users at most 7 a call: at least 6 calls that passed, plus the refusals that halved;
    // fewer than one a user (batch sizes depend on the machine's speed).
    assert!((7..40).contains(&refused), "{:?}", stats.by_route);
    assert!(
        stats.by_status.get("400").copied().unwrap_or(0) >= 1,
        "refused at least once: {:?}",
        stats.by_status
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_bulk_endpoints_single_calls_do_it_and_the_log_says_so_once() {
    let env = Env::new_with(|c| c.bulk.enabled = false).await;
    users(&env, 12, false);
    env.config(&outbound_rule("r", ACTIONS, GROUPS));
    let group = env
        .sims
        .p1
        .create_group(json!({ "name": "Engineering" }))
        .unwrap();
    for u in env.sims.p1.state().users {
        env.sims.p1.add_member(&u.id, &group).unwrap();
    }
    let out = tokio::process::Command::new(p1duo_bin())
        .args(["sync", "--config", env.path.to_str().unwrap()])
        .env_remove("RUST_LOG")
        .env_remove("P1DUO_CONFIG")
        .output()
        .await
        .expect("p1duo runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_each_once(&env, 12);
    let st = env.sims.duo.state();
    assert_eq!(st.memberships.len(), 12, "every member added");
    let said = text.matches("does not know its bulk endpoints").count();
    assert_eq!(
        said,
        1,
        "said once: {text} {:?}",
        env.sims.duo.stats().by_route
    );
    assert!(!text.contains(agent::DEMO_SKEY), "no secret in the log");
    assert_eq!(route(&env, "POST /admin/v1/users"), 12);
    assert!(
        route(&env, "POST /admin/v1/users/bulk_create") + route(&env, "POST /admin/v1/bulk") <= 2,
        "one try of each, then singles: {:?}",
        env.sims.duo.stats().by_route
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_record_fails_alone_and_its_neighbours_are_created() {
    let env = Env::new().await;
    // A Duo user whose alias is a PingOne username: creating that one is a duplicate.
    env.sims
        .duo
        .insert_user("someone", &[("alias1", "user004")])
        .unwrap();
    users(&env, 10, false);
    let config = env.config(&outbound_rule("r", ACTIONS, ""));
    let r = env.sync(&config).await;
    assert_eq!(r[0].summary.users_failed, 1, "{:?}", r[0]);
    let st = env.sims.duo.state();
    for i in (0..10).filter(|i| *i != 4) {
        let name = format!("user{i:03}");
        assert!(st.users.iter().any(|u| u.username == name), "{name}");
    }
    assert!(st.users.iter().all(|u| u.username != "user004"));
    let failed = format!("{:?}", r[0].problems);
    assert!(failed.contains("user004"), "{failed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_create_with_an_unknown_outcome_is_resolved_per_user_without_duplicates() {
    let env = Env::new().await;
    users(&env, 20, false);
    let config = env.config(&outbound_rule("r", ACTIONS, ""));
    // Applied, then the answer lost; then lost before it was applied.
    env.sims
        .duo
        .fail_next_bulk(&[BulkFault::DropAfter, BulkFault::DropBefore]);
    let first = env.sync(&config).await;
    assert_ne!(first[0].outcome, Outcome::Blocked);
    for _ in 0..3 {
        let r = env.sync(&config).await;
        if r[0].outcome == Outcome::InStep {
            break;
        }
    }
    assert_each_once(&env, 20);
    let again = env.sync(&config).await;
    assert_eq!(again[0].outcome, Outcome::InStep, "{:?}", again[0]);
    assert_eq!(again[0].ops, 0, "{:?}", again[0]);
    // 500 after applying: the same.
    users_more(&env, 20..30);
    env.sims.duo.fail_next_bulk(&[BulkFault::ServerErrorAfter]);
    for _ in 0..3 {
        if env.sync(&config).await[0].outcome == Outcome::InStep {
            break;
        }
    }
    assert_each_once(&env, 30);
}

fn users_more(env: &Env, range: std::ops::Range<usize>) {
    for i in range {
        env.p1_user(&format!("user{i:03}"), &env.workforce, json!({}));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_false_in_the_config_sends_single_calls_only() {
    let env = Env::new().await;
    users(&env, 5, false);
    let config = env.config(&outbound_rule("r", ACTIONS, ""));
    let text = std::fs::read_to_string(&env.path).unwrap();
    let text = text.replacen("[duo]\n", "[duo]\nbulk = false\n", 1);
    assert!(text.contains("bulk = false"), "{text}");
    std::fs::write(&env.path, text).unwrap();
    let config2 = agent::Config::load(&env.path).expect("valid");
    drop(config);
    let r = env.sync(&config2).await;
    assert_eq!(r[0].outcome, Outcome::InStep, "{:?}", r[0]);
    assert_each_once(&env, 5);
    assert_eq!(route(&env, "POST /admin/v1/users"), 5);
    assert_eq!(route(&env, "POST /admin/v1/users/bulk_create"), 0);
}
