//! The agent's local HTTP server: `/healthz`, `/readyz`, `/metrics`, `/status`,
//! and, when notifications are configured, `/pingone/events`, where PingOne
//! delivers change notifications with the agent's secret in a header.

use super::ChangeEvent;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::state::StateDb;
use crate::status::StatusReport;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::mpsc;

/// What the server reads; shared with the scheduler.
pub struct Shared {
    pub config: RwLock<Arc<Config>>,
    pub db: StateDb,
    pub metrics: Arc<Metrics>,
    /// Set once every enabled rule finished its first cycle.
    pub ready: AtomicBool,
    pub events: mpsc::Sender<ChangeEvent>,
    /// The secret PingOne sends in every delivery's `Authorization` header;
    /// `None` when notifications are off (then `/pingone/events` is not served).
    pub delivery_secret: Option<DeliverySecret>,
    /// Rules whose blocked plan was just approved: run them now.
    pub approved: mpsc::Sender<String>,
    /// The agent running the rules (replaced on reload), for `sync --user`.
    pub agent: RwLock<Option<Arc<crate::cycle::Agent>>>,
}

/// The per-instance delivery secret (never in Debug output or logs).
#[derive(Clone)]
pub struct DeliverySecret(pub String);

impl std::fmt::Debug for DeliverySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeliverySecret([redacted])")
    }
}

impl DeliverySecret {
    /// The header value PingOne is asked to send.
    pub fn header_value(&self) -> String {
        format!("Bearer {}", self.0)
    }

    /// Whether `Authorization` carries this secret, compared in constant time.
    fn admits(&self, headers: &HeaderMap) -> bool {
        let given = headers
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        constant_time_eq(given, self.header_value().as_bytes())
    }
}

/// Byte equality whose time depends only on the lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// The largest delivery accepted: PingOne's payloads reach 4 MiB
/// (`KB_PER_PAYLOAD` up to 4096), and a 413 would stall every later event.
pub const EVENTS_BODY_LIMIT: usize = 8 * 1024 * 1024;

impl Shared {
    /// The current configuration.
    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The router.
pub fn router(shared: Arc<Shared>) -> Router {
    let mut r = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/status", get(status_page))
        .route("/status.json", get(status_json))
        .route("/approve", post(approve))
        .route("/sync-user", post(sync_user));
    if shared.delivery_secret.is_some() {
        r = r.route(
            "/pingone/events",
            post(events).layer(DefaultBodyLimit::max(EVENTS_BODY_LIMIT)),
        );
    }
    r.with_state(shared)
}

async fn readyz(State(s): State<Arc<Shared>>) -> Response {
    if s.ready.load(Ordering::Acquire) {
        // Up is not ready: an agent whose every rule fails (a wrong key, a
        // service down) is not doing its job.
        match StatusReport::every_rule_failing(&s.config(), &s.db).await {
            Ok(true) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the last cycle of every rule failed; see /status\n",
            )
                .into_response(),
            _ => (StatusCode::OK, "ready\n").into_response(),
        }
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the first cycle of every rule has not finished\n",
        )
            .into_response()
    }
}

#[derive(serde::Deserialize)]
struct Approval {
    rule: String,
    hash: String,
}

