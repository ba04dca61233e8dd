//! `p1duo run` in-process: the status server's endpoints, readiness after the
//! first cycle, a PingOne change notification triggering a fast cycle long
//! before the interval, and a graceful stop.

use crate::support::{Env, outbound_rule};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Poll `f` until it holds; the bound only stops a broken test from hanging.
async fn eventually<F: FnMut() -> bool>(what: &str, mut f: F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Starts `run` in-process with notifications on and `rule`; returns the
/// status server's base URL once `/readyz` answers 200.
async fn start_agent(
    env: &Env,
    rule: &str,
) -> (
    String,
    CancellationToken,
    tokio::task::JoinHandle<Result<agent::Outcome, agent::AgentError>>,
) {
    start_agent_on(env, rule, free_port()).await
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// [`start_agent`] on a given port.
async fn start_agent_on(
    env: &Env,
    rule: &str,
    port: u16,
) -> (
    String,
    CancellationToken,
    tokio::task::JoinHandle<Result<agent::Outcome, agent::AgentError>>,
) {
    let agent_cfg = format!(
        "listen = \"127.0.0.1:{port}\"\ninterval = \"1h\"\njitter = \"0s\"\n[agent.notifications]\npublic_url = \"http://127.0.0.1:{port}/pingone/events\"\ndebounce = \"100ms\""
    );
    env.sims
        .write_config(env.dir.path(), &agent_cfg, rule)
        .unwrap();
    let config = Arc::new(agent::Config::load(&env.path).unwrap());
    let stop = CancellationToken::new();
    let agent = tokio::spawn(agent::run_with(config, None, stop.clone(), None));
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    eventually_async("/readyz to answer 200", || {
        let url = format!("{base}/readyz");
        let http = http.clone();
        async move { http.get(url).send().await.is_ok_and(|r| r.status() == 200) }
    })
    .await;
    (base, stop, agent)
}

/// Stops an agent from [`start_agent`] and waits (bounded) for its outcome.
async fn stop_agent(
    stop: CancellationToken,
    agent: tokio::task::JoinHandle<Result<agent::Outcome, agent::AgentError>>,
) -> agent::Outcome {
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(20), agent)
        .await
        .expect("stops")
        .unwrap()
        .unwrap()
}

/// [`eventually`] for an async condition.
async fn eventually_async<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !f().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_after_a_crash_updates_its_own_subscription_and_removes_stale_ones() {
    let env = Env::new().await;
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/pingone/events");
    // Left by an earlier crash of this agent (same name and URL), and someone else's.
    let stale = json!({"name": "p1duo change notifications", "enabled": true, "format": "ACTIVITY",
        "verifyTlsCertificates": true, "httpEndpoint": {"url": url, "headers": {}},
        "filterOptions": {"includedActionTypes": ["USER.CREATED"]}});
    env.sims.p1.create_subscription(stale.clone()).unwrap();
    let mut other = stale;
    other["name"] = json!("someone else's");
    env.sims.p1.create_subscription(other).unwrap();
    // The binary, killed (SIGKILL) once subscribed: a crash, no clean stop.
    let agent_cfg = format!(
        "listen = \"127.0.0.1:{port}\"\ninterval = \"1h\"\njitter = \"0s\"\n[agent.notifications]\npublic_url = \"{url}\"\ndebounce = \"100ms\""
    );
    env.sims
        .write_config(env.dir.path(), &agent_cfg, &outbound_rule("r", "", ""))
        .unwrap();
    let mut child = tokio::process::Command::new(p1duo_tests::p1duo_bin())
        .args(["run", "--config", env.path.to_str().unwrap()])
        .env_remove("P1DUO_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let ours = |env: &Env| -> Vec<String> {
        env.sims
            .p1
            .subscriptions()
            .iter()
            .filter(|s| s["name"] == "p1duo change notifications")
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };
    eventually("the stale subscription replaced by the agent's", || {
        let o = ours(&env);
        o.len() == 1
            && env.sims.p1.subscriptions().iter().any(|s| {
                s["httpEndpoint"]["headers"]["Authorization"]
                    .as_str()
                    .is_some()
            })
    })
    .await;
    let first = ours(&env);
    child.kill().await.unwrap();
    let (_base, stop, agent) = start_agent_on(&env, &outbound_rule("r", "", ""), free_port()).await;
    assert_eq!(ours(&env), first, "the same subscription, updated in place");
    assert_eq!(
        env.sims.p1.subscriptions().len(),
        2,
        "someone else's is kept"
    );
    stop_agent(stop, agent).await;
    assert!(ours(&env).is_empty(), "removed on a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_carry_the_agents_secret_and_others_are_refused() {
    let env = Env::new().await;
    env.p1_user("alice", &env.workforce, json!({}));
    let (base, stop, agent) = start_agent(&env, &outbound_rule("r", "", "")).await;
    let subs = env.sims.p1.subscriptions();
    assert_eq!(subs[0]["verifyTlsCertificates"], true, "{subs:?}");
    let auth = subs[0]["httpEndpoint"]["headers"]["Authorization"]
        .as_str()
        .expect("the agent registers a secret header")
        .to_owned();
    assert!(auth.starts_with("Bearer ") && auth.len() > 40);
    let http = reqwest::Client::new();
    let forged =
        json!([{"action": {"type": "USER.UPDATED"}, "resources": [{"type": "USER", "id": "x"}]}]);
    let url = format!("{base}/pingone/events");
    let r = http.post(&url).json(&forged).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .post(&url)
        .header("Authorization", "Bearer not-the-secret")
        .json(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // PingOne's deliveries (with the header) get through, and are counted by type.
    env.p1_user("bob", &env.workforce, json!({}));
    eventually("bob in Duo after the change notification", || {
        env.duo_user("bob").is_some()
    })
    .await;
    let m = crate::support::get_text(&http, &base, "/metrics").await;
    assert!(
        m.contains(r#"p1duo_notifications_total{type="USER.CREATED"}"#),
        "{m}"
    );
    assert!(!m.contains(auth.trim_start_matches("Bearer ")));
    stop_agent(stop, agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_nesting_events_in_pingone_the_agent_subscribes_to_the_rest() {
    let env = Env::new().await;
    env.p1_user("alice", &env.workforce, json!({}));
    let confirmed = [
        "USER.CREATED",
        "USER.UPDATED",
        "USER.DELETED",
        "GROUP.CREATED",
        "GROUP.UPDATED",
        "GROUP.DELETED",
        "GROUP_MEMBERSHIP.CREATED",
        "GROUP_MEMBERSHIP.DELETED",
    ];
    env.sims.p1.set_known_action_types(&confirmed);
    let (_base, stop, agent) = start_agent(&env, &outbound_rule("r", "", "")).await;
    let subs = env.sims.p1.subscriptions();
    assert_eq!(subs.len(), 1, "{subs:?}");
    let types = &subs[0]["filterOptions"]["includedActionTypes"];
    assert_eq!(types, &json!(confirmed), "{subs:?}");
    // Notifications still work for what was subscribed.
    env.p1_user("bob", &env.workforce, json!({}));
    eventually("bob in Duo after the change notification", || {
        env.duo_user("bob").is_some()
    })
    .await;
    stop_agent(stop, agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_health_metrics_status_and_syncs_fast_on_a_change_notification() {
    let env = Env::new().await;
    env.p1_user("alice", &env.workforce, json!({}));
    let eng = env
        .sims
        .p1
        .create_group(json!({ "name": "Engineering" }))
        .unwrap();
    let rule = format!(
        "{}\n[rules.groups]\npush = [\"Engineering\"]\n",
        outbound_rule("r", "", "")
    );
    let (base, stop, agent) = start_agent(&env, &rule).await;
    let http = reqwest::Client::new();
    let get = |path: &str| {
        let (http, url) = (http.clone(), format!("{base}{path}"));
        async move { http.get(url).send().await.ok() }
    };
    assert!(env.duo_user("alice").is_some(), "the startup cycle ran");
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(metrics.contains("p1duo_operations_total{rule=\"r\",kind=\"user\",action=\"create\",result=\"success\"} 1"), "{metrics}");
    let duo_calls = metrics
        .lines()
        .find_map(|l| l.strip_prefix("p1duo_api_calls_total{side=\"duo\"} "))
        .expect("duo calls");
    assert!(duo_calls.trim().parse::<u64>().unwrap() > 0, "{metrics}");
    assert!(
        metrics.contains("p1duo_last_successful_cycle_timestamp_seconds{rule=\"r\"}"),
        "{metrics}"
    );
    let page = get("/status").await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"id="rule-r""#), "{page}");

    // A user created in PingOne arrives in Duo through the notification, not the 1 h interval,
    // by the fast path: that user is read, not the whole directory.
    env.reset_stats();
    let bob = env.p1_user("bob", &env.workforce, json!({}));
    eventually("bob in Duo after the change notification", || {
        env.duo_user("bob").is_some()
    })
    .await;
    let p1_stats = env.sims.p1.stats().by_route;
    let listed: u64 = p1_stats
        .iter()
        .filter(|(k, _)| k.starts_with("GET ") && k.ends_with("/users"))
        .map(|(_, v)| v)
        .sum();
    let got: u64 = p1_stats
        .iter()
        .filter(|(k, _)| k.starts_with("GET ") && k.contains("/users/{"))
        .map(|(_, v)| v)
        .sum();
    // One listing: the pushed group's members among the changed usernames.
    assert_eq!(
        (listed, got),
        (1, 1),
        "the fast path reads only the changed user: {p1_stats:?}"
    );
    env.sims
        .p1
        .update_user(&bob, json!({ "email": "bob@changed.example.com" }))
        .unwrap();
    eventually("bob's new email in Duo", || {
        env.duo_user("bob")
            .is_some_and(|u| u.email == "bob@changed.example.com")
    })
    .await;
    // The fast cycles are recorded, and counted, as the notification's, not the schedule's.
    let db = state_store::Store::open_read_only(env.dir.path().join("p1duo.db")).unwrap();
    let runs = db.recent_runs(Some("r"), 100).unwrap();
    let triggers: Vec<_> = runs.iter().rev().map(|r| r.trigger.as_str()).collect();
    assert_eq!(triggers.first(), Some(&"startup"), "{triggers:?}");
    assert!(
        triggers[1..].iter().all(|t| *t == "notification") && triggers.len() >= 3,
        "{triggers:?}"
    );
    drop(db);
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("p1duo_cycle_duration_seconds_count{rule=\"r\",trigger=\"notification\"}"),
        "{metrics}"
    );
    assert!(!metrics.contains("trigger=\"schedule\""), "{metrics}");
    // A membership change in PingOne reaches the pushed Duo group the same way.
    env.sims.p1.add_member(&bob, &eng).unwrap();
    let in_group = |user: &str, group: &str| {
        let st = env.sims.duo.state();
        let g = st.groups.iter().find(|g| g.name == group);
        g.is_some_and(|g| {
            st.users
                .iter()
                .any(|u| u.username == user && u.groups.contains(&g.group_id))
        })
    };
    eventually("bob in Duo group Engineering", || {
        in_group("bob", "Engineering")
    })
    .await;

    // A pushed group renamed in PingOne (the config still says "Engineering")
    // is renamed in Duo by the fast path, which reads no user at all.
    env.reset_stats();
    env.sims
        .p1
        .update_group(&eng, json!({ "name": "Platform" }))
        .unwrap();
    eventually("the Duo group renamed to Platform", || {
        let st = env.sims.duo.state();
        st.groups.iter().any(|g| g.name == "Platform")
            && !st.groups.iter().any(|g| g.name == "Engineering")
    })
    .await;
    let users_read: u64 = env
        .sims
        .p1
        .stats()
        .by_route
        .iter()
        .filter(|(k, _)| k.starts_with("GET ") && k.contains("/users"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(users_read, 0, "a rename reads no users");
    assert!(in_group("bob", "Platform"), "memberships kept");

    // A group nested into a pushed one: its members follow into the Duo group.
    let carol = env.p1_user("carol", &env.workforce, json!({}));
    eventually("carol in Duo", || env.duo_user("carol").is_some()).await;
    let contractors = env
        .sims
        .p1
        .create_group(json!({ "name": "Contractors" }))
        .unwrap();
    env.sims.p1.add_member(&carol, &contractors).unwrap();
    env.sims.p1.nest_group(&contractors, &eng).unwrap();
    eventually("carol in Duo group Platform through the nesting", || {
        in_group("carol", "Platform")
    })
    .await;
    env.sims.p1.unnest_group(&contractors, &eng).unwrap();
    // Where PingOne refuses the GROUP_NESTING.* types (a simulator variant),
    // an un-nesting is not notified and waits for the full cycle.
    let nesting_notified = env.sims.p1.subscriptions().iter().any(|s| {
        s["filterOptions"]["includedActionTypes"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "GROUP_NESTING.DELETED"))
    });
    if nesting_notified {
        eventually(
            "carol out of Duo group Platform after the un-nesting",
            || !in_group("carol", "Platform"),
        )
        .await;
    }
    assert!(in_group("bob", "Platform"), "direct members stay");

    assert_eq!(stop_agent(stop, agent).await, agent::Outcome::InStep);
}

/// `p1duo run` as a child process: SIGHUP reloads the config (a new rule
/// appears), and SIGTERM stops it cleanly with exit code 0.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_reloads_on_sighup_and_stops_on_sigterm() {
    let env = Env::new().await;
    env.p1_user("alice", &env.workforce, json!({}));
    let (port, agent_cfg) = crate::support::hourly_agent();
    let first = outbound_rule("first", "", "");
    env.sims
        .write_config(env.dir.path(), &agent_cfg, &first)
        .unwrap();
    // As systemd would for a Type=notify unit.
    let notify_path = env.dir.path().join("notify.sock");
    let notify = std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut child = tokio::process::Command::new(p1duo_tests::p1duo_bin())
        .args(["run", "--config", env.path.to_str().unwrap()])
        .env("NOTIFY_SOCKET", &notify_path)
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let pid = child.id().unwrap().to_string();
    let status_page = || {
        let url = format!("http://127.0.0.1:{port}/status");
        async move { reqwest::get(url).await.ok()?.text().await.ok() }
    };
    let mut page = String::new();
    for _ in 0..800 {
        if let Some(p) = status_page().await
            && p.contains(r#"id="rule-first""#)
        {
            page = p;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        page.contains(r#"id="rule-first""#),
        "the agent never served its status page"
    );
    let mut buf = [0u8; 512];
    let n = notify
        .recv(&mut buf)
        .expect("the agent told systemd it is ready");
    let said = String::from_utf8_lossy(&buf[..n]);
    assert!(said.starts_with("READY=1"), "{said}");
    let kill = |sig: &'static str, pid: String| async move {
        let ok = tokio::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .await
            .unwrap();
        assert!(ok.success());
    };
    // A file with a second rule is taken without a restart.
    env.sims
        .write_config(
            env.dir.path(),
            &agent_cfg,
            &format!("{first}\n{}", outbound_rule("second", "", "")),
        )
        .unwrap();
    kill("-HUP", pid.clone()).await;
    let mut reloaded = false;
    for _ in 0..800 {
        if status_page()
            .await
            .is_some_and(|p| p.contains(r#"id="rule-second""#))
        {
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(reloaded, "the second rule never appeared after SIGHUP");
    kill("-TERM", pid).await;
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("stops on SIGTERM")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    // At the default log level, one startup line says where to look.
    let mut err = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut { stderr }, &mut err)
        .await
        .unwrap();
    assert!(
        err.contains(&format!("status at http://127.0.0.1:{port}/status")),
        "{err}"
    );
}

/// With a percentage limit set, a fast cycle takes it of everything the rule
/// manages, not of the one user it planned: deleting 1 user of 20 in PingOne
/// (5 %, under a 10 % limit) deprovisions it through the notification.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_cycle_takes_percentage_limits_of_the_whole_rule() {
    let env = Env::new().await;
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(env.p1_user(&format!("user{i:02}"), &env.workforce, json!({})));
    }
    let rule = format!(
        "{}\n[rules.safety]\nmax_delete_percent = 10\n",
        outbound_rule("r", "deprovision = true\nremove_action = \"purge\"", "")
    );
    let (_base, stop, agent) = start_agent(&env, &rule).await;
    assert!(env.duo_user("user07").is_some(), "the startup cycle ran");
    env.sims.p1.delete_user(&ids[7]).unwrap();
    eventually("user07 deleted from Duo by the fast cycle", || {
        env.duo_user("user07").is_none()
    })
    .await;
    assert_eq!(
        env.sims.duo.state().users.len(),
        19,
        "only the deleted user went"
    );
    stop_agent(stop, agent).await;
}

/// Duo group `name`'s members' usernames, sorted.
fn duo_group_members(env: &Env, name: &str) -> Vec<String> {
    let st = env.sims.duo.state();
    let Some(g) = st.groups.iter().find(|g| g.name == name) else {
        return Vec::new();
    };
    let mut names: Vec<String> = st
        .users
        .iter()
        .filter(|u| u.groups.contains(&g.group_id))
        .map(|u| u.username.clone())
        .collect();
    names.sort();
    names
}

/// Fast and full cycles read memberships from one source: a user in a scope
/// group through a nested group, and in a pushed group through its
/// `userFilter`, stays provisioned and in the Duo group when a notification
/// about it runs a fast cycle, whether PingOne's `memberOfGroupIDs` lists
/// nested and dynamic groups or not (undocumented: both variants run); a
/// full cycle afterwards finds nothing to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_and_full_cycles_agree_on_nested_and_dynamic_memberships() {
    for variant in ["", "member-of-ids-direct"] {
        let env = Env::new_in(variant, |_| {}).await;
        let p1 = &env.sims.p1;
        let staff = p1.create_group(json!({"name": "Staff"})).unwrap();
        let eng = p1.create_group(json!({"name": "Engineering"})).unwrap();
        p1.nest_group(&eng, &staff).unwrap();
        p1.create_group(json!({"name": "Sales", "userFilter": "title sw \"Sales\""}))
            .unwrap();
        let dana = env.p1_user("dana", &env.workforce, json!({"title": "Sales lead"}));
        p1.add_member(&dana, &eng).unwrap();
        let rule =
            outbound_rule("r", "deprovision = true\nremove_action = \"disable\"", "").replace(
                "populations = [\"Workforce\"]",
                "populations = [\"Workforce\"]\ngroups = [\"Staff\"]",
            ) + "[rules.groups]\npush = [\"Sales\"]\n";
        let (_base, stop, agent) = start_agent(&env, &rule).await;
        assert_eq!(duo_group_members(&env, "Sales"), vec!["dana"], "{variant}");
        env.reset_stats();

        p1.update_user(&dana, json!({"name": {"given": "Dana", "family": "X"}}))
            .unwrap();
        let what = format!("{variant:?}: the fast cycle to update dana's realname");
        eventually(&what, || {
            env.duo_user("dana").is_some_and(|u| u.realname == "Dana")
        })
        .await;
        let u = env.duo_user("dana").unwrap();
        assert_eq!(u.status, "active", "{variant}: dana stays in scope");
        assert_eq!(duo_group_members(&env, "Sales"), vec!["dana"], "{variant}");
        assert_eq!(env.duo_writes(), 1, "{variant}: only the realname changed");
        stop_agent(stop, agent).await;

        env.reset_stats();
        let config = agent::Config::load(&env.path).unwrap();
        env.sync(&config).await;
        assert_eq!(env.duo_writes(), 0, "{variant}: the full cycle agrees");
    }
}

/// A `GROUP.UPDATED` of a pushed group re-lists its members: a dynamic
/// group's new `userFilter` moves the Duo group's members in the fast cycle,
/// the one who joined and the one who left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_dynamic_groups_new_filter_moves_its_duo_members_in_a_fast_cycle() {
    let env = Env::new().await;
    let p1 = &env.sims.p1;
    let sales = p1
        .create_group(json!({"name": "Sales", "userFilter": "username eq \"ann\""}))
        .unwrap();
    env.p1_user("ann", &env.workforce, json!({}));
    env.p1_user("bob", &env.workforce, json!({}));
    let rule = outbound_rule("r", "", "") + "[rules.groups]\npush = [\"Sales\"]\n";
    let (_base, stop, agent) = start_agent(&env, &rule).await;
    assert_eq!(duo_group_members(&env, "Sales"), vec!["ann"]);

    p1.update_group(
        &sales,
        json!({"name": "Sales", "userFilter": "username eq \"bob\""}),
    )
    .unwrap();
    eventually("bob to replace ann in Duo group Sales", || {
        duo_group_members(&env, "Sales") == vec!["bob"]
    })
    .await;
    stop_agent(stop, agent).await;
}

/// A dynamic scope group's new `userFilter` changes who is in scope: the
/// notification runs a full cycle (only that knows who left), so the one who
/// now matches is provisioned and the one who no longer does is disabled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dynamic_scope_groups_new_filter_moves_users_in_and_out_of_scope() {
    let env = Env::new().await;
    let p1 = &env.sims.p1;
    let dynamic = p1
        .create_group(json!({"name": "Dyn", "userFilter": "username eq \"ann\""}))
        .unwrap();
    env.p1_user("ann", &env.workforce, json!({}));
    env.p1_user("bob", &env.workforce, json!({}));
    let rule = outbound_rule("r", "deprovision = true\nremove_action = \"disable\"", "").replace(
        "populations = [\"Workforce\"]",
        "populations = [\"Workforce\"]\ngroups = [\"Dyn\"]",
    );
    let (_base, stop, agent) = start_agent(&env, &rule).await;
    assert!(env.duo_user("ann").is_some() && env.duo_user("bob").is_none());
    p1.update_group(
        &dynamic,
        json!({"name": "Dyn", "userFilter": "username eq \"bob\""}),
    )
    .unwrap();
    eventually("bob provisioned and ann disabled", || {
        env.duo_user("bob").is_some() && env.duo_user("ann").is_some_and(|u| u.status == "disabled")
    })
    .await;
    stop_agent(stop, agent).await;
}
