//! How the status server serves (its routes are in `server.rs`): an accept
//! loop of our own over hyper, so idle or slow sockets can neither use up
//! the descriptors the outgoing Duo and PingOne calls need nor keep real
//! requests out. A connection cap that closes the oldest idle connection
//! when full, a header timeout, an idle timeout, per-route limits (body size,
//! requests at once, time), and a back-off when accept runs out of descriptors.

use super::server::EVENTS_BODY_LIMIT;
use crate::config::ServerLimits;
use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The largest request body of a route other than `/pingone/events`
/// (none of them reads one; `/approve` takes its query).
pub const SMALL_BODY_LIMIT: usize = 64 * 1024;

/// The most a request's header may take in bytes (hyper's read buffer).
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Descriptors left to everything else: the server holds at most this
/// fraction of the open-file limit.
const SHARE_OF_DESCRIPTORS: u64 = 4;

/// Serve `router` on `listener` until `shutdown`, then let the requests in
/// flight finish (for at most `request_timeout`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: CancellationToken,
) {
    let cap = connection_cap(limits.max_connections, open_file_limit());
    if cap < limits.max_connections {
        tracing::info!(
            connections = cap,
            "the status server holds at most a quarter of the open-file limit in connections (raise LimitNOFILE for more)"
        );
    }
    let app = with_route_limits(router, &limits);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEADER_BYTES)
        .max_headers(100);
    let table = Arc::new(Conns::default());
    let tracker = TaskTracker::new();
    let mut backoff = Duration::ZERO;
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => {
                backoff = Duration::ZERO;
                a
            }
            Err(e) if per_connection(&e) => continue,
            Err(e) => {
                // Out of descriptors (EMFILE, ENFILE) or memory: give one of
                // ours back and wait instead of spinning on accept.
                if backoff.is_zero() {
                    tracing::warn!(error = %e, "the status server cannot accept connections; closing idle ones and backing off");
                }
                table.evict_oldest_idle();
                backoff = (backoff * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => continue,
                }
            }
        };
        let Some(conn) = table.admit(cap) else {
            // Every connection is in the middle of a request: refuse this one.
            drop(stream);
            continue;
        };
        tracker.spawn(connection(
            stream,
            peer,
            conn,
            builder.clone(),
            app.clone(),
            limits.idle_timeout,
            limits.request_timeout,
            shutdown.clone(),
            table.clone(),
        ));
    }
    drop(listener);
    tracker.close();
    let _ = tokio::time::timeout(limits.request_timeout, tracker.wait()).await;
}

/// The connections the server may hold: the configured cap, and at most a
/// quarter of the open-file limit (at least 8).
fn connection_cap(configured: usize, open_files: Option<u64>) -> usize {
    match open_files {
        Some(n) => {
            let share = usize::try_from((n / SHARE_OF_DESCRIPTORS).max(8)).unwrap_or(usize::MAX);
            configured.min(share)
        }
        None => configured,
    }
}

#[cfg(unix)]
fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(not(unix))]
fn open_file_limit() -> Option<u64> {
    None
}

/// An accept error about one connection only (the next accept may work).
fn per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::ConnectionRefused | K::ConnectionAborted | K::ConnectionReset
    )
}

/// One open connection, as the accept loop sees it.
struct Conn {
    id: u64,
    /// Requests being answered on it (0: idle, between or before requests).
    busy: Arc<AtomicUsize>,
    /// Cancelled to close it.
    close: CancellationToken,
}

/// The open connections, oldest first.
#[derive(Default)]
struct Conns {
    next: AtomicU64,
    open: Mutex<BTreeMap<u64, (Arc<AtomicUsize>, CancellationToken)>>,
}

impl Conns {
    /// Room for one more connection, closing the oldest idle one when full;
    /// `None` when full of connections that are all answering a request.
    fn admit(&self, cap: usize) -> Option<Conn> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.len() >= cap && !Self::evict(&mut open) {
            return None;
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let busy = Arc::new(AtomicUsize::new(0));
        let close = CancellationToken::new();
        open.insert(id, (busy.clone(), close.clone()));
        Some(Conn { id, busy, close })
    }

    fn evict_oldest_idle(&self) {
        Self::evict(&mut self.open.lock().unwrap_or_else(|p| p.into_inner()));
    }

