//! `p1duo run`: the long-running agent. Every rule on its interval (one cycle
//! per rule at a time), PingOne change notifications triggering a fast cycle,
//! the status server, config reload on SIGHUP and graceful shutdown on
//! SIGINT/SIGTERM that lets the writes in flight finish.

mod notifications;
mod page;
mod page_fmt;
mod scheduler;
mod serve;
mod server;
mod subscription;

use subscription::{delivery_secret, subscribe};

pub(crate) use notifications::{ChangeEvent, Changes};

use crate::config::{Config, Direction};
use crate::cycle::state::{self as memo, NotificationsMemo};
use crate::cycle::{Agent, CycleOptions, RuleRef};
use crate::metrics::Metrics;
use crate::state::StateDb;
use crate::{AgentError, Outcome};
use scheduler::{CycleRunner, CycleTrigger, Scheduler, Timing};
use server::Shared;
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
            CycleTrigger::Schedule => state_store::Trigger::Schedule,
            CycleTrigger::Notification => state_store::Trigger::Notification,
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
                    // A few names say where to look (escaped in text logs).
                    let failed: Vec<String> = rep
                        .problems
                        .iter()
                        .take(5)
                        .map(|(kind, name, _, _)| format!("{kind} {name}"))
                        .collect();
                    tracing::warn!(
                        rule,
                        trigger = trigger.as_str(),
                        outcome = rep.outcome.as_str(),
                        ops = rep.ops,
                        users_failed = s.users_failed,
                        groups_failed = s.groups_failed,
                        failed = %failed.join(", "),
                        "cycle finished with failed objects; see `p1duo status`"
                    );
                } else {
                    tracing::info!(
                        rule,
                        trigger = trigger.as_str(),
                        outcome = rep.outcome.as_str(),
                        ops = rep.ops,
                        users_impacted = s.users_impacted,
                        "cycle finished"
                    );
                }
                for b in &rep.blocked {
                    tracing::warn!(rule, outcome = rep.outcome.as_str(), reason = %b, plan = %rep.plan_hash, "cycle blocked by a safety limit; review `p1duo plan --rule {rule}`, then `p1duo approve --rule {rule} {}` if intended", rep.plan_hash);
                }
            }
            Err(e) => tracing::error!(
                rule,
                outcome = Outcome::Failing.as_str(),
                error = %e,
                "cycle failed"
            ),
        }
        let mut p = self.pending_first.lock().unwrap_or_else(|p| p.into_inner());
        p.remove(rule);
        if p.is_empty() {
            self.shared.ready.store(true, Ordering::Release);
        }
        ran
    }

    fn next_run(&self, rule: &str, wait: std::time::Duration, failures: u32) {
        let at =
            state_store::now_millis() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
        self.shared.metrics.next_run(rule, at, failures);
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
        agent: RwLock::new(None),
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
    let server = tokio::spawn(serve::serve(
        listener,
        server::router(shared.clone()),
        config.agent.server.clone(),
        shutdown.clone(),
    ));
    let mut reload = Reload::new();
    let mut subscription: Option<(Arc<Agent>, String)> = None;
    'outer: loop {
        let agent = Arc::new(Agent::new(
            config.clone(),
            Some(db.clone()),
            metrics.clone(),
        )?);
        *shared.agent.write().unwrap_or_else(|p| p.into_inner()) = Some(agent.clone());
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