/// `p1duo approve` while the agent runs: only from this machine.
async fn approve(
    State(s): State<Arc<Shared>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    axum::extract::Query(a): axum::extract::Query<Approval>,
) -> Response {
    if !peer.ip().is_loopback() {
        return (
            StatusCode::FORBIDDEN,
            "approvals are taken from this machine only\n",
        )
            .into_response();
    }
    if !s.config().rules.iter().any(|r| r.name == a.rule) {
        return (
            StatusCode::BAD_REQUEST,
            format!("rule {:?} is not in the configuration\n", a.rule),
        )
            .into_response();
    }
    let (rule, hash) = (a.rule.clone(), a.hash.clone());
    match s
        .db
        .call(move |st| crate::cycle::state::approve(st, &rule, &hash))
        .await
    {
        Ok(Ok(())) => {
            let _ = s.approved.try_send(a.rule.clone());
            (
                StatusCode::OK,
                format!("approved plan {} of rule {:?}: the agent runs the rule now and carries it out if its plan is still exactly this one\n", a.hash, a.rule),
            )
                .into_response()
        }
        Ok(Err(why)) => (StatusCode::CONFLICT, format!("{why}\n")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

/// `p1duo sync --user` while the agent runs: only from this machine; runs
/// between the agent's cycles (they share its one-at-a-time lock).
async fn sync_user(
    State(s): State<Arc<Shared>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    axum::Json(req): axum::Json<crate::commands::sync_user::SyncUserRequest>,
) -> Response {
    if !peer.ip().is_loopback() {
        return (
            StatusCode::FORBIDDEN,
            "sync --user is taken from this machine only\n",
        )
            .into_response();
    }
    let agent = s.agent.read().unwrap_or_else(|p| p.into_inner()).clone();
    let Some(agent) = agent else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the agent is starting; try again\n",
        )
            .into_response();
    };
    match crate::commands::sync_user::run_with_agent(
        &agent,
        req.rule.as_deref(),
        &req.users,
        req.allow_deletes,
    )
    .await
    {
        Ok(reps) => axum::Json(reps).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    }
}

async fn metrics(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Ok(report) = StatusReport::read(&s.config(), Some(&s.db)).await {
        for (rule, status, n) in report.per_status() {
            s.metrics
                .objects(&rule, &status, i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let (content_type, body) = s.metrics.encode_for(accept);
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

#[derive(serde::Deserialize)]
struct PageQuery {
    /// The rule whose objects not in step are paged.
    rule: Option<String>,
    /// The first of them to list.
    #[serde(default)]
    from: u32,
}

async fn status_page(
    State(s): State<Arc<Shared>>,
    axum::extract::Query(q): axum::extract::Query<PageQuery>,
) -> Response {
    let config = s.config();
    let listing = crate::status::Listing {
        rule: q.rule,
        from: q.from,
        count: super::page::PAGE_ROWS,
        others: super::page::PAGE_ROWS,
    };
    match StatusReport::read_listing(&config, Some(&s.db), &listing).await {
        Ok(r) => {
            let live = s.metrics.live();
            let page = super::page::Page::new(&r, &live, &config, state_store::now_millis());
            Html(page.render()).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn status_json(State(s): State<Arc<Shared>>) -> Response {
    match StatusReport::read(&s.config(), Some(&s.db)).await {
        Ok(r) => axum::Json(r).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn events(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = &s.delivery_secret else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !secret.admits(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            "a PingOne delivery carries the agent's secret in Authorization\n",
        )
            .into_response();
    }
    // Always 200 once authenticated: PingOne retries a delivery until it gets
    // a 200 and holds every later event meanwhile.
    let (events, unparsed) = super::notifications::parse_delivery(&body);
    for _ in 0..unparsed {
        s.metrics.notification("unparsed");
    }
    if unparsed > 0 {
        tracing::warn!(
            unparsed,
            "dropped unreadable items of a PingOne delivery (the next full cycle covers them)"
        );
    }
    for e in events {
        s.metrics.notification(&e.action);
        // A full queue only means a sync is already due: dropping is safe.
        let _ = s.events.try_send(e);
    }
    StatusCode::OK.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn http(
        addr: std::net::SocketAddr,
        method: &str,
        path: &str,
        body: &str,
    ) -> (u16, String) {
        http_auth(addr, method, path, body, None).await
    }

    async fn http_auth(
        addr: std::net::SocketAddr,
        method: &str,
        path: &str,
        body: &str,
        auth: Option<&str>,
    ) -> (u16, String) {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let auth = auth
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        let code = out
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (code, out)
    }

    #[test]
    fn a_pingone_activity_event_names_its_action_and_resources() {
        let v = serde_json::json!({
            "action": { "type": "GROUP_MEMBERSHIP.CREATED" },
            "resources": [ { "type": "USER", "id": "u1", "name": "alice" }, { "type": "GROUP", "id": "g1" } ]
        });
        let e = ChangeEvent::parse(&v).unwrap();
        assert_eq!(e.action, "GROUP_MEMBERSHIP.CREATED");
        assert_eq!(
            e.resources,
            vec![("USER".into(), "u1".into()), ("GROUP".into(), "g1".into())]
        );
        assert!(ChangeEvent::parse(&serde_json::json!({ "hello": 1 })).is_none());
    }

    #[tokio::test]
    async fn readyz_waits_for_the_first_cycles_and_events_reach_the_scheduler() {
        let dir = tempfile::tempdir().unwrap();
        let text = crate::config::EXAMPLE;
        let env = |n: &str| n.starts_with("P1DUO_").then(|| "s3cr3t".to_owned());
        let config = Config::from_str_at(text, &dir.path().join("p1duo.toml"), &env).unwrap();
        let db = StateDb::from_store(state_store::Store::open_in_memory().unwrap());
        let (tx, mut rx) = mpsc::channel(8);
        let shared = Arc::new(Shared {
            config: RwLock::new(Arc::new(config)),
            db,
            metrics: Arc::new(Metrics::new()),
            ready: AtomicBool::new(false),
            events: tx,
            delivery_secret: Some(DeliverySecret("s3cr3t-delivery".into())),
            approved: mpsc::channel(1).0,
            agent: RwLock::new(None),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app =
            router(shared.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(axum::serve(listener, app).into_future());
        assert_eq!(http(addr, "GET", "/healthz", "").await.0, 200);
        assert_eq!(http(addr, "GET", "/readyz", "").await.0, 503);
        shared.ready.store(true, Ordering::Release);
        assert_eq!(http(addr, "GET", "/readyz", "").await.0, 200);
        let (code, body) = http(addr, "GET", "/status", "").await;
        assert_eq!(code, 200);
        assert!(
            body.contains(r#"id="rule-workforce-to-duo" data-state="never run""#)
                && body.contains(r#"id="rule-duo-to-pingone""#)
                && body.contains("<h1>Waiting for the first cycle</h1>"),
            "{body}"
        );
        let ev = r#"{"action":{"type":"USER.UPDATED"},"resources":[{"type":"USER","id":"u9"}]}"#;
        let auth = Some("Bearer s3cr3t-delivery");
        let post = |body: String, auth: Option<&'static str>| async move {
            http_auth(addr, "POST", "/pingone/events", &body, auth)
                .await
                .0
        };
        assert_eq!(post(ev.into(), auth).await, 200);
        assert_eq!(
            rx.recv().await.unwrap().resources,
            vec![("USER".into(), "u9".into())]
        );
        // Whatever PingOne sends is answered 200, or PingOne stalls every later event.
        assert_eq!(post("not json".into(), auth).await, 200);
        assert_eq!(post(format!("[{ev},{ev}]"), auth).await, 200);
        rx.recv().await.unwrap();
        rx.recv().await.unwrap();
        let m = http(addr, "GET", "/metrics", "").await.1;
        assert!(
            m.contains(r#"p1duo_notifications_total{type="USER.UPDATED"} 3"#)
                && m.contains(r#"p1duo_notifications_total{type="unparsed"} 1"#),
            "{m}"
        );
    }

    #[tokio::test]
    async fn deliveries_need_the_secret_and_may_be_larger_than_four_mib() {
        let (tx, mut rx) = mpsc::channel(8);
        let shared = |secret: Option<DeliverySecret>, tx| {
            let dir = tempfile::tempdir().unwrap();
            let env = |n: &str| n.starts_with("P1DUO_").then(|| "s3cr3t".to_owned());
            let config =
                Config::from_str_at(crate::config::EXAMPLE, &dir.path().join("p1duo.toml"), &env)
                    .unwrap();
            Arc::new(Shared {
                config: RwLock::new(Arc::new(config)),
                db: StateDb::from_store(state_store::Store::open_in_memory().unwrap()),
                metrics: Arc::new(Metrics::new()),
                ready: AtomicBool::new(true),
                events: tx,
                delivery_secret: secret,
                approved: mpsc::channel(1).0,
                agent: RwLock::new(None),
            })
        };
        let serve = |sh| async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            tokio::spawn(axum::serve(l, router(sh)).into_future());
            addr
        };
        let addr = serve(shared(Some(DeliverySecret("right".into())), tx.clone())).await;
        let ev = r#"{"action":{"type":"USER.UPDATED"},"resources":[{"type":"USER","id":"u9"}]}"#;
        let p = |auth| http_auth(addr, "POST", "/pingone/events", ev, auth);
        assert_eq!(p(None).await.0, 401);
        assert_eq!(p(Some("Bearer wrong")).await.0, 401);
        assert_eq!(p(Some("Bearer righ")).await.0, 401);
        assert_eq!(p(Some("Bearer right")).await.0, 200);
        rx.recv().await.unwrap();
        // 4.5 MiB of events in one JSON array.
        let big = format!("[{}]", vec![ev; 4_700_000 / ev.len()].join(","));
        assert!(big.len() > 4 * 1024 * 1024);
        let (code, _) =
            http_auth(addr, "POST", "/pingone/events", &big, Some("Bearer right")).await;
        assert_eq!(code, 200);
        // Without notifications configured the route is not served.
        let off = serve(shared(None, tx)).await;
        assert_eq!(http(off, "POST", "/pingone/events", ev).await.0, 404);
    }
}
