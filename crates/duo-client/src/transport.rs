//! The HTTP transport behind the client: `reqwest` in production, anything
//! implementing [`Transport`] in tests (scripted answers under paused time).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use reqwest::Method;

use crate::error::{DuoError, TransportFailure};

/// One signed HTTP request, ready to send.
#[derive(Clone)]
pub struct HttpRequest {
    /// HTTP method.
    pub method: Method,
    /// Absolute URL (query included).
    pub url: String,
    /// Headers (`Authorization`, `Date`, `Content-Type`).
    pub headers: Vec<(&'static str, String)>,
    /// Body bytes (the exact bytes that were hashed and signed).
    pub body: Option<Vec<u8>>,
}

impl HttpRequest {
    /// A header's value, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for HttpRequest {
    // The Authorization value is a replayable credential: never print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    *n,
                    if n.eq_ignore_ascii_case("authorization") {
                        "[REDACTED]"
                    } else {
                        v.as_str()
                    },
                )
            })
            .collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body_len", &self.body.as_ref().map(Vec::len))
            .finish()
    }
}

/// An HTTP answer.
#[derive(Clone, Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// `Retry-After`, if sent.
    pub retry_after: Option<String>,
    /// Body bytes.
    pub body: Vec<u8>,
    /// The response's `Date` header, if sent (lets callers measure clock skew).
    pub date: Option<String>,
}

/// No HTTP answer: what happened and a description.
#[derive(Clone, Debug)]
pub struct TransportError {
    /// Whether the request may have reached the server.
    pub kind: TransportFailure,
    /// Human-readable detail (no secrets: never includes headers).
    pub detail: String,
}

/// A boxed future, so [`Transport`] stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Sends one request and returns the answer. Implement it to script Duo in
/// tests; [`ReqwestTransport`] is the real one.
pub trait Transport: Send + Sync + 'static {
    /// Sends `request` once.
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>>;
}

/// The production transport.
#[derive(Clone, Debug)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// Builds a `reqwest` client with the timeouts, user agent and extra CA
    /// bundle given.
    pub fn new(
        connect_timeout: Duration,
        request_timeout: Duration,
        user_agent: &str,
        extra_ca_pem: Option<&std::path::Path>,
    ) -> Result<Self, DuoError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(request_timeout)
            .user_agent(user_agent)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(path) = extra_ca_pem {
            let pem = std::fs::read(path).map_err(|e| DuoError::Config {
                field: "extra_ca_pem",
                reason: format!(
                    "cannot read {}: {e}; give a readable PEM file",
                    path.display()
                ),
            })?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| DuoError::Config {
                    field: "extra_ca_pem",
                    reason: format!("{} is not a PEM certificate bundle: {e}", path.display()),
                })?;
            if certs.is_empty() {
                return Err(DuoError::Config {
                    field: "extra_ca_pem",
                    reason: format!("{} holds no certificate", path.display()),
                });
            }
            builder = builder.tls_certs_merge(certs);
        }
        let client = builder.build().map_err(|e| DuoError::Config {
            field: "extra_ca_pem",
            reason: format!("the HTTP client could not be built: {e}"),
        })?;
        Ok(Self { client })
    }
}

impl Transport for ReqwestTransport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        Box::pin(async move {
            let mut builder = self.client.request(request.method, &request.url);
            for (name, value) in request.headers {
                let mut v =
                    reqwest::header::HeaderValue::from_str(&value).map_err(|e| TransportError {
                        kind: TransportFailure::Connect,
                        detail: format!("header {name} is not valid: {e}"),
                    })?;
                if name.eq_ignore_ascii_case("authorization") {
                    v.set_sensitive(true);
                }
                builder = builder.header(name, v);
            }
            if let Some(body) = request.body {
                builder = builder.body(body);
            }
            let response = builder.send().await.map_err(map_reqwest)?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let date = response
                .headers()
                .get(reqwest::header::DATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = response.bytes().await.map_err(map_reqwest)?.to_vec();
            Ok(HttpResponse {
                status,
                retry_after,
                body,
                date,
            })
        })
    }
}

fn map_reqwest(e: reqwest::Error) -> TransportError {
    // A connect error (timeout included) means nothing was sent.
    let kind = if e.is_connect() {
        TransportFailure::Connect
    } else if e.is_timeout() {
        TransportFailure::Timeout
    } else {
        TransportFailure::Broken
    };
    let e = e.without_url();
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    TransportError { kind, detail }
}