    fn evict(open: &mut BTreeMap<u64, (Arc<AtomicUsize>, CancellationToken)>) -> bool {
        let idle = open
            .iter()
            .find(|(_, (busy, _))| busy.load(Ordering::Acquire) == 0)
            .map(|(id, _)| *id);
        match idle.and_then(|id| open.remove(&id)) {
            Some((_, close)) => {
                close.cancel();
                true
            }
            None => false,
        }
    }

    fn remove(&self, id: u64) {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }
}

/// Counts a request as being answered while it lives.
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn new(n: Arc<AtomicUsize>) -> Busy {
        n.fetch_add(1, Ordering::AcqRel);
        Busy(n)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[allow(clippy::too_many_arguments)]
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    conn: Conn,
    builder: http1::Builder,
    app: Router,
    idle: Duration,
    request_timeout: Duration,
    shutdown: CancellationToken,
    table: Arc<Conns>,
) {
    let start = Instant::now();
    let last = Arc::new(AtomicU64::new(0));
    let io = TokioIo::new(Watched {
        inner: stream,
        start,
        last: last.clone(),
    });
    let busy = conn.busy.clone();
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let guard = Busy::new(busy.clone());
        let answer = tower_service::Service::call(&mut app.clone(), req);
        async move {
            let r = answer.await;
            drop(guard);
            r
        }
    });
    let served = builder.serve_connection(io, svc);
    tokio::pin!(served);
    tokio::select! {
        _ = served.as_mut() => {}
        _ = conn.close.cancelled() => {}
        _ = idle_for(idle, start, &last, &conn.busy) => {}
        _ = shutdown.cancelled() => {
            // An idle connection closes at once; one answering finishes.
            served.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(request_timeout, served).await;
        }
    }
    table.remove(conn.id);
}

/// Resolves once no byte moved either way and no request was being answered
/// for `idle`.
async fn idle_for(idle: Duration, start: Instant, last: &AtomicU64, busy: &AtomicUsize) {
    loop {
        let at = start + Duration::from_millis(last.load(Ordering::Relaxed)) + idle;
        if busy.load(Ordering::Acquire) > 0 {
            tokio::time::sleep(idle).await;
            continue;
        }
        if Instant::now() >= at {
            return;
        }
        tokio::time::sleep_until(at).await;
    }
}

/// A socket that notes when a byte last moved (milliseconds since `start`).
struct Watched {
    inner: TcpStream,
    start: Instant,
    last: Arc<AtomicU64>,
}

