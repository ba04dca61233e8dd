//! The agent's metrics, in an explicit `prometheus-client` registry (no global):
//! operations by kind and result, API calls, 429s and pacing waits per side,
//! cycle durations and live progress, objects per status and the last
//! successful cycle per rule. Everything moves as it happens, not at the end
//! of a cycle; the same numbers feed the status page through [`Live`].

use crate::live::{Live, LiveSnapshot, Phase, Running};
use prometheus_client::encoding::prometheus_text;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

type Labels = Vec<(String, String)>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Every metric the agent exports.
pub struct Metrics {
    registry: Registry,
    ops: Family<Labels, Counter>,
    api_calls: Family<Labels, Counter>,
    api_throttled: Family<Labels, Counter>,
    cycle_seconds: Family<Labels, Histogram>,
    objects: Family<Labels, Gauge>,
    last_success: Family<Labels, Gauge<f64, AtomicU64>>,
    notifications: Family<Labels, Counter>,
    blocked: Family<Labels, Gauge>,
    paced: Family<Labels, Counter>,
    paced_seconds: Family<Labels, Counter<f64, AtomicU64>>,
    throttled_seconds: Family<Labels, Counter<f64, AtomicU64>>,
    running: Family<Labels, Gauge>,
    writes_planned: Family<Labels, Gauge>,
    writes_done: Family<Labels, Gauge>,
    writes_in_flight: Family<Labels, Gauge>,
    next_cycle: Family<Labels, Gauge<f64, AtomicU64>>,
    live: Live,
}

