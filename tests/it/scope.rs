//! Scope filters end to end: an outbound rule scoped by PingOne attributes
//! and an inbound one by Duo's, the pushdown that reads fewer PingOne pages,
//! and a filter edit that would deprovision too many, blocked and explained.

use crate::support::{Env, inbound_rule};
use agent::Outcome;
use serde_json::json;

/// An outbound rule with `scope` lines and deprovisioning by disabling.
fn rule(scope: &str, safety: &str) -> String {
    format!(
        r#"[[rules]]
name = "out"
direction = "outbound"
[rules.scope]
{scope}
[rules.actions]
deprovision = true
remove_action = "disable"
[rules.safety]
{safety}
[rules.mapping]
username = "username"
email = "email"
"#
    )
}

fn duo_names(env: &Env) -> Vec<String> {
    let mut v: Vec<String> = env
        .sims
        .duo
        .state()
        .users
        .into_iter()
        .map(|u| u.username)
        .collect();
    v.sort();
    v
}

/// User list pages read (`GET .../users`), as the simulator counted them.
fn user_pages(env: &Env) -> u64 {
    env.sims
        .p1
        .stats()
        .by_route
        .iter()
        .filter(|(k, _)| k.starts_with("GET ") && k.ends_with("/users"))
        .map(|(_, v)| v)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everyone_in_workforce_in_the_us_plus_contractors_titled_eng() {
    let env = Env::new().await;
    let us = json!({"address": {"countryCode": "US"}});
    env.p1_user("us1", &env.workforce, us.clone());
    env.p1_user(
        "ca1",
        &env.workforce,
        json!({"address": {"countryCode": "CA"}}),
    );
    env.p1_user(
        "eng1",
        &env.contractors,
        json!({"title": "Engineer", "type": "Contractor"}),
    );
    env.p1_user(
        "sales1",
        &env.contractors,
        json!({"title": "Sales", "type": "Contractor"}),
    );
    env.p1_user(
        "eng2",
        &env.contractors,
        json!({"title": "Engineer", "type": "Employee"}),
    );
    let filter = r#"filter = '(population.name eq "Workforce" and address.countryCode eq "US") or (type eq "Contractor" and title sw "Eng")'"#;
    let config = env.config(&rule(filter, ""));
    let r = env.sync(&config).await;
    assert_eq!(r[0].outcome, Outcome::InStep, "{:?}", r[0]);
    assert_eq!(duo_names(&env), ["eng1", "us1"]);

    // explain names the deciding condition both ways.
    let mut out = Vec::new();
    agent::explain(&config, "sales1", false, &mut out)
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(r#"not in scope: scope.filter: neither population.name eq "Workforce" (population.name is "Contractors") nor title sw "Eng" (title is "Sales")"#),
        "{text}"
    );
    let mut out = Vec::new();
    agent::explain(&config, "us1", false, &mut out)
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(r#"in scope: scope.filter: population.name eq "Workforce" (population.name is "Workforce") and address.countryCode eq "US" (address.countryCode is "US")"#),
        "{text}"
    );
}

/// How many changes `plan --json` lists for the only rule.
async fn planned_ops(config: &agent::Config) -> usize {
    let mut out = Vec::new();
    agent::plan(config, None, true, &mut out).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    v["plans"][0]["ops"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_pushed_down_reads_fewer_pingone_pages() {
    let env = Env::new().await;
    for i in 0..450 {
        env.p1_user(&format!("u{i:03}"), &env.workforce, json!({}));
    }
    for i in 0..3 {
        env.p1_user(
            &format!("eng{i}"),
            &env.workforce,
            json!({"title": "Engineer"}),
        );
    }
    let wide = env.config(&rule("", ""));
    env.reset_stats();
    assert_eq!(planned_ops(&wide).await, 453);
    let wide_pages = user_pages(&env);

    let narrow = env.config(&rule(
        r#"filter = 'title sw "Eng" and not (title eq "Engineering Manager")'"#,
        "",
    ));
    env.reset_stats();
    assert_eq!(planned_ops(&narrow).await, 3);
    let narrow_pages = user_pages(&env);
    // 453 users are 3 pages of 200 (more under the sim's `short-pages`
    // variant); the 3 the filter keeps fit in one.
    assert!(
        narrow_pages == 1 && wide_pages >= 3,
        "pages of users read, without and with the filter: {wide_pages}, {narrow_pages}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_edit_that_would_disable_too_many_is_blocked_and_plan_says_why() {
    let env = Env::new().await;
    for i in 0..10 {
        let title = if i < 4 { "Engineer" } else { "Sales" };
        env.p1_user(&format!("u{i}"), &env.workforce, json!({"title": title}));
    }
    let safety = "max_disables = 3";
    let config = env.config(&rule("populations = [\"Workforce\"]", safety));
    let r = env.sync(&config).await;
    assert_eq!(r[0].outcome, Outcome::InStep, "{:?}", r[0]);
    assert_eq!(duo_names(&env).len(), 10);

    let narrowed = env.config(&rule(
        "populations = [\"Workforce\"]\nfilter = 'title eq \"Engineer\"'",
        safety,
    ));
    let mut out = Vec::new();
    let outcome = agent::plan(&narrowed, None, false, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(outcome, Outcome::Blocked, "{text}");
    assert!(text.contains("leaving the scope (why):"), "{text}");
    assert!(
        text.contains(r#"  u9: scope.filter: title eq "Engineer" (title is "Sales")"#),
        "{text}"
    );
    let r = env.sync(&narrowed).await;
    assert_eq!(r[0].outcome, Outcome::Blocked, "{:?}", r[0]);
    let disabled = env
        .sims
        .duo
        .state()
        .users
        .iter()
        .filter(|u| u.status == "disabled")
        .count();
    assert_eq!(disabled, 0, "nothing is disabled while blocked");
    // With consent, the six who left are disabled.
    let r = env.sync_with(&narrowed, true).await;
    assert_eq!(r[0].outcome, Outcome::InStep, "{:?}", r[0]);
    let disabled = env
        .sims
        .duo
        .state()
        .users
        .iter()
        .filter(|u| u.status == "disabled")
        .count();
    assert_eq!(disabled, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbound_filter_on_duo_attributes() {
    let env = Env::new().await;
    let d = &env.sims.duo;
    d.insert_user("c1", &[("email", "c1@contractors.example")])
        .unwrap();
    d.insert_user(
        "c2",
        &[("email", "c2@contractors.example"), ("status", "disabled")],
    )
    .unwrap();
    d.insert_user("e1", &[("email", "e1@example.com")]).unwrap();
    let mut r = inbound_rule("in", "Contractors", "");
    r.push_str(
        "[rules.scope]\nfilter = 'status eq \"active\" and email ew \"@contractors.example\"'\n",
    );
    let config = env.config(&r);
    let rep = env.sync(&config).await;
    assert_eq!(rep[0].outcome, Outcome::InStep, "{:?}", rep[0]);
    assert!(env.p1_state_user("c1").is_some());
    assert!(env.p1_state_user("c2").is_none(), "disabled: out of scope");
    assert!(
        env.p1_state_user("e1").is_none(),
        "another domain: out of scope"
    );
}

/// `sync --user` as text.
async fn sync_user(config: &agent::Config, users: &[&str], json: bool) -> (Outcome, String) {
    let users: Vec<String> = users.iter().map(|s| s.to_string()).collect();
    let mut out = Vec::new();
    let o = agent::sync_users(config, None, &users, false, json, &mut out)
        .await
        .unwrap();
    (o, String::from_utf8(out).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_one_user_shows_each_step_and_touches_no_one_else() {
    let env = Env::new().await;
    env.p1_user("eng1", &env.workforce, json!({"title": "Engineer"}));
    env.p1_user("eng2", &env.workforce, json!({"title": "Engineer"}));
    let sales = env.p1_user("sales1", &env.workforce, json!({"title": "Sales"}));
    let config = env.config(&rule(r#"filter = 'title sw "Eng"'"#, ""));
    let (o, text) = sync_user(&config, &["eng1"], false).await;
    assert_eq!(o, Outcome::InStep, "{text}");
    assert_eq!(
        duo_names(&env),
        ["eng1"],
        "only the named user is provisioned"
    );
    let text = text.replace(&config_source_id(&env, "eng1"), "ID");
    expect_test::expect![[r#"
        user eng1 — rule out (outbound)
          1. read: PingOne user ID
          2. scope: in scope: scope.filter: title sw "Eng" (title is "Engineer")
          3. Duo:
             + create user eng1 (email="eng1@example.com")
          4. calls made: 1
          5. status: Success
    "#]]
    .assert_eq(&text);
    // By id, out of scope: nothing is written, and the condition says why.
    let (o, text) = sync_user(&config, &[&sales], true).await;
    assert_eq!(o, Outcome::InStep, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["users"][0]["in_scope"], false);
    assert_eq!(
        v["users"][0]["scope"],
        r#"scope.filter: title sw "Eng" (title is "Sales")"#
    );
    assert_eq!(v["users"][0]["status"], "Not in scope");
    assert_eq!(duo_names(&env), ["eng1"]);
    // The journal recorded the write: status knows the user.
    let mut out = Vec::new();
    agent::explain(&config, "eng1", false, &mut out)
        .await
        .unwrap();
    let t = String::from_utf8(out).unwrap();
    assert!(t.contains("linked user →"), "{t}");
}

fn config_source_id(env: &Env, username: &str) -> String {
    env.p1_state_user(username).unwrap().id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_one_user_goes_through_the_running_agent() {
    use std::sync::Arc;
    use tokio_util::sync::CancellationToken;
    let env = Env::new().await;
    let (port, agent_cfg) = crate::support::hourly_agent();
    env.p1_user("eng1", &env.workforce, json!({"title": "Engineer"}));
    let config = {
        env.sims
            .write_config(
                env.dir.path(),
                &agent_cfg,
                &rule(r#"filter = 'title sw "Eng"'"#, ""),
            )
            .unwrap();
        agent::Config::load(&env.path).unwrap()
    };
    let stop = CancellationToken::new();
    let running = tokio::spawn(agent::run_with(
        Arc::new(config.clone()),
        None,
        stop.clone(),
        None,
    ));
    let http = reqwest::Client::new();
    for _ in 0..400 {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            && r.status().is_success()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    // Created after the startup cycle: only `sync --user` provisions it now.
    env.p1_user("eng2", &env.workforce, json!({"title": "Engineering"}));
    let (o, text) = sync_user(&config, &["eng2"], false).await;
    assert_eq!(o, Outcome::InStep, "{text}");
    assert!(text.contains("5. status: Success"), "{text}");
    assert_eq!(duo_names(&env), ["eng1", "eng2"]);
    stop.cancel();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(20), running).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_one_duo_user_inbound() {
    let env = Env::new().await;
    let d = &env.sims.duo;
    d.insert_user("c1", &[("email", "c1@contractors.example")])
        .unwrap();
    d.insert_user("c2", &[("email", "c2@contractors.example")])
        .unwrap();
    let mut r = inbound_rule("in", "Contractors", "");
    r.push_str("[rules.scope]\nfilter = 'email ew \"@contractors.example\"'\n");
    let config = env.config(&r);
    let (o, text) = sync_user(&config, &["c1"], false).await;
    assert_eq!(o, Outcome::InStep, "{text}");
    assert!(text.contains(r#"2. scope: in scope: scope.filter: email ew "@contractors.example" (email is "c1@contractors.example")"#), "{text}");
    assert!(env.p1_state_user("c1").is_some());
    assert!(env.p1_state_user("c2").is_none(), "only the named user");
}
