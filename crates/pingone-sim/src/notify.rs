//! Change notifications: webhook subscriptions and asynchronous, best-effort
//! delivery of activity events to loopback HTTP endpoints.
//!
//! Each subscription has its own queue and worker task, so its events arrive
//! in the order the changes were made. One event is POSTed per request, as a
//! JSON object; a failed POST is tried twice more, then dropped.

use crate::clock;
use crate::error::{Detail, SimError};
use serde_json::{Map, Value, json};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

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
    tx: mpsc::UnboundedSender<Value>,
    worker: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
pub(crate) struct Notifier {
    /// Action types a subscription may name (`None`: [`ACTION_TYPES`]).
    pub known_types: Mutex<Option<Vec<String>>>,
    pub subs: Mutex<Vec<Subscription>>,
    pub log: Mutex<VecDeque<Value>>,
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

impl Notifier {
    /// Registers a subscription from a `POST /subscriptions` body.
    pub fn subscribe(
        self: &std::sync::Arc<Self>,
        id: String,
        env_id: &str,
        body: &Value,
    ) -> Result<Value, SimError> {
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
        let format = b
            .get("format")
            .and_then(Value::as_str)
            .unwrap_or("ACTIVITY");
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
            if let Some(t) = action_types.iter().find(|t| !is_known(t)) {
                return Err(bad(
                    "filterOptions.includedActionTypes",
                    format!("{t} is not a known action type"),
                ));
            }
        }
        let populations = strings(
            opts.and_then(|o| o.get("includedPopulations")),
            "filterOptions.includedPopulations",
        )?;
        if populations.len() > 10 {
            return Err(bad(
                "filterOptions.includedPopulations",
                "at most 10 populations",
            ));
        }
        let enabled = b.get("enabled").and_then(Value::as_bool).unwrap_or(true);
        let now = clock::now();
        let mut stored = b.clone();
        stored.insert("id".into(), json!(id));
        stored.insert("environment".into(), json!({"id": env_id}));
        stored.insert("enabled".into(), json!(enabled));
        stored.insert("format".into(), json!(format));
        stored.insert("createdAt".into(), json!(now));
        stored.insert("updatedAt".into(), json!(now));
        let (tx, rx) = mpsc::unbounded_channel();
        let worker = tokio::spawn(deliver_loop(self.clone(), host, path, headers, rx));
        self.subs.lock().expect("subs lock").push(Subscription {
            id,
            body: stored.clone(),
            action_types,
            populations,
            enabled,
            tx,
            worker,
        });
        Ok(Value::Object(stored))
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
                    let _ = s.tx.send(e.clone());
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
    host: String,
    path: String,
    headers: Vec<(String, String)>,
    mut rx: mpsc::UnboundedReceiver<Value>,
) {
    while let Some(event) = rx.recv().await {
        let body = event.to_string();
        let mut ok = false;
        for attempt in 0..3u64 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            }
            let post = post_json(&host, &path, &headers, &body);
            if matches!(tokio::time::timeout(Duration::from_secs(10), post).await, Ok(Ok(s)) if (200..300).contains(&s))
            {
                ok = true;
                break;
            }
        }
        if !ok {
            tracing::debug!(host = %host, path = %path, "webhook delivery failed three times; event dropped");
        }
        let counter = if ok { &n.delivered } else { &n.failed };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// One HTTP/1.1 POST over a fresh connection; returns the status code.
async fn post_json(
    host: &str,
    path: &str,
    headers: &[(String, String)],
    body: &str,
) -> std::io::Result<u16> {
    let mut s = tokio::net::TcpStream::connect(host).await?;
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nUser-Agent: pingone-sim\r\nContent-Length: {}\r\nConnection: close\r\n",
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
