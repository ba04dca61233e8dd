//! The shared server state, the router, and the middleware every request
//! passes: statistics, latency, rate limit, faults, `correlation-id`, and the
//! bearer-token check of the API routes. The fault stream, the counters and
//! the connection killing are sim-kit's; how a fault reads is PingOne's, here.

use crate::directory::Directory;
use crate::error::SimError;
use crate::notify::Notifier;
use crate::ratelimit::RateLimiter;
use crate::{SimConfig, api, control, token};
use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use sim_kit::{Conn, FaultAction, Instruments};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::time::Instant;

pub(crate) struct Shared {
    pub cfg: SimConfig,
    pub dir: Mutex<Directory>,
    pub tokens: Mutex<HashMap<String, Instant>>,
    pub token_requests: AtomicU64,
    pub instruments: Instruments,
    pub limiter: Mutex<Option<RateLimiter>>,
    pub notifier: Arc<Notifier>,
    pub forbidden: AtomicBool,
}

impl Shared {
    pub fn dir(&self) -> MutexGuard<'_, Directory> {
        self.dir.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs a change on the directory, then hands its events to the notifier.
    pub fn mutate<R>(&self, f: impl FnOnce(&mut Directory) -> R) -> R {
        let (r, events) = {
            let mut d = self.dir();
            let r = f(&mut d);
            (r, std::mem::take(&mut d.pending))
        };
        self.notifier.publish(events);
        r
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let api = api::routes().layer(from_fn_with_state(shared.clone(), authorize));
    let app = api
        .merge(token::routes())
        .fallback(|| async {
            SimError::new(404, "NOT_FOUND", "The requested resource was not found.")
        })
        .method_not_allowed_fallback(|| async {
            SimError::new(
                405,
                "METHOD_NOT_ALLOWED",
                "The method is not allowed on this resource.",
            )
        })
        .layer(from_fn_with_state(shared.clone(), traffic));
    let app = if shared.cfg.control {
        app.merge(control::routes())
    } else {
        app
    };
    app.with_state(shared)
}

/// Statistics, latency, rate limit and faults, for every non-control route.
async fn traffic(State(s): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let route = format!(
        "{} {}",
        req.method(),
        req.extensions()
            .get::<MatchedPath>()
            .map_or("(unmatched)", MatchedPath::as_str)
    );
    s.instruments.count_request(&route);
    let conn = req
        .extensions()
        .get::<ConnectInfo<Conn>>()
        .map(|c| c.0.clone());
    let decision = s.instruments.decide();
    decision.delay().await;
    let limited = s
        .limiter
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_mut()
        .map_or(Ok(()), RateLimiter::check);
    let mut res = match (limited, decision.action) {
        (Err(secs), _) => SimError::limited(Some(secs)).into_response(),
        (Ok(()), FaultAction::Pass) => next.run(req).await,
        (Ok(()), FaultAction::TooMany { retry_after }) => {
            SimError::limited(retry_after).into_response()
        }
        (Ok(()), FaultAction::ServerError) => SimError::new(
            500,
            "UNEXPECTED_ERROR",
            "An unexpected error occurred (simulated fault).",
        )
        .into_response(),
        (Ok(()), FaultAction::Unavailable { retry_after }) => {
            let mut e = SimError::new(
                503,
                "SERVICE_UNAVAILABLE",
                "The service is temporarily unavailable (simulated fault).",
            );
            e.retry_after = retry_after;
            e.into_response()
        }
        (Ok(()), FaultAction::DropBefore) if conn.is_some() => {
            conn.iter().for_each(Conn::kill);
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        (Ok(()), FaultAction::DropAfter) if conn.is_some() => {
            let _ = next.run(req).await;
            conn.iter().for_each(Conn::kill);
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        (Ok(()), FaultAction::DropBefore | FaultAction::DropAfter) => next.run(req).await,
    };
    if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        res.headers_mut().insert("correlation-id", v);
    }
    s.instruments.count_status(res.status().as_str());
    res
}

/// The bearer-token and environment check of `/v1/...`.
async fn authorize(State(s): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(token) = token else {
        return SimError::invalid_token("The request is missing a bearer access token.")
            .into_response();
    };
    let expiry = s
        .tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(token)
        .copied();
    match expiry {
        None => return SimError::invalid_token("The access token is not valid.").into_response(),
        Some(t) if Instant::now() >= t => {
            return SimError::invalid_token("The access token has expired.").into_response();
        }
        Some(_) => {}
    }
    let env = req.uri().path().split('/').nth(3).unwrap_or("");
    if env != s.cfg.env_id {
        return SimError::forbidden(&format!("The token is not valid for environment {env}."))
            .into_response();
    }
    if s.forbidden.load(Ordering::Relaxed) {
        return SimError::forbidden("The worker application lacks the Identity Data Admin role.")
            .into_response();
    }
    next.run(req).await
}

/// Parses a JSON request body into a PingOne error when it is not JSON.
pub(crate) fn json_body(headers: &axum::http::HeaderMap, body: &[u8]) -> Result<Value, SimError> {
    if let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        && !ct.contains("json")
    {
        return Err(SimError::new(
            415,
            "INVALID_REQUEST",
            format!("Content-Type {ct} is not supported; send application/json."),
        ));
    }
    if body.is_empty() {
        return Err(SimError::bad_request("The request body is missing."));
    }
    serde_json::from_slice(body)
        .map_err(|e| SimError::bad_request(format!("The request body is not valid JSON: {e}.")))
}
