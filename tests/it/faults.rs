//! Faults: both simulators answer 5xx (10%), 429 bursts with and without
//! `Retry-After` (5%), drop connections before and after applying a change
//! (1% each) and add latency, while repeated cycles provision, change and
//! deprovision a directory. The cycles converge to exactly the wanted Duo
//! state with no duplicate of any kind, every link right, retries bounded, and
//! no cycle claims to be in step when Duo is not. Paused tokio time: the
//! clients' back-offs and the simulators' latency cost no wall time.
//! `P1DUO_SOAK=1` scales the directory and the rounds up.

use crate::support::{Env, outbound_rule};
use agent::CycleReport;
use agent::Outcome;
use p1duo_tests::census::{duo_differences, duo_duplicates, want_from_pingone};
use p1duo_tests::fixtures::{Rng, phone_for, soak};
use serde_json::{Value, json};

const ACTIONS: &str = "deprovision = true\nremove_action = \"disable\"";
const GROUPS: [&str; 3] = ["Engineering", "Sales", "Support"];

fn faults(seed: u64) -> Value {
    json!({
        "seed": seed,
        "server_error_rate": 0.10,
        "too_many_requests_rate": 0.05,
        "burst_length": 3,
        "retry_after_rate": 0.5,
        "drop_before_rate": 0.01,
        "drop_after_rate": 0.01,
        "latency_ms": [0, 40],
    })
}

fn set_faults(env: &Env, f: &Value) {
    env.sims
        .duo
        .set_faults(serde_json::from_value(f.clone()).expect("duo faults"));
    env.sims
        .p1
        .set_faults(serde_json::from_value(f.clone()).expect("pingone faults"));
}

fn duo_state(env: &Env) -> Value {
    serde_json::to_value(env.sims.duo.state()).unwrap()
}

/// Users deleted in PingOne stay in Duo, disabled; they are checked apart.
fn differences(env: &Env, gone: &[&str]) -> Vec<String> {
    let p1 = serde_json::to_value(env.sims.p1.state()).unwrap();
    let want = want_from_pingone(&p1, &env.workforce, &GROUPS, &[]);
    duo_differences(&want, &duo_state(env), gone)
}

/// Cycles under faults until one reports in step (at most `max`); checks every
/// report is honest. Returns the number of cycles run.
async fn converge(env: &Env, config: &agent::Config, max: usize, gone: &[&str]) -> usize {
    for n in 1..=max {
        let opts = agent::SyncOptions {
            rule: None,
            allow_deletes: false,
            ..Default::default()
        };
        let reports = agent::sync_reports(config, &opts)
            .await
            .expect("sync starts");
        let mut all_ok = true;
        for r in reports {
            // A rule that could not read its snapshot reports an error: honest, not in step.
            let Ok(r): Result<CycleReport, _> = r else {
                all_ok = false;
                continue;
            };
            assert_ne!(
                r.outcome,
                Outcome::Blocked,
                "faults never look like a mass delete: {r:?}"
            );
            let failed = r.summary.users_failed + r.summary.groups_failed + r.summary.users_partial;
            if r.outcome == Outcome::InStep {
                assert_eq!(failed, 0, "in step but failures counted: {r:?}");
                let diff = differences(env, gone);
                assert!(
                    diff.is_empty(),
                    "cycle {n} claimed in step, Duo differs: {diff:#?}"
                );
            } else {
                all_ok = false;
                assert!(
                    !r.problems.is_empty() || failed > 0,
                    "cycle {n} not in step but names no problem: {r:?}"
                );
            }
        }
        let dups = duo_duplicates(&duo_state(env));
        assert!(dups.is_empty(), "duplicates after cycle {n}: {dups:#?}");
        if all_ok {
            return n;
        }
    }
    panic!(
        "no convergence in {max} cycles: {:#?}",
        differences(env, gone)
    );
}