/// Clears a rule's running state when its cycle ends, however it ends.
pub struct RunningGuard<'a> {
    metrics: &'a Metrics,
    rule: String,
}

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        let l = labels(&[("rule", &self.rule)]);
        self.metrics.running.get_or_create(&l).set(0);
        self.metrics.writes_in_flight.get_or_create(&l).set(0);
        self.metrics.live.rule(&self.rule, |r| r.running = None);
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("p1duo");
        let ops = Family::<Labels, Counter>::default();
        registry.register(
            "operations",
            "Operations executed, by rule, object kind, action and result",
            ops.clone(),
        );
        let api_calls = Family::<Labels, Counter>::default();
        registry.register(
            "api_calls",
            "API calls made, by side (duo, pingone)",
            api_calls.clone(),
        );
        let notifications = Family::<Labels, Counter>::default();
        registry.register(
            "notifications",
            "PingOne change notifications received, by action type (`unparsed`: dropped because unreadable)",
            notifications.clone(),
        );
        let api_throttled = Family::<Labels, Counter>::default();
        registry.register(
            "api_throttled",
            "API answers 429 (rate limited), by side",
            api_throttled.clone(),
        );
        let cycle_seconds = Family::<Labels, Histogram>::new_with_constructor(|| {
            Histogram::new([0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0])
        });
        registry.register(
            "cycle_duration_seconds",
            "Duration of sync cycles, by rule and trigger",
            cycle_seconds.clone(),
        );
        let objects = Family::<Labels, Gauge>::default();
        registry.register(
            "objects",
            "Objects per sync status after the last cycle, by rule",
            objects.clone(),
        );
        let last_success = Family::<Labels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "last_successful_cycle_timestamp_seconds",
            "Unix time of the last cycle that completed without a failed object, by rule",
            last_success.clone(),
        );
        let build = Family::<Labels, Gauge>::default();
        registry.register(
            "build_info",
            "Always 1; the version of the running agent in its label",
            build.clone(),
        );
        build
            .get_or_create(&labels(&[("version", env!("CARGO_PKG_VERSION"))]))
            .set(1);
        let blocked = Family::<Labels, Gauge>::default();
        registry.register(
            "rule_blocked",
            "1 while a rule's last cycle was blocked by a safety limit (waiting for approval), by rule",
            blocked.clone(),
        );
        let paced = Family::<Labels, Counter>::default();
        registry.register(
            "api_paced",
            "Requests that waited under the agent's own client-side rate limit, by side",
            paced.clone(),
        );
        let paced_seconds = Family::<Labels, Counter<f64, AtomicU64>>::default();
        registry.register(
            "api_pacing_wait_seconds",
            "Time requests waited under the agent's own client-side rate limit, by side",
            paced_seconds.clone(),
        );
        let throttled_seconds = Family::<Labels, Counter<f64, AtomicU64>>::default();
        registry.register(
            "api_throttled_wait_seconds",
            "Time spent waiting to retry after 429 answers, by side",
            throttled_seconds.clone(),
        );
        let running = Family::<Labels, Gauge>::default();
        registry.register(
            "cycle_running",
            "1 while a cycle of the rule runs, by rule",
            running.clone(),
        );
        let writes_planned = Family::<Labels, Gauge>::default();
        registry.register(
            "cycle_writes_planned",
            "Writes the plan of the rule's current (or last) cycle holds, by rule",
            writes_planned.clone(),
        );
        let writes_done = Family::<Labels, Gauge>::default();
        registry.register(
            "cycle_writes_done",
            "Writes of the rule's current (or last) cycle finished so far (succeeded, failed or skipped), by rule",
            writes_done.clone(),
        );
        let writes_in_flight = Family::<Labels, Gauge>::default();
        registry.register(
            "cycle_writes_in_flight",
            "Writes sent and not yet answered, by rule",
            writes_in_flight.clone(),
        );
        let next_cycle = Family::<Labels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "next_cycle_timestamp_seconds",
            "Unix time the scheduler starts the rule's next full cycle, by rule",
            next_cycle.clone(),
        );
        Metrics {
            paced,
            paced_seconds,
            throttled_seconds,
            running,
            writes_planned,
            writes_done,
            writes_in_flight,
            next_cycle,
            live: Live::default(),
            registry,
            ops,
            api_calls,
            api_throttled,
            cycle_seconds,
            objects,
            last_success,
            notifications,
            blocked,
        }
    }

    /// Count one executed operation.
    pub fn op(&self, rule: &str, kind: &str, action: &str, result: &str) {
        self.ops
            .get_or_create(&labels(&[
                ("rule", rule),
                ("kind", kind),
                ("action", action),
                ("result", result),
            ]))
            .inc();
    }

    /// One request goes out to `side` (retries too), after `paced` spent
    /// waiting under the client-side rate limit of its `class`.
    pub fn api_request(&self, side: &'static str, class: &'static str, paced: Duration) {
        let l = labels(&[("side", side)]);
        self.api_calls.get_or_create(&l).inc();
        if !paced.is_zero() {
            self.paced.get_or_create(&l).inc();
            self.paced_seconds
                .get_or_create(&l)
                .inc_by(paced.as_secs_f64());
        }
        self.live.request(side, class, paced);
    }

    /// `side` answered 429; the client retries after `retry_in`, if at all.
    pub fn api_throttled(&self, side: &'static str, retry_in: Option<Duration>) {
        let l = labels(&[("side", side)]);
        self.api_throttled.get_or_create(&l).inc();
        if let Some(w) = retry_in {
            self.throttled_seconds
                .get_or_create(&l)
                .inc_by(w.as_secs_f64());
        }
        self.live.throttled(side);
    }

    /// A cycle of `rule` starts (reading both sides); it ends when the guard drops.
    pub fn cycle_running(&self, rule: &str, trigger: &str) -> RunningGuard<'_> {
        let l = labels(&[("rule", rule)]);
        self.running.get_or_create(&l).set(1);
        self.writes_planned.get_or_create(&l).set(0);
        self.writes_done.get_or_create(&l).set(0);
        self.writes_in_flight.get_or_create(&l).set(0);
        self.live.rule(rule, |r| {
            r.running = Some(Running {
                trigger: trigger.to_owned(),
                started_ms: crate::live::now_ms(),
                phase: Phase::Reading,
                planned: 0,
                done: 0,
                failed: 0,
                in_flight: 0,
                writing_since_ms: None,
            });
        });
        RunningGuard {
            metrics: self,
            rule: rule.to_owned(),
        }
    }

    /// The cycle of `rule` starts carrying out a plan of `planned` writes.
    pub fn cycle_writing(&self, rule: &str, planned: u64) {
        self.writes_planned
            .get_or_create(&labels(&[("rule", rule)]))
            .set(i64::try_from(planned).unwrap_or(i64::MAX));
        self.live.running(rule, |r| {
            r.phase = Phase::Writing;
            r.planned = planned;
            r.writing_since_ms = Some(crate::live::now_ms());
        });
    }

    /// A write of `rule` is sent.
    pub fn write_started(&self, rule: &str) {
        self.writes_in_flight
            .get_or_create(&labels(&[("rule", rule)]))
            .inc();
        self.live.running(rule, |r| r.in_flight += 1);
    }

    /// A write of `rule` settled with `result` (an operations result label).
    pub fn write_settled(&self, rule: &str, result: &str) {
        let l = labels(&[("rule", rule)]);
        let sent = matches!(result, "success" | "failed");
        if sent {
            self.writes_in_flight.get_or_create(&l).dec();
        }
        if result != "not_started" {
            self.writes_done.get_or_create(&l).inc();
        }
        self.live.running(rule, |r| {
            if sent {
                r.in_flight = r.in_flight.saturating_sub(1);
            }
            if result != "not_started" {
                r.done += 1;
            }
            if result == "failed" {
                r.failed += 1;
            }
        });
    }

    /// The scheduler starts `rule`'s next full cycle at `at_ms` (Unix
    /// milliseconds), after `failures` cycles in a row that could not run.
    pub fn next_run(&self, rule: &str, at_ms: i64, failures: u32) {
        self.next_cycle
            .get_or_create(&labels(&[("rule", rule)]))
            .set(at_ms as f64 / 1000.0);
        self.live.rule(rule, |r| {
            r.next_run_ms = Some(at_ms);
            r.failures_in_a_row = failures;
        });
    }

    /// What runs now, for the status page.
    pub fn live(&self) -> LiveSnapshot {
        self.live.snapshot()
    }

    /// Record a finished cycle.
    pub fn cycle(&self, rule: &str, trigger: &str, seconds: f64, ok: bool, unix_now: f64) {
        self.cycle_seconds
            .get_or_create(&labels(&[("rule", rule), ("trigger", trigger)]))
            .observe(seconds);
        if ok {
            self.last_success
                .get_or_create(&labels(&[("rule", rule)]))
                .set(unix_now);
        }
    }

    /// Count one change notification received, by action type.
    pub fn notification(&self, action: &str) {
        self.notifications
            .get_or_create(&labels(&[("type", action)]))
            .inc();
    }

    /// Make a rule's gauges exist before its first cycle: the last-success
    /// time is 0 (never), so an alert on it fires for a rule that never worked.
    pub fn rule_known(&self, rule: &str) {
        drop(self.last_success.get_or_create(&labels(&[("rule", rule)])));
        drop(self.blocked.get_or_create(&labels(&[("rule", rule)])));
    }

    /// Whether a rule's last cycle was blocked.
    pub fn blocked(&self, rule: &str, blocked: bool) {
        self.blocked
            .get_or_create(&labels(&[("rule", rule)]))
            .set(i64::from(blocked));
    }

    /// Set the count of objects in one status for a rule.
    pub fn objects(&self, rule: &str, status: &str, count: i64) {
        self.objects
            .get_or_create(&labels(&[("rule", rule), ("status", status)]))
            .set(count);
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }

    /// The exposition in the format a scraper's `Accept` header prefers:
    /// OpenMetrics when asked for (Prometheus asks for it first), else the
    /// classic Prometheus text format (0.0.4) that every scraper reads.
    /// Returns the `Content-Type` and the body.
    pub fn encode_for(&self, accept: Option<&str>) -> (&'static str, String) {
        if prefers_openmetrics(accept.unwrap_or("")) {
            (OPENMETRICS_CONTENT_TYPE, self.encode())
        } else {
            let mut out = String::new();
            let _ = prometheus_text::encode(&mut out, &self.registry);
            (prometheus_text::CONTENT_TYPE, out)
        }
    }
}

