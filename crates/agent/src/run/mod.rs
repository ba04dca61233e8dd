//! `p1duo run`: the long-running agent. Every rule on its interval (one cycle
//! per rule at a time), PingOne change notifications triggering a fast cycle,
//! the status server, config reload on SIGHUP and graceful shutdown on
//! SIGINT/SIGTERM that lets the writes in flight finish.

mod notifications;
mod scheduler;
mod server;

pub(crate) use notifications::{ChangeEvent, Changes};

use crate::config::{Config, Direction};
use crate::cycle::state::{self as memo, NotificationsMemo};
use crate::cycle::{Agent, CycleOptions, RuleRef};
use crate::metrics::Metrics;
use crate::state::StateDb;
use crate::{AgentError, Outcome};
use scheduler::{CycleRunner, CycleTrigger, Scheduler, Timing};
use server::{DeliverySecret, Shared};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Run the agent until SIGINT or SIGTERM.
pub async fn run(config_path: PathBuf) -> Result<Outcome, AgentError> {
    let config = Arc::new(Config::load(&config_path)?);
    let shutdown = CancellationToken::new();
    let s2 = shutdown.clone();
    tokio::spawn(async move {
        wait_for_stop().await;
        tracing::info!("stopping: no new write starts; the writes in flight finish");
        s2.cancel();
    });
    // One line at any log level: what runs, from which file, where to look.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let path = config_path.display().to_string();
    tokio::spawn(async move {
        if let Ok(addr) = rx.await {
            eprintln!(
                "p1duo {} running with {path}; status at http://{addr}/status",
                env!("CARGO_PKG_VERSION")
            );
            notify_systemd(&format!("READY=1\nSTATUS=status at http://{addr}/status"));
        }
    });
    run_with(config, Some(config_path), shutdown, Some(tx)).await
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A stream of SIGHUPs (never fires where there are none).
struct Reload {
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
}

impl Reload {
    fn new() -> Reload {
        #[cfg(unix)]
        {
            Reload {
                hup: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Reload {}
        }
    }
    async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(h) = &mut self.hup {
            h.recv().await;
            return;
        }
        std::future::pending::<()>().await;
    }
}

/// Runs cycles for the scheduler and marks the agent ready after every rule's first one.
struct Runner {
    agent: Arc<Agent>,
    shared: Arc<Shared>,
    pending_first: Mutex<HashSet<String>>,
    /// Per outbound rule: what PingOne change notifications reported since its last cycle.
    changed: Mutex<HashMap<String, Changes>>,
}

impl Runner {
    /// Remember what a notification changed, for every outbound rule.
    fn note(&self, rules: &[String], ev: &ChangeEvent) {
        let mut c = self.changed.lock().unwrap_or_else(|p| p.into_inner());
        for r in rules {
            c.entry(r.clone()).or_default().note(ev);
        }
    }
}

impl CycleRunner for Runner {
    async fn run_cycle(
        &self,
        rule: &str,
        trigger: CycleTrigger,
        cancel: CancellationToken,
    ) -> bool {
        let rules = match self.agent.rules(None).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(rule, error = %e, "cannot list the rules");
                return false;
            }
        };
        let Some(r) = rules.into_iter().find(|r| r.name() == rule) else {
            return true;
        };
        let store_trigger = match trigger {
            CycleTrigger::Startup => state_store::Trigger::Startup,
            CycleTrigger::Schedule | CycleTrigger::Notification => state_store::Trigger::Schedule,
        };
        // Every cycle covers the changes noted so far; a notification runs the
        // fast path for just the users and groups it named.
        let changes = self
            .changed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(rule)
            .unwrap_or_default();
        let result = match (&r, trigger) {
            (RuleRef::Configured(rc), CycleTrigger::Notification)
                if !changes.full && !changes.is_empty() =>
            {
                self.agent.fast_cycle(rc, &changes, cancel).await
            }
            _ => {
                let opts = CycleOptions::new(store_trigger, cancel);
                self.agent.cycle(&r, opts).await
            }
        };
        let ran = result.is_ok();
        match result {
            Ok(rep) => {
                let s = &rep.summary;
                // Failed objects are worth a look at the default level (warn).
                if s.users_failed + s.groups_failed > 0 {
                    tracing::warn!(
                        rule,
                        trigger = trigger.as_str(),
                        ops = rep.ops,
                        users_failed = s.users_failed,
                        groups_failed = s.groups_failed,
                        "cycle finished with failed objects; see `p1duo status`"
                    );
                } else {
                    tracing::info!(
                        rule,
                        trigger = trigger.as_str(),
                        outcome = ?rep.outcome,
                        ops = rep.ops,
                        users_impacted = s.users_impacted,
                        "cycle finished"
                    );
                }
                for b in &rep.blocked {
                    tracing::warn!(rule, reason = %b, plan = %rep.plan_hash, "cycle blocked by a safety limit; review `p1duo plan --rule {rule}`, then `p1duo approve --rule {rule} {}` if intended", rep.plan_hash);
                }
            }
            Err(e) => tracing::error!(rule, error = %e, "cycle failed"),
        }
        let mut p = self.pending_first.lock().unwrap_or_else(|p| p.into_inner());
        p.remove(rule);
        if p.is_empty() {
            self.shared.ready.store(true, Ordering::Release);
        }
        ran
    }
}