/// Every Duo call counted by the simulator: answered, and not dropped.
fn duo_calls(env: &Env) -> (u64, u64) {
    let st = env.sims.duo.stats();
    let ok: u64 = st
        .by_status
        .iter()
        .filter(|(k, _)| k.starts_with('2'))
        .map(|(_, v)| *v)
        .sum();
    (st.total, ok)
}

#[tokio::test(start_paused = true)]
async fn repeated_cycles_under_faults_converge_to_exactly_the_wanted_state() {
    let (users, rounds) = if soak() { (400, 8) } else { (40, 2) };
    let env = Env::new().await;
    let mut rng = Rng::new(9);
    let groups: Vec<String> = GROUPS
        .iter()
        .map(|g| env.sims.p1.create_group(json!({ "name": g })).unwrap())
        .collect();
    let mut ids = Vec::new();
    for i in 0..users {
        let id = env.p1_user(
            &format!("user{i:04}"),
            &env.workforce,
            json!({ "primaryPhone": phone_for(i) }),
        );
        env.sims
            .p1
            .add_member(&id, &groups[i % groups.len()])
            .unwrap();
        ids.push(id);
    }
    // One user already in Duo: adopted, never duplicated, even when the
    // lookup or the create is dropped (adoption on the username alone,
    // ignoring case, is the operator's explicit choice here).
    env.sims.duo.insert_user("USER0001", &[]).unwrap();
    let push = format!(
        "[rules.groups]\npush = [{}]\n[rules.safety]\nmax_disables = 1000\nmax_membership_removals = 1000\n[rules.adopt]\nexact_key = false\nconfirm = []",
        GROUPS.map(|g| format!("{g:?}")).join(", ")
    );
    let config = env.config(&outbound_rule("r", ACTIONS, &push));

    let mut seen = std::collections::BTreeMap::<String, u64>::new();
    for round in 0..=rounds {
        if round > 0 {
            change_directory(&env, &ids, &groups, &mut rng, round);
        }
        if round == 1 {
            // A user leaves: the remove action disables them in Duo.
            env.sims.p1.delete_user(&ids[1]).unwrap();
        }
        set_faults(&env, &faults(round as u64 + 1));
        env.reset_stats();
        let gone: &[&str] = if round == 0 { &[] } else { &["user0001"] };
        let cycles = converge(&env, &config, 12, gone).await;
        let (total, ok) = duo_calls(&env);
        for (k, v) in env.sims.duo.stats().by_status {
            *seen.entry(k).or_default() += v;
        }
        // Bounded retries: about 1.3 attempts per answered call at these rates.
        assert!(
            total <= 2 * ok + 20,
            "round {round}: {total} Duo calls for {ok} answered ({cycles} cycles)"
        );
    }

    // The faults did happen (a suite that injects nothing proves nothing).
    let n = |k: &str| seen.get(k).copied().unwrap_or(0);
    assert!(
        n("429") > 0 && n("500") + n("503") > 0,
        "Duo statuses seen: {seen:?}"
    );
    if soak() {
        assert!(n("dropped") > 0, "Duo statuses seen: {seen:?}");
    }

    // Faults off: one more sync has nothing left to do and writes nothing.
    set_faults(&env, &json!({}));
    env.reset_stats();
    let again = env.sync(&config).await;
    let leftover: usize = again.iter().map(|r| r.ops).sum();
    assert_eq!(leftover, 0, "converged state had work left: {again:?}");
    assert_eq!(env.duo_writes(), 0, "{:?}", env.sims.duo.stats().by_route);
    // The deleted user is disabled, not duplicated nor lost.
    let user1: Vec<_> = duo_state(&env)["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| {
            u["username"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case("user0001")
        })
        .cloned()
        .collect();
    assert_eq!(user1.len(), 1, "{user1:?}");
    assert_eq!(user1[0]["status"], "disabled");
    // Links: one per user and group, each pointing at the Duo object of that name.
    let db = state_store::Store::open_read_only(&config.state_path).unwrap();
    let links = db.links_for_rule("r").unwrap();
    let duo = duo_state(&env);
    let p1 = env.sims.p1.state();
    for l in &links {
        if l.kind == state_store::ObjectKind::User {
            let src = p1.users.iter().find(|u| u.id == l.source_id);
            let dst = duo["users"]
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["user_id"] == l.target_id.as_str());
            let dst = dst.unwrap_or_else(|| panic!("link to a missing Duo user: {l:?}"));
            if let Some(src) = src {
                assert!(
                    dst["username"]
                        .as_str()
                        .unwrap()
                        .eq_ignore_ascii_case(&src.username),
                    "link {} -> {} joins different users",
                    src.username,
                    dst["username"]
                );
            }
        }
    }
    let user_links = links
        .iter()
        .filter(|l| l.kind == state_store::ObjectKind::User)
        .count();
    assert_eq!(user_links, users, "one link per user ever provisioned");
}

