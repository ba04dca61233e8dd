//! Change notifications: webhook subscriptions and asynchronous, best-effort
//! delivery of activity events to loopback HTTP endpoints.
//!
//! Each subscription has its own queue and worker task, so its events arrive
//! in the order the changes were made. As PingOne does, a request carries a
//! batch of up to 500 events as one JSON array (`ND_JSON`: one event a line, a
//! variant), and the current batch is posted again, with backoff, until the
//! receiver answers exactly 200 (any 2xx as a variant): later events wait
//! behind it (head of line). A batch whose oldest event is older than about
//! seven days is dropped.

use crate::clock;
use crate::error::{Detail, SimError};
use serde_json::{Map, Value, json};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// PingOne's cap on subscriptions per environment (403 beyond).
pub const MAX_SUBSCRIPTIONS: usize = 50;
/// Events per delivery request (PingOne: `EVENTS_PER_PAYLOAD`, 500 by default).
pub const EVENTS_PER_PAYLOAD: usize = 500;
/// How long an undelivered event is retried (PingOne: about 7 days).
pub const EVENT_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);
/// Longest wait between two attempts at the same batch.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// How a delivery request frames its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeliveryFormat {
    /// One JSON array of events (PingOne's documented default).
    #[default]
    JsonArray,
    /// One JSON event a line.
    NdJson,
}

/// Delivery behaviour, copied from `SimConfig`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DeliveryRules {
    pub format: DeliveryFormat,
    /// Whether any 2xx counts as delivered (PingOne documents "a 200").
    pub any_2xx: bool,
}

impl Default for DeliveryRules {
    fn default() -> Self {
        Self {
            format: DeliveryFormat::JsonArray,
            any_2xx: false,
        }
    }
}

/// Where a subscription's worker posts; replaced in place by an update.
#[derive(Debug, Clone)]
struct Target {
    host: String,
    path: String,
    headers: Vec<(String, String)>,
}

/// The action types the simulator emits.
pub const ACTION_TYPES: &[&str] = &[
    "USER.CREATED",
    "USER.UPDATED",
    "USER.DELETED",
    "GROUP.CREATED",
    "GROUP.UPDATED",
    "GROUP.DELETED",
    "GROUP_MEMBERSHIP.CREATED",
    "GROUP_MEMBERSHIP.DELETED",
    "GROUP_NESTING.CREATED",
    "GROUP_NESTING.DELETED",
];

/// How many emitted events [`Notifier`] keeps for `PingOneSim::events`.
const LOG_LEN: usize = 10_000;

pub(crate) struct Subscription {
    pub id: String,
    pub body: Map<String, Value>,
    action_types: Vec<String>,
    populations: Vec<String>,
    enabled: bool,
    target: std::sync::Arc<Mutex<Target>>,
    tx: mpsc::UnboundedSender<(Instant, Value)>,
    worker: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
pub(crate) struct Notifier {
    /// Action types a subscription may name (`None`: [`ACTION_TYPES`]).
    pub known_types: Mutex<Option<Vec<String>>>,
    pub subs: Mutex<Vec<Subscription>>,
    pub log: Mutex<VecDeque<Value>>,
    pub rules: Mutex<DeliveryRules>,
    /// Delivery requests made (every attempt).
    pub posts: AtomicU64,
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
}

fn loopback_target(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let name = match host.rfind(':') {
        Some(i) if !host.ends_with(']') => &host[..i],
        _ => host,
    };
    matches!(name, "127.0.0.1" | "localhost" | "[::1]")
        .then(|| (host.to_string(), path.to_string()))
}

fn bad(target: &str, msg: impl Into<String>) -> SimError {
    SimError::invalid(vec![Detail::new("INVALID_VALUE", target, msg)])
}

/// A subscription body's settings.
struct Parsed {
    action_types: Vec<String>,
    populations: Vec<String>,
    enabled: bool,
    target: Target,
}

fn strings(v: Option<&Value>, target: &str) -> Result<Vec<String>, SimError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad(target, format!("{target} must be a list of strings")))
            })
            .collect(),
        Some(_) => Err(bad(target, format!("{target} must be a list of strings"))),
    }
}