/// The agent with a given config; `reload_from` is re-read on SIGHUP.
/// Returns when `shutdown` is cancelled and the cycles in flight finished.
/// `bound` receives the status server's address once it listens.
pub async fn run_with(
    mut config: Arc<Config>,
    reload_from: Option<PathBuf>,
    shutdown: CancellationToken,
    bound: Option<tokio::sync::oneshot::Sender<SocketAddr>>,
) -> Result<Outcome, AgentError> {
    for w in config.warnings() {
        tracing::warn!("{w}");
    }
    let db = StateDb::open(&config.state_path).await?;
    db.call(|s| s.close_interrupted_runs(state_store::now_millis()))
        .await?;
    let metrics = Arc::new(Metrics::new());
    for r in &config.rules {
        metrics.rule_known(&r.name);
    }
    let (tx, mut rx) = mpsc::channel::<ChangeEvent>(1024);
    let delivery_secret = match &config.agent.notifications {
        Some(_) => Some(delivery_secret(&db).await?),
        None => None,
    };
    let (approved_tx, mut approved_rx) = mpsc::channel::<String>(16);
    let shared = Arc::new(Shared {
        config: RwLock::new(config.clone()),
        db: db.clone(),
        metrics: metrics.clone(),
        ready: Default::default(),
        events: tx,
        delivery_secret: delivery_secret.clone(),
        approved: approved_tx,
    });
    let listener = tokio::net::TcpListener::bind(config.agent.listen)
        .await
        .map_err(|e| {
            AgentError::Other(format!(
                "cannot listen on {} (agent.listen): {e}; pick a free port",
                config.agent.listen
            ))
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| AgentError::Other(e.to_string()))?;
    tracing::info!(%addr, "status server listening: /healthz /readyz /metrics /status");
    if let Some(b) = bound {
        let _ = b.send(addr);
    }
    let server = tokio::spawn(
        axum::serve(
            listener,
            server::router(shared.clone()).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .into_future(),
    );
    let mut reload = Reload::new();
    let mut subscription: Option<(Arc<Agent>, String)> = None;
    'outer: loop {
        let agent = Arc::new(Agent::new(
            config.clone(),
            Some(db.clone()),
            metrics.clone(),
        )?);
        if let Some(n) = &config.agent.notifications
            && let Some(secret) = &delivery_secret
            && subscription.is_none()
        {
            match subscribe(&agent, &db, &n.public_url, secret).await {
                Ok(id) => subscription = Some((agent.clone(), id)),
                Err(e) => {
                    tracing::warn!(error = %e, "could not register the PingOne change subscription; fast sync is off and the periodic full cycle still runs");
                }
            }
        }
        let names: Vec<String> = agent
            .rules(None)
            .await?
            .iter()
            .map(|r| r.name().to_owned())
            .collect();
        let outbound: Vec<String> = config
            .rules
            .iter()
            .filter(|r| r.enabled && r.direction() == Direction::Outbound)
            .map(|r| r.name.clone())
            .collect();
        shared.ready.store(names.is_empty(), Ordering::Release);
        let runner = Arc::new(Runner {
            agent,
            shared: shared.clone(),
            pending_first: Mutex::new(names.iter().cloned().collect()),
            changed: Mutex::new(HashMap::new()),
        });
        let timing = Timing {
            interval: config.agent.interval,
            jitter: config.agent.jitter,
            debounce: config
                .agent
                .notifications
                .as_ref()
                .map_or(std::time::Duration::from_secs(2), |n| n.debounce),
        };
        let sched = Scheduler::start(runner.clone(), names, timing, shutdown.child_token());
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => {
                    sched.shutdown().await;
                    break 'outer;
                }
                _ = reload.recv() => {
                    let Some(path) = &reload_from else { continue };
                    match Config::load(path) {
                        Ok(new) => {
                            tracing::info!(file = %path.display(), "configuration reloaded; restarting the rules after their cycles in flight");
                            sched.shutdown().await;
                            config = Arc::new(new);
                            *shared.config.write().unwrap_or_else(|p| p.into_inner()) = config.clone();
                            continue 'outer;
                        }
                        Err(e) => tracing::error!(error = %e, "the new configuration is refused; keeping the running one"),
                    }
                }
                Some(rule) = approved_rx.recv() => sched.kick(&rule),
                Some(ev) = rx.recv() => {
                    tracing::debug!(action = %ev.action, "PingOne change notification");
                    runner.note(&outbound, &ev);
                    for r in &outbound {
                        sched.kick(r);
                    }
                }
            }
        }
    }
    if let Some((agent, id)) = subscription {
        let path = format!(
            "/environments/{}/subscriptions/{id}",
            config.pingone.environment_id
        );
        match agent
            .p1
            .raw(pingone_client::Method::DELETE, &path, None)
            .await
        {
            Ok(_) => {
                let forget = db
                    .call(|s| {
                        let m = memo::notifications(s)?;
                        match m {
                            Some(m) => memo::set_notifications(
                                s,
                                &NotificationsMemo {
                                    subscription_id: None,
                                    ..m
                                },
                            ),
                            None => Ok(()),
                        }
                    })
                    .await;
                if let Err(e) = forget {
                    tracing::warn!(error = %e, "could not record the removed subscription");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not remove the PingOne change subscription; the next start updates it");
            }
        }
    }
    let _ = server.await;
    Ok(Outcome::InStep)
}