/// A tenth of the users change: email, enabled, phone, group memberships.
fn change_directory(env: &Env, ids: &[String], groups: &[String], rng: &mut Rng, round: usize) {
    let users = ids.len();
    for _ in 0..(users / 10).max(3) {
        let i = rng.range(2, users as u64) as usize;
        match rng.range(0, 5) {
            0 => {
                let _ = env.sims.p1.update_user(
                    &ids[i],
                    json!({ "email": format!("u{i}.r{round}@example.org") }),
                );
            }
            1 => {
                let _ = env.sims.p1.set_user_enabled(&ids[i], rng.range(0, 2) == 0);
            }
            2 => {
                let _ = env.sims.p1.update_user(
                    &ids[i],
                    json!({ "primaryPhone": phone_for(users + i + round * 1000) }),
                );
            }
            3 => {
                let g = &groups[rng.range(0, 3) as usize];
                let _ = env.sims.p1.add_member(&ids[i], g);
            }
            _ => {
                let g = &groups[i % groups.len()];
                let _ = env.sims.p1.remove_member(&ids[i], g);
            }
        }
    }
}

/// What a client saw for one request: the status (0 for a dropped connection)
/// and, on a 429, whether it carried `Retry-After`.
async fn seen(http: &reqwest::Client, url: &str) -> (u16, bool) {
    match http.get(url).send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            (
                status,
                status == 429 && r.headers().contains_key("retry-after"),
            )
        }
        Err(_) => (0, false),
    }
}

#[tokio::test]
async fn both_simulators_draw_the_same_faults_from_the_same_json_and_seed() {
    // Unauthenticated calls: faults come first in both, then each answers 401.
    let f: duo_sim::Faults = serde_json::from_value(json!({
        "seed": 5, "server_error_rate": 0.15, "too_many_requests_rate": 0.1, "burst_length": 2,
        "retry_after_rate": 0.5, "drop_before_rate": 0.05, "drop_after_rate": 0.05,
        "latency_ms": [0, 2],
    }))
    .unwrap();
    let duo = duo_sim::DuoSim::start(duo_sim::SimConfig {
        faults: f.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    let p1 = pingone_sim::PingOneSim::start(pingone_sim::SimConfig {
        faults: f,
        ..Default::default()
    })
    .await
    .unwrap();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let duo_url = format!("{}/admin/v1/users", duo.base_url());
    let p1_url = format!("{}/environments/{}/users", p1.api_url(), p1.env_id());
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..120 {
        a.push(seen(&http, &duo_url).await);
        b.push(seen(&http, &p1_url).await);
    }
    assert_eq!(a, b, "duo-sim and pingone-sim drew different faults");
    for want in [
        (401, false),
        (500, false),
        (503, false),
        (429, true),
        (429, false),
        (0, false),
    ] {
        assert!(a.contains(&want), "{want:?} never seen: {a:?}");
    }
    duo.shutdown().await;
    p1.shutdown().await;
}