/// `[{"id": "…"}, …]` (PingOne's shape of `includedPopulations`).
fn ids(v: Option<&Value>, target: &str) -> Result<Vec<String>, SimError> {
    let msg = || {
        bad(
            target,
            format!("{target} must be a list of {{\"id\": \"…\"}} objects"),
        )
    };
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.get("id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(msg)
            })
            .collect(),
        Some(_) => Err(msg()),
    }
}

fn required(target: &str) -> SimError {
    SimError::invalid(vec![Detail::new(
        "REQUIRED_VALUE",
        target,
        format!("{target} is required"),
    )])
}

impl Notifier {
    /// Registers a subscription from a `POST /subscriptions` body.
    pub fn subscribe(
        self: &std::sync::Arc<Self>,
        id: String,
        env_id: &str,
        body: &Value,
    ) -> Result<Value, SimError> {
        if self.subs.lock().expect("subs lock").len() >= MAX_SUBSCRIPTIONS {
            return Err(SimError::forbidden(
                "The environment already has the maximum of 50 subscriptions.",
            ));
        }
        let (stored, parsed) = self.parse(&id, env_id, body, None)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let target = std::sync::Arc::new(Mutex::new(parsed.target));
        let rules = *self.rules.lock().unwrap_or_else(|p| p.into_inner());
        let worker = tokio::spawn(deliver_loop(self.clone(), target.clone(), rules, rx));
        self.subs.lock().expect("subs lock").push(Subscription {
            id,
            body: stored.clone(),
            action_types: parsed.action_types,
            populations: parsed.populations,
            enabled: parsed.enabled,
            target,
            tx,
            worker,
        });
        Ok(Value::Object(stored))
    }

    /// `PUT /subscriptions/{id}`: replaces the subscription's settings; its
    /// queue (and the batch in flight) is kept.
    pub fn update(&self, id: &str, env_id: &str, body: &Value) -> Result<Value, SimError> {
        let created = self.get(id).map(|v| v["createdAt"].clone());
        let Some(created) = created else {
            return Err(SimError::not_found("subscription", id));
        };
        let (stored, parsed) = self.parse(id, env_id, body, Some(created))?;
        let mut subs = self.subs.lock().expect("subs lock");
        let Some(s) = subs.iter_mut().find(|s| s.id == id) else {
            return Err(SimError::not_found("subscription", id));
        };
        s.body = stored.clone();
        s.action_types = parsed.action_types;
        s.populations = parsed.populations;
        s.enabled = parsed.enabled;
        *s.target.lock().unwrap_or_else(|p| p.into_inner()) = parsed.target;
        Ok(Value::Object(stored))
    }