/// The `Content-Type` of the OpenMetrics text exposition.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Whether `accept` ranks OpenMetrics at least as high as the classic text
/// format (by `q`, default 1); a missing or unrelated header gets the classic one.
fn prefers_openmetrics(accept: &str) -> bool {
    let (mut om, mut text) = (0.0f32, 0.0f32);
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match media.as_str() {
            "application/openmetrics-text" => om = om.max(q),
            "text/plain" | "text/*" | "*/*" => text = text.max(q),
            _ => {}
        }
    }
    om > 0.0 && om >= text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_header_picks_openmetrics_or_the_classic_text_format() {
        let m = Metrics::new();
        m.op("r1", "user", "create", "success");
        // What Prometheus 2.x/3.x sends by default: OpenMetrics first.
        let prom = "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        let (ct, body) = m.encode_for(Some(prom));
        assert_eq!(ct, OPENMETRICS_CONTENT_TYPE);
        assert!(body.ends_with("# EOF\n"), "{body}");
        // No header (curl), a classic scraper, or OpenMetrics ranked lower: classic text.
        for accept in [
            None,
            Some("*/*"),
            Some("text/plain;version=0.0.4"),
            Some("text/plain;q=0.9,application/openmetrics-text;q=0.5"),
            Some("application/openmetrics-text;q=0"),
        ] {
            let (ct, body) = m.encode_for(accept);
            assert_eq!(ct, "text/plain; version=0.0.4; charset=utf-8", "{accept:?}");
            assert!(!body.contains("# EOF"), "{accept:?}: {body}");
            assert!(
                body.contains("# TYPE p1duo_operations_total counter")
                    && body.contains(r#"p1duo_operations_total{rule="r1",kind="user",action="create",result="success"} 1"#),
                "{accept:?}: {body}"
            );
        }
    }

    #[test]
    fn recorded_values_show_in_the_exposition() {
        let m = Metrics::new();
        m.op("r1", "user", "create", "success");
        m.op("r1", "user", "create", "success");
        for _ in 0..7 {
            m.api_request("duo", "read", Duration::ZERO);
        }
        m.api_throttled("duo", Some(Duration::from_secs(2)));
        m.cycle("r1", "full", 1.5, true, 1_700_000_000.0);
        m.objects("r1", "failed", 3);
        let text = m.encode();
        assert!(text.contains(r#"p1duo_operations_total{rule="r1",kind="user",action="create",result="success"} 2"#), "{text}");
        assert!(
            text.contains(r#"p1duo_api_calls_total{side="duo"} 7"#),
            "{text}"
        );
        assert!(
            text.contains(r#"p1duo_api_throttled_total{side="duo"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"p1duo_objects{rule="r1",status="failed"} 3"#),
            "{text}"
        );
        assert!(
            text.contains("p1duo_last_successful_cycle_timestamp_seconds{rule=\"r1\"} 1700000000"),
            "{text}"
        );
        assert!(
            text.contains("p1duo_cycle_duration_seconds_count{rule=\"r1\",trigger=\"full\"} 1"),
            "{text}"
        );
    }
}