/// The change notifications the agent subscribes to.
const ACTION_TYPES: &[&str] = &[
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

/// The name of the agent's subscription: with the agent's `public_url`, what
/// marks a subscription as this agent's own (stale ones are removed at start).
const SUBSCRIPTION_NAME: &str = "p1duo change notifications";

/// The delivery secret from the state database, generated and recorded on
/// first use (32 random bytes, hex).
async fn delivery_secret(db: &StateDb) -> Result<DeliverySecret, AgentError> {
    let fresh: [u8; 32] = rand::random();
    let fresh = fresh.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let secret = db
        .call(move |s| {
            if let Some(m) = memo::notifications(s)? {
                return Ok(m.secret);
            }
            memo::set_notifications(
                s,
                &NotificationsMemo {
                    secret: fresh.clone(),
                    subscription_id: None,
                },
            )?;
            Ok(fresh)
        })
        .await?;
    Ok(DeliverySecret(secret))
}

/// The action types PingOne refused, as named in its 400's `details`
/// (`innerError.value`, else a known type quoted in the message); empty when
/// the 400 is about something else.
fn refused_types(e: &pingone_client::Error, asked: &[&str]) -> Vec<String> {
    let Some(env) = e.envelope() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for d in &env.details {
        if d.target.as_deref() != Some("filterOptions.includedActionTypes") {
            continue;
        }
        let named = d
            .inner_error
            .as_ref()
            .and_then(|i| i.get("value"))
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        match named {
            Some(t) => out.push(t),
            None => {
                let msg = d.message.as_deref().unwrap_or_default();
                out.extend(
                    asked
                        .iter()
                        .filter(|t| msg.contains(*t))
                        .map(|t| (*t).to_owned()),
                );
            }
        }
    }
    out.retain(|t| asked.contains(&t.as_str()));
    out
}

/// The subscription body: every field PingOne requires, the secret in a header.
fn subscription_body(url: &str, secret: &DeliverySecret, types: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "name": SUBSCRIPTION_NAME,
        "enabled": true,
        "format": "ACTIVITY",
        "verifyTlsCertificates": true,
        "httpEndpoint": { "url": url, "headers": { "Authorization": secret.header_value() } },
        "filterOptions": { "includedActionTypes": types }
    })
}