    /// Validates a subscription body the way PingOne does.
    fn parse(
        &self,
        id: &str,
        env_id: &str,
        body: &Value,
        created: Option<Value>,
    ) -> Result<(Map<String, Value>, Parsed), SimError> {
        let b = body
            .as_object()
            .ok_or_else(|| SimError::bad_request("The request body must be a JSON object."))?;
        let name = b
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if name.is_empty() {
            return Err(SimError::invalid(vec![Detail::new(
                "REQUIRED_VALUE",
                "name",
                "name is required",
            )]));
        }
        // Required by PingOne's Subscription schema and its create request model.
        let Some(enabled) = b.get("enabled").and_then(Value::as_bool) else {
            return Err(required("enabled"));
        };
        if b.get("verifyTlsCertificates")
            .and_then(Value::as_bool)
            .is_none()
        {
            return Err(required("verifyTlsCertificates"));
        }
        let Some(format) = b.get("format").and_then(Value::as_str) else {
            return Err(required("format"));
        };
        if format != "ACTIVITY" {
            return Err(bad(
                "format",
                "the simulator only delivers the ACTIVITY format",
            ));
        }
        let url = match b
            .get("httpEndpoint")
            .and_then(|h| h.get("url"))
            .and_then(Value::as_str)
        {
            Some(u) => u.to_string(),
            None => {
                return Err(SimError::invalid(vec![Detail::new(
                    "REQUIRED_VALUE",
                    "httpEndpoint.url",
                    "httpEndpoint.url is required",
                )]));
            }
        };
        let Some((host, path)) = loopback_target(&url) else {
            return Err(bad(
                "httpEndpoint.url",
                "the simulator delivers only to http:// loopback URLs (127.0.0.1, localhost, [::1])",
            ));
        };
        let headers: Vec<(String, String)> = b
            .get("httpEndpoint")
            .and_then(|h| h.get("headers"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let opts = b.get("filterOptions");
        let action_types = strings(
            opts.and_then(|o| o.get("includedActionTypes")),
            "filterOptions.includedActionTypes",
        )?;
        if action_types.is_empty() {
            return Err(SimError::invalid(vec![Detail::new(
                "REQUIRED_VALUE",
                "filterOptions.includedActionTypes",
                "filterOptions.includedActionTypes needs at least one action type",
            )]));
        }
        {
            let known = self.known_types.lock().unwrap_or_else(|p| p.into_inner());
            let is_known = |t: &String| match known.as_ref() {
                _ if t == "*" => true,
                Some(k) => k.contains(t),
                None => ACTION_TYPES.contains(&t.as_str()),
            };
            // One detail per refused type, naming it in `innerError.value`.
            let refused: Vec<Detail> = action_types
                .iter()
                .filter(|t| !is_known(t))
                .map(|t| {
                    Detail::new(
                        "INVALID_VALUE",
                        "filterOptions.includedActionTypes",
                        format!("{t} is not a known action type"),
                    )
                    .inner("value", t.as_str())
                })
                .collect();
            if !refused.is_empty() {
                return Err(SimError::invalid(refused));
            }
        }
        let populations = ids(
            opts.and_then(|o| o.get("includedPopulations")),
            "filterOptions.includedPopulations",
        )?;
        if populations.len() > 10 {
            return Err(bad(
                "filterOptions.includedPopulations",
                "at most 10 populations",
            ));
        }
        let now = clock::now();
        let mut stored = b.clone();
        stored.insert("id".into(), json!(id));
        stored.insert("environment".into(), json!({"id": env_id}));
        stored.insert("enabled".into(), json!(enabled));
        stored.insert("format".into(), json!(format));
        stored.insert("createdAt".into(), created.unwrap_or_else(|| json!(now)));
        stored.insert("updatedAt".into(), json!(now));
        Ok((
            stored,
            Parsed {
                action_types,
                populations,
                enabled,
                target: Target {
                    host,
                    path,
                    headers,
                },
            },
        ))
    }

    pub fn unsubscribe(&self, id: &str) -> bool {
        let mut subs = self.subs.lock().expect("subs lock");
        match subs.iter().position(|s| s.id == id) {
            Some(i) => {
                subs.remove(i).worker.abort();
                true
            }
            None => false,
        }
    }

    /// Hands events to the matching subscriptions' queues.
    pub fn publish(&self, events: Vec<Value>) {
        if events.is_empty() {
            return;
        }
        let subs = self.subs.lock().expect("subs lock");
        for e in &events {
            let action = e["action"]["type"].as_str().unwrap_or("");
            for s in subs.iter().filter(|s| s.enabled) {
                let type_ok = s.action_types.iter().any(|t| t == action || t == "*");
                let pop_ok = s.populations.is_empty()
                    || e["resources"].as_array().into_iter().flatten().any(|r| {
                        r["population"]["id"]
                            .as_str()
                            .is_some_and(|p| s.populations.iter().any(|x| x == p))
                    });
                if type_ok && pop_ok {
                    let _ = s.tx.send((Instant::now(), e.clone()));
                }
            }
        }
        drop(subs);
        let mut log = self.log.lock().expect("log lock");
        for e in events {
            if log.len() == LOG_LEN {
                log.pop_front();
            }
            log.push_back(e);
        }
    }

    pub fn list(&self) -> Vec<Value> {
        self.subs
            .lock()
            .expect("subs lock")
            .iter()
            .map(|s| Value::Object(s.body.clone()))
            .collect()
    }

    pub fn get(&self, id: &str) -> Option<Value> {
        self.subs
            .lock()
            .expect("subs lock")
            .iter()
            .find(|s| s.id == id)
            .map(|s| Value::Object(s.body.clone()))
    }

    /// Stops every worker (on shutdown).
    pub fn stop(&self) {
        for s in self.subs.lock().expect("subs lock").drain(..) {
            s.worker.abort();
        }
    }
}

async fn deliver_loop(
    n: std::sync::Arc<Notifier>,
    target: std::sync::Arc<Mutex<Target>>,
    rules: DeliveryRules,
    mut rx: mpsc::UnboundedReceiver<(Instant, Value)>,
) {
    let mut batch: Vec<(Instant, Value)> = Vec::new();
    let mut backoff = Duration::from_millis(100);
    loop {
        if batch.is_empty() {
            match rx.recv().await {
                Some(e) => batch.push(e),
                None => return,
            }
            while batch.len() < EVENTS_PER_PAYLOAD {
                match rx.try_recv() {
                    Ok(e) => batch.push(e),
                    Err(_) => break,
                }
            }
            backoff = Duration::from_millis(100);
        }
        let oldest = batch[0].0;
        if oldest.elapsed() >= EVENT_EXPIRY {
            tracing::debug!(
                events = batch.len(),
                "webhook batch expired undelivered; dropped"
            );
            n.failed.fetch_add(batch.len() as u64, Ordering::Relaxed);
            batch.clear();
            continue;
        }
        let body = match rules.format {
            DeliveryFormat::JsonArray => {
                Value::Array(batch.iter().map(|(_, e)| e.clone()).collect()).to_string()
            }
            DeliveryFormat::NdJson => batch
                .iter()
                .map(|(_, e)| format!("{e}\n"))
                .collect::<String>(),
        };
        let t = target.lock().unwrap_or_else(|p| p.into_inner()).clone();
        n.posts.fetch_add(1, Ordering::Relaxed);
        let post = post_json(&t.host, &t.path, &t.headers, &body, rules.format);
        let status = match tokio::time::timeout(Duration::from_secs(10), post).await {
            Ok(Ok(s)) => Some(s),
            _ => None,
        };
        let ok = match status {
            Some(200) => true,
            Some(s) => rules.any_2xx && (200..300).contains(&s),
            None => false,
        };
        if ok {
            n.delivered.fetch_add(batch.len() as u64, Ordering::Relaxed);
            batch.clear();
        } else {
            tracing::debug!(host = %t.host, path = %t.path, ?status, "webhook delivery not accepted; the batch is posted again");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

/// One HTTP/1.1 POST over a fresh connection; returns the status code.
async fn post_json(
    host: &str,
    path: &str,
    headers: &[(String, String)],
    body: &str,
    format: DeliveryFormat,
) -> std::io::Result<u16> {
    let mut s = tokio::net::TcpStream::connect(host).await?;
    let ctype = match format {
        DeliveryFormat::JsonArray => "application/json",
        DeliveryFormat::NdJson => "application/x-ndjson",
    };
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {ctype}\r\nUser-Agent: pingone-sim\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        if !k.contains(['\r', '\n', ':']) && !v.contains(['\r', '\n']) {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await?;
    let mut head = Vec::new();
    let mut buf = [0u8; 256];
    while !head.windows(2).any(|w| w == b"\r\n") {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "no HTTP status line"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_http_targets() {
        assert_eq!(
            loopback_target("http://127.0.0.1:8080/hook"),
            Some(("127.0.0.1:8080".into(), "/hook".into()))
        );
        assert_eq!(
            loopback_target("http://localhost:9"),
            Some(("localhost:9".into(), "/".into()))
        );
        assert_eq!(
            loopback_target("http://[::1]:9/x"),
            Some(("[::1]:9".into(), "/x".into()))
        );
        assert_eq!(loopback_target("https://127.0.0.1/x"), None);
        assert_eq!(loopback_target("http://example.com/x"), None);
        assert_eq!(loopback_target("http://127.0.0.1.evil.com/x"), None);
    }
}
