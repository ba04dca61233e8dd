//! What is happening now, in memory: each rule's running cycle (phase, writes
//! planned, done and in flight), its next run, and each service's requests,
//! pacing waits and 429s of the last minute. The status page reads it; the
//! metrics (`metrics.rs`) carry the same numbers as gauges and counters.
//! The observers the executor and the two clients call live here too.

use crate::metrics::Metrics;
use reconcile_engine as engine;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a running cycle is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading both sides and planning.
    Reading,
    /// Carrying out the plan.
    Writing,
}

/// A cycle in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Running {
    pub trigger: String,
    /// Unix milliseconds.
    pub started_ms: i64,
    pub phase: Phase,
    /// Writes the plan holds (journal-only steps excluded).
    pub planned: u64,
    /// Writes finished: succeeded, failed or skipped.
    pub done: u64,
    /// Writes among `done` that failed.
    pub failed: u64,
    pub in_flight: u64,
    /// When the writing began (Unix milliseconds).
    pub writing_since_ms: Option<i64>,
}

impl Running {
    /// Time left at the pace so far (`None` before the first write finished).
    pub fn eta_ms(&self, now_ms: i64) -> Option<i64> {
        let since = self.writing_since_ms?;
        if self.done == 0 || self.done >= self.planned {
            return None;
        }
        let per_write = (now_ms - since).max(0) as f64 / self.done as f64;
        Some((per_write * (self.planned - self.done) as f64) as i64)
    }
}

/// One rule, now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RuleLive {
    pub running: Option<Running>,
    /// When the scheduler runs the next full cycle (Unix milliseconds).
    pub next_run_ms: Option<i64>,
    /// Cycles in a row that could not run (the scheduler backs off).
    pub failures_in_a_row: u32,
}

/// One service's traffic: the last minute and totals since the start.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServiceLive {
    pub name: String,
    /// Requests sent in the last minute, by rate-limit class (`write`,
    /// `read`, `page` for Duo; `request` for PingOne).
    pub last_minute: BTreeMap<String, u64>,
    pub throttled_last_minute: u64,
    pub requests_total: u64,
    pub throttled_total: u64,
    /// Requests that waited under the agent's own rate limit, and how long in all.
    pub paced_total: u64,
    pub paced_seconds_total: f64,
}

/// Everything live, as the page shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LiveSnapshot {
    pub rules: BTreeMap<String, RuleLive>,
    pub services: Vec<ServiceLive>,
}

#[derive(Default)]
struct Window {
    recent: VecDeque<(Instant, &'static str)>,
    throttled: VecDeque<Instant>,
    totals: ServiceLive,
}

const MINUTE: Duration = Duration::from_secs(60);

impl Window {
    fn prune(&mut self, now: Instant) {
        while self
            .recent
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > MINUTE)
        {
            self.recent.pop_front();
        }
        while self
            .throttled
            .front()
            .is_some_and(|t| now.duration_since(*t) > MINUTE)
        {
            self.throttled.pop_front();
        }
    }
}

/// The live state; one per agent process, inside [`Metrics`].
#[derive(Default)]
pub struct Live {
    rules: Mutex<BTreeMap<String, RuleLive>>,
    services: Mutex<BTreeMap<&'static str, Window>>,
}

impl Live {
    pub(crate) fn rule<R>(&self, rule: &str, f: impl FnOnce(&mut RuleLive) -> R) -> R {
        let mut rules = self.rules.lock().unwrap_or_else(|p| p.into_inner());
        f(rules.entry(rule.to_owned()).or_default())
    }

    pub(crate) fn running<R>(&self, rule: &str, f: impl FnOnce(&mut Running) -> R) -> Option<R> {
        self.rule(rule, |r| r.running.as_mut().map(f))
    }

    pub(crate) fn request(&self, service: &'static str, class: &'static str, paced: Duration) {
        let now = Instant::now();
        let mut s = self.services.lock().unwrap_or_else(|p| p.into_inner());
        let w = s.entry(service).or_default();
        w.prune(now);
        w.recent.push_back((now, class));
        w.totals.requests_total += 1;
        if !paced.is_zero() {
            w.totals.paced_total += 1;
            w.totals.paced_seconds_total += paced.as_secs_f64();
        }
    }