/// Register (or update) this agent's PingOne subscription delivering user,
/// group, membership and nesting changes. The subscription recorded in the
/// state database is updated in place when PingOne still has it; other
/// subscriptions of this agent (same name and URL, left by a crash) are
/// removed, so restarts never add duplicates.
async fn subscribe(
    agent: &Agent,
    db: &StateDb,
    url: &str,
    secret: &DeliverySecret,
) -> Result<String, AgentError> {
    use pingone_client::Method;
    let host = url
        .split_once("://")
        .map_or("", |(_, r)| r.split(['/', ':']).next().unwrap_or(""));
    if !url.starts_with("https://") || matches!(host, "127.0.0.1" | "localhost" | "[") {
        tracing::warn!(%url, "agent.notifications.public_url is not an https URL PingOne can reach (PingOne delivers only to https, and not to loopback): fine against the simulator, not against PingOne");
    }
    let call_err = |e: pingone_client::Error| AgentError::PingOne(e.to_string());
    let base = format!(
        "/environments/{}/subscriptions",
        agent.config.pingone.environment_id
    );
    let recorded = db
        .call(|s| memo::notifications(s))
        .await?
        .and_then(|m| m.subscription_id);
    let listed = agent
        .p1
        .raw(Method::GET, &base, None)
        .await
        .map_err(call_err)?
        .unwrap_or_default();
    let existing: Vec<&serde_json::Value> = listed["_embedded"]["subscriptions"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let id_of = |s: &serde_json::Value| s["id"].as_str().unwrap_or_default().to_owned();
    let keep = recorded.filter(|r| existing.iter().any(|s| id_of(s) == *r));
    let mut types: Vec<&str> = ACTION_TYPES.to_vec();
    let v = loop {
        let body = subscription_body(url, secret, &types);
        let result = match &keep {
            Some(id) => {
                agent
                    .p1
                    .raw(Method::PUT, &format!("{base}/{id}"), Some(&body))
                    .await
            }
            None => agent.p1.raw(Method::POST, &base, Some(&body)).await,
        };
        match result {
            Err(e) if e.status() == Some(400) => {
                let refused = refused_types(&e, &types);
                if refused.is_empty() || refused.len() == types.len() {
                    return Err(call_err(e));
                }
                tracing::warn!(refused = ?refused, "PingOne refused these action types; subscribing without them (their changes wait for the periodic full cycle)");
                types.retain(|t| !refused.iter().any(|r| r == t));
            }
            other => break other.map_err(call_err)?,
        }
    };
    let updated = keep.is_some();
    let id = v
        .as_ref()
        .and_then(|v| v.get("id"))
        .and_then(|i| i.as_str())
        .map(str::to_owned)
        .or(keep)
        .unwrap_or_default();
    let (secret_text, owned) = (secret.0.clone(), id.clone());
    db.call(move |s| {
        memo::set_notifications(
            s,
            &NotificationsMemo {
                secret: secret_text,
                subscription_id: Some(owned),
            },
        )
    })
    .await?;
    for stale in existing.iter().filter(|s| {
        s["name"] == SUBSCRIPTION_NAME && s["httpEndpoint"]["url"] == url && id_of(s) != id
    }) {
        let sid = id_of(stale);
        match agent
            .p1
            .raw(Method::DELETE, &format!("{base}/{sid}"), None)
            .await
        {
            Ok(_) => {
                tracing::info!(subscription = %sid, "removed a stale subscription of this agent");
            }
            Err(e) => {
                tracing::warn!(subscription = %sid, error = %e, "could not remove a stale subscription of this agent");
            }
        }
    }
    tracing::info!(subscription = %id, %url, updated, "PingOne change notifications registered");
    Ok(id)
}

/// Tells systemd (a `Type=notify` unit) how the service is doing: one
/// datagram to `$NOTIFY_SOCKET`; nothing when not run by systemd.
fn notify_systemd(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(sock) = std::os::unix::net::UnixDatagram::unbound() else {
        return;
    };
    let path = std::path::PathBuf::from(path);
    let sent = match path.to_str().and_then(|p| p.strip_prefix('@')) {
        // An abstract socket: '@' stands for the leading NUL byte.
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
                .and_then(|a| sock.send_to_addr(state.as_bytes(), &a))
        }
        None => sock.send_to(state.as_bytes(), &path),
    };
    if let Err(e) = sent {
        tracing::warn!(error = %e, "could not notify systemd of readiness");
    }
}

#[cfg(test)]
mod tests {
    use super::{ACTION_TYPES, refused_types};

    fn err(body: serde_json::Value) -> pingone_client::Error {
        pingone_client::Error::from_response(
            "POST /subscriptions",
            400,
            None,
            body.to_string().as_bytes(),
        )
    }

    #[test]
    fn only_the_action_types_pingone_names_are_dropped_and_any_other_400_is_not_a_refusal() {
        let refused = err(serde_json::json!({
            "code": "INVALID_DATA",
            "details": [
                {"code": "INVALID_VALUE", "target": "filterOptions.includedActionTypes",
                 "message": "GROUP_NESTING.CREATED is not a known action type",
                 "innerError": {"value": "GROUP_NESTING.CREATED"}},
                {"code": "INVALID_VALUE", "target": "filterOptions.includedActionTypes",
                 "message": "Invalid value GROUP_NESTING.DELETED"}
            ]
        }));
        assert_eq!(
            refused_types(&refused, ACTION_TYPES),
            ["GROUP_NESTING.CREATED", "GROUP_NESTING.DELETED"]
        );
        // A missing field is not "the nesting types were refused".
        let missing = err(serde_json::json!({
            "code": "INVALID_DATA",
            "details": [{"code": "REQUIRED_VALUE", "target": "verifyTlsCertificates",
                         "message": "verifyTlsCertificates is required"}]
        }));
        assert!(refused_types(&missing, ACTION_TYPES).is_empty());
    }
}