impl Watched {
    fn moved(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(ms, Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.moved();
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Per route: requests answered at once, their body size and their time.
struct RouteLimits {
    max_requests: usize,
    request_timeout: Duration,
    /// One semaphore per matched route (a fixed set), and one for the rest.
    slots: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl RouteLimits {
    fn slots(&self, route: &str) -> Arc<Semaphore> {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(route.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.max_requests)))
            .clone()
    }
}

/// `router` with the per-route limits of `limits`.
pub fn with_route_limits(router: Router, limits: &ServerLimits) -> Router {
    let l = Arc::new(RouteLimits {
        max_requests: limits.max_requests,
        request_timeout: limits.request_timeout,
        slots: Mutex::new(HashMap::new()),
    });
    router.layer(axum::middleware::from_fn_with_state(l, route_limits))
}

async fn route_limits(State(l): State<Arc<RouteLimits>>, req: Request, next: Next) -> Response {
    // Unmatched paths share one set of slots, so no path can grow the map.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("(unmatched)", MatchedPath::as_str)
        .to_owned();
    let max_body = if route == "/pingone/events" {
        EVENTS_BODY_LIMIT
    } else {
        SMALL_BODY_LIMIT
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_body as u64) {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("{route} takes a body of at most {max_body} bytes\n"),
        )
            .into_response();
    }
    let Ok(_slot) = l.slots(&route).try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            format!(
                "{route} is answering {} requests already (agent.server.max_requests); retry shortly\n",
                l.max_requests
            ),
        )
            .into_response();
    };
    match tokio::time::timeout(l.request_timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the request took longer than agent.server.request_timeout\n",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server over `router` with `limits`; its address.
    async fn start(router: Router, limits: ServerLimits) -> (SocketAddr, CancellationToken) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let stop = CancellationToken::new();
        tokio::spawn(serve(l, router, limits, stop.clone()));
        (addr, stop)
    }

    /// Send `raw`, read until the server closes: the answer's status line.
    async fn exchange(addr: SocketAddr, raw: String) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(raw.as_bytes()).await.unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out).await;
        out.lines().next().unwrap_or_default().to_owned()
    }

    fn get(path: &str) -> String {
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    }

    #[tokio::test]
    async fn a_header_never_finished_is_closed_after_the_header_timeout() {
        let limits = ServerLimits {
            header_timeout: Duration::from_millis(300),
            ..ServerLimits::default()
        };
        let router = Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
        let (addr, _stop) = start(router, limits).await;
        let mut s = TcpStream::connect(addr).await.unwrap();
        let started = std::time::Instant::now();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        let mut buf = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut buf)).await;
        assert!(closed.is_ok(), "the slow connection stayed open");
        assert!(started.elapsed() >= Duration::from_millis(300));
        // A request that comes whole is still answered.
        assert_eq!(exchange(addr, get("/healthz")).await, "HTTP/1.1 200 OK");
    }

    #[tokio::test]
    async fn each_route_has_its_own_body_limit_and_request_slots_and_handlers_see_the_peer() {
        let gate = Arc::new(tokio::sync::Notify::new());
        let inside = Arc::new(AtomicUsize::new(0));
        let (g, n) = (gate.clone(), inside.clone());
        let router = Router::new()
            .route(
                "/slow",
                axum::routing::get(move || {
                    let (g, n) = (g.clone(), n.clone());
                    async move {
                        let woken = g.notified();
                        n.fetch_add(1, Ordering::SeqCst);
                        woken.await;
                        "done"
                    }
                }),
            )
            .route(
                "/peer",
                axum::routing::get(|ConnectInfo(p): ConnectInfo<SocketAddr>| async move {
                    p.ip().to_string()
                }),
            )
            .route("/pingone/events", axum::routing::post(|| async { "ok" }))
            .route("/approve", axum::routing::post(|| async { "ok" }));
        let limits = ServerLimits {
            max_requests: 2,
            ..ServerLimits::default()
        };
        let (addr, _stop) = start(router, limits).await;
        let post = |path: &str, len: usize| {
            format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
            )
        };
        assert_eq!(
            exchange(addr, post("/approve", 1 << 20)).await,
            "HTTP/1.1 413 Payload Too Large"
        );
        assert_eq!(
            exchange(addr, post("/pingone/events", 9 << 20)).await,
            "HTTP/1.1 413 Payload Too Large"
        );
        let body = "x".repeat(1 << 20);
        let events = format!("{}{body}", post("/pingone/events", body.len()));
        assert_eq!(exchange(addr, events).await, "HTTP/1.1 200 OK");
        // Two requests hold /slow's slots: a third is refused at once, other routes answer.
        let held: Vec<_> = (0..2)
            .map(|_| tokio::spawn(exchange(addr, get("/slow"))))
            .collect();
        while inside.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            exchange(addr, get("/slow")).await,
            "HTTP/1.1 503 Service Unavailable"
        );
        assert_eq!(exchange(addr, get("/peer")).await, "HTTP/1.1 200 OK");
        gate.notify_waiters();
        for h in held {
            assert_eq!(h.await.unwrap(), "HTTP/1.1 200 OK");
        }
    }

    #[test]
    fn the_server_keeps_three_quarters_of_the_descriptors_for_everything_else() {
        assert_eq!(connection_cap(256, None), 256);
        assert_eq!(connection_cap(256, Some(1024)), 256);
        assert_eq!(connection_cap(256, Some(512)), 128);
        assert_eq!(connection_cap(256, Some(20)), 8);
        assert_eq!(connection_cap(10, Some(1_000_000)), 10);
    }

    #[test]
    fn a_full_table_closes_its_oldest_idle_connection_and_never_a_busy_one() {
        let t = Conns::default();
        let a = t.admit(2).unwrap();
        let b = t.admit(2).unwrap();
        a.busy.fetch_add(1, Ordering::AcqRel);
        // Full: b, the oldest idle one, makes room; a is answering a request.
        let c = t.admit(2).unwrap();
        assert!(b.close.is_cancelled() && !a.close.is_cancelled());
        c.busy.fetch_add(1, Ordering::AcqRel);
        // Full of busy connections: the newcomer is refused.
        assert!(t.admit(2).is_none());
        assert!(!a.close.is_cancelled() && !c.close.is_cancelled());
    }
}
