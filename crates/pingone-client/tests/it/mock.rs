//! A scripted PingOne stand-in (axum on 127.0.0.1) for retry and secret tests: the token
//! endpoint always succeeds; API calls get the next scripted reply and are logged.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use pingone_client::{ClientConfig, RetryPolicy, SecretString};
use tokio::time::Instant;

pub const ENV: &str = "env-mock";
pub const CLIENT_SECRET: &str = "mock-client-secret-Zq9";
pub const ACCESS_TOKEN: &str = "mock-access-token-Xy7";

/// One scripted answer.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.to_string(),
        }
    }
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// One request the mock saw.
pub struct Seen {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
}

#[derive(Clone, Default)]
struct Inner {
    script: Arc<Mutex<VecDeque<Reply>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    tokens: Arc<Mutex<u32>>,
}

pub struct Mock {
    pub addr: SocketAddr,
    inner: Inner,
}

impl Mock {
    pub async fn start(script: Vec<Reply>) -> Mock {
        let inner = Inner::default();
        inner.script.lock().unwrap().extend(script);
        let app = Router::new()
            .route(&format!("/{ENV}/as/token"), axum::routing::post(token))
            .fallback(api)
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Mock { addr, inner }
    }

    /// A client config for this mock; retries without jitter unless changed.
    pub fn config(&self) -> ClientConfig {
        let mut cfg = ClientConfig::new(ENV, "mock-client", SecretString::from(CLIENT_SECRET));
        cfg.api_base = Some(format!("http://{}/v1", self.addr));
        cfg.auth_base = Some(format!("http://{}", self.addr));
        cfg.request_timeout = std::time::Duration::from_secs(24 * 3600);
        cfg.connect_timeout = std::time::Duration::from_secs(24 * 3600);
        cfg.retry = RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        };
        cfg
    }

    pub fn seen(&self) -> std::sync::MutexGuard<'_, Vec<Seen>> {
        self.inner.seen.lock().unwrap()
    }

    pub fn token_requests(&self) -> u32 {
        *self.inner.tokens.lock().unwrap()
    }
}

async fn token(State(s): State<Inner>) -> impl IntoResponse {
    *s.tokens.lock().unwrap() += 1;
    axum::Json(
        serde_json::json!({"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600}),
    )
}

async fn api(State(s): State<Inner>, req: Request) -> Response {
    s.seen.lock().unwrap().push(Seen {
        at: Instant::now(),
        method: req.method().to_string(),
        path: req.uri().path().to_owned(),
        headers: req.headers().clone(),
    });
    let reply = s.script.lock().unwrap().pop_front();
    let Some(reply) = reply else {
        return (StatusCode::OK, axum::Json(serde_json::json!({}))).into_response();
    };
    let mut res = (
        StatusCode::from_u16(reply.status).unwrap(),
        Bytes::from(reply.body),
    )
        .into_response();
    res.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    for (k, v) in reply.headers {
        res.headers_mut().insert(k, v.parse().unwrap());
    }
    res
}
