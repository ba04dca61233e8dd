//! An operator watching a long cycle sees it move: `/metrics` (classic text
//! or OpenMetrics by `Accept`) and `/status` show progress, pacing waits and
//! 429s while the writes go on, not only once the cycle has ended.

use crate::support::{Env, get_text, hourly_agent, outbound_rule};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The value of the sample `series` (name and labels) in a text exposition.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.split(' ').next()?.parse().ok())
}

/// Sum of every sample of `name` whose labels contain all of `having`.
fn total(text: &str, name: &str, having: &[&str]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter(|l| having.iter().all(|h| l.contains(h)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// An agent against the simulators, its first cycle creating `users` Duo
/// users under a client-side pace of 20 writes a second, Duo answering some
/// requests 429 with `Retry-After: 1`.
pub async fn slow_agent(
    users: usize,
    rules: &str,
) -> (Env, String, CancellationToken, tokio::task::JoinHandle<()>) {
    let env = Env::new().await;
    for i in 0..users {
        env.p1_user(&format!("user{i:03}"), &env.workforce, json!({}));
    }
    env.sims.duo.set_faults(duo_sim::Faults {
        seed: 7,
        too_many_requests_rate: 0.08,
        burst_length: 1,
        retry_after_rate: 1.0,
        ..Default::default()
    });
    let (port, agent_cfg) = hourly_agent();
    env.sims
        .write_config(env.dir.path(), &agent_cfg, rules)
        .unwrap();
    // The simulators' config turns pacing off; this agent paces Duo writes.
    let text = std::fs::read_to_string(&env.path).unwrap();
    let (p1, duo) = text.split_once("[duo]").unwrap();
    let duo = duo.replacen(
        "rate_limit = \"off\"",
        // Single writes: bulk would create all of them in one call.
        "rate_limit = { writes_per_minute = 1200 }\nbulk = false",
        1,
    );
    std::fs::write(&env.path, format!("{p1}[duo]{duo}")).unwrap();
    let config = Arc::new(agent::Config::load(&env.path).unwrap());
    let stop = CancellationToken::new();
    let s = stop.clone();
    let task = tokio::spawn(async move {
        agent::run_with(config, None, s, None).await.unwrap();
    });
    (env, format!("http://127.0.0.1:{port}"), stop, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_the_page_move_during_a_cycle_not_only_at_its_end() {
    let users = 80;
    let (env, base, stop, task) = slow_agent(users, &outbound_rule("r", "", "")).await;
    let http = reqwest::Client::new();
    let mut mid: Option<(String, String)> = None;
    let mut last = String::new();
    // Scrape until a scrape lands while the writes go on (the pace keeps
    // them going for seconds), or the cycle is over.
    for _ in 0..2_000 {
        if let Ok(r) = http.get(format!("{base}/metrics")).send().await {
            last = r.text().await.unwrap_or_default();
        }
        let done = sample(&last, r#"p1duo_cycle_writes_done{rule="r"}"#).unwrap_or(0.0);
        let running = sample(&last, r#"p1duo_cycle_running{rule="r"}"#) == Some(1.0);
        if running && done >= 20.0 && done < users as f64 {
            let page = get_text(&http, &base, "/status").await;
            mid = Some((last.clone(), page));
            break;
        }
        if !running && done >= users as f64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (m, page) = mid.unwrap_or_else(|| panic!("no scrape landed mid-cycle; last: {last}"));
    let planned = sample(&m, r#"p1duo_cycle_writes_planned{rule="r"}"#);
    assert_eq!(planned, Some(users as f64), "{m}");
    let ops = total(
        &m,
        "p1duo_operations_total",
        &[r#"rule="r""#, r#"result="success""#],
    );
    assert!(
        ops >= 20.0 && ops < users as f64,
        "operations count as they settle: {m}"
    );
    assert!(
        total(&m, "p1duo_api_paced_total", &[r#"side="duo""#]) > 0.0
            && total(
                &m,
                "p1duo_api_pacing_wait_seconds_total",
                &[r#"side="duo""#]
            ) > 0.0,
        "pacing waits are counted while they happen: {m}"
    );
    assert!(
        total(&m, "p1duo_api_calls_total", &[r#"side="duo""#]) > 20.0,
        "{m}"
    );
    assert!(
        total(&m, "p1duo_api_calls_total", &[r#"side="pingone""#]) > 0.0,
        "{m}"
    );
    assert!(
        page.contains("Running now (startup)") && page.contains(&format!("of {users} writes")),
        "{page}"
    );
    assert!(page.contains("refreshes every 5 s"), "{page}");

    // The end: everything settled, nothing in flight, the 429s counted.
    let mut end = String::new();
    for _ in 0..2_000 {
        end = get_text(&http, &base, "/metrics").await;
        if sample(&end, r#"p1duo_cycle_running{rule="r"}"#) == Some(0.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        sample(&end, r#"p1duo_cycle_writes_done{rule="r"}"#),
        Some(users as f64),
        "{end}"
    );
    assert_eq!(
        sample(&end, r#"p1duo_cycle_writes_in_flight{rule="r"}"#),
        Some(0.0),
        "{end}"
    );
    assert_eq!(
        total(
            &end,
            "p1duo_operations_total",
            &[r#"rule="r""#, r#"action="create""#, r#"result="success""#]
        ),
        users as f64,
        "{end}"
    );
    let sim_429 = env.sims.duo.stats().status("429");
    assert!(sim_429 > 0, "the fault stream answered some 429s");
    assert_eq!(
        total(&end, "p1duo_api_throttled_total", &[r#"side="duo""#]),
        sim_429 as f64,
        "every 429 Duo sent is counted: {end}"
    );
    assert!(
        total(
            &end,
            "p1duo_api_throttled_wait_seconds_total",
            &[r#"side="duo""#]
        ) >= sim_429 as f64,
        "{end}"
    );
    assert!(
        sample(&end, r#"p1duo_next_cycle_timestamp_seconds{rule="r"}"#).unwrap_or(0.0) > 0.0,
        "{end}"
    );

    // Classic text by default (curl, older scrapers); OpenMetrics when asked.
    let r = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let r = http
        .get(format!("{base}/metrics"))
        .header(
            "Accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(r.text().await.unwrap().ends_with("# EOF\n"));
    let page = get_text(&http, &base, "/status").await;
    assert!(page.contains("<h1>Every rule is in step</h1>"), "{page}");
    assert!(page.contains("answered 429 (rate limited)"), "{page}");
    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(20), task).await;
}