    pub(crate) fn throttled(&self, service: &'static str) {
        let now = Instant::now();
        let mut s = self.services.lock().unwrap_or_else(|p| p.into_inner());
        let w = s.entry(service).or_default();
        w.prune(now);
        w.throttled.push_back(now);
        w.totals.throttled_total += 1;
    }

    /// A copy of everything, the last minute counted now.
    pub fn snapshot(&self) -> LiveSnapshot {
        let rules = self.rules.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let now = Instant::now();
        let mut s = self.services.lock().unwrap_or_else(|p| p.into_inner());
        let services = s
            .iter_mut()
            .map(|(name, w)| {
                w.prune(now);
                let mut last_minute = BTreeMap::new();
                for (_, class) in &w.recent {
                    *last_minute.entry((*class).to_owned()).or_default() += 1;
                }
                ServiceLive {
                    name: (*name).to_owned(),
                    last_minute,
                    throttled_last_minute: w.throttled.len() as u64,
                    ..w.totals.clone()
                }
            })
            .collect();
        LiveSnapshot { rules, services }
    }
}

/// Unix milliseconds now.
pub(crate) fn now_ms() -> i64 {
    state_store::now_millis()
}

/// Tells the metrics and the page about each op of a rule's run as it goes.
#[derive(Debug)]
pub(crate) struct OpWatch {
    pub metrics: Arc<Metrics>,
    pub rule: String,
}

impl engine::ExecObserver for OpWatch {
    fn started(&self, op: &engine::Op) {
        if !op.action.is_journal_only() {
            self.metrics.write_started(&self.rule);
        }
    }

    fn settled(&self, op: &engine::Op, outcome: &engine::Outcome) {
        let result = match outcome {
            engine::Outcome::Succeeded { .. } => "success",
            engine::Outcome::Failed { .. } => "failed",
            engine::Outcome::Skipped { .. } => "skipped",
            engine::Outcome::NotStarted => "not_started",
        };
        self.metrics
            .op(&self.rule, op.kind.as_str(), op.action.verb(), result);
        if !op.action.is_journal_only() {
            self.metrics.write_settled(&self.rule, result);
        }
    }
}

/// Tells the metrics and the page about one service's requests, pacing
/// waits and 429s (the clients know nothing of the metrics).
#[derive(Debug)]
pub(crate) struct ApiWatch {
    pub metrics: Arc<Metrics>,
    pub side: &'static str,
}

impl duo_client::CallObserver for ApiWatch {
    fn sending(&self, class: duo_client::EndpointClass, paced: Duration) {
        let class = match class {
            duo_client::EndpointClass::Write => "write",
            duo_client::EndpointClass::Read => "read",
            duo_client::EndpointClass::Page => "page",
            duo_client::EndpointClass::Bulk => "bulk",
        };
        self.metrics.api_request(self.side, class, paced);
    }
    fn throttled(&self, retry_in: Option<Duration>) {
        self.metrics.api_throttled(self.side, retry_in);
    }
}

impl pingone_client::CallObserver for ApiWatch {
    fn sending(&self, paced: Duration) {
        self.metrics.api_request(self.side, "request", paced);
    }
    fn throttled(&self, retry_in: Option<Duration>) {
        self.metrics.api_throttled(self.side, retry_in);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eta_follows_the_pace_of_the_writes_so_far() {
        let r = Running {
            trigger: "schedule".into(),
            started_ms: 0,
            phase: Phase::Writing,
            planned: 100,
            done: 25,
            failed: 0,
            in_flight: 4,
            writing_since_ms: Some(1_000),
        };
        // 25 writes in 10 s: 75 more take 30 s.
        assert_eq!(r.eta_ms(11_000), Some(30_000));
        assert_eq!(
            Running {
                done: 0,
                ..r.clone()
            }
            .eta_ms(11_000),
            None
        );
    }
}
