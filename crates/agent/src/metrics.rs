//! The agent's metrics, in an explicit `prometheus-client` registry (no global):
//! operations by kind and result, API calls and 429s per side, cycle
//! durations, objects per status and the last successful cycle per rule.

use prometheus_client::encoding::prometheus_text;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

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
        Metrics {
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

    /// Count API calls (and how many were answered 429) for one side.
    pub fn api(&self, side: &str, calls: u64, throttled: u64) {
        self.api_calls
            .get_or_create(&labels(&[("side", side)]))
            .inc_by(calls);
        self.api_throttled
            .get_or_create(&labels(&[("side", side)]))
            .inc_by(throttled);
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
        m.api("duo", 7, 1);
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
