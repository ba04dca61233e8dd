//! The client: one `reqwest::Client`, the token source, the request pacer, and the request
//! loop (bearer token, transaction id, retries, 401 renewal, error mapping, tracing).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, Url};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use tracing::{Instrument, debug, info_span, warn};

use crate::config::{ClientConfig, ConfigError, join};
use crate::error::{Error, Result};
use crate::retry::{RetryPolicy, is_retryable_status, parse_retry_after};
use crate::token::{TokenSource, transport_text};

/// The header carrying our correlation id (the sync run id).
pub const TRANSACTION_ID_HEADER: &str = "X-Ping-External-Transaction-ID";

/// Told of every request the client sends and every wait it makes, for the
/// caller's metrics (the client keeps no registry of its own).
pub trait CallObserver: Send + Sync + std::fmt::Debug {
    /// A request goes out now (retries count too), after `paced` spent
    /// waiting under `requests_per_second` (zero: no wait).
    fn sending(&self, paced: Duration);
    /// PingOne answered 429; `retry_in` is the wait before the next attempt
    /// (`None`: no attempt is left and the call fails).
    fn throttled(&self, retry_in: Option<Duration>);
}

/// A PingOne Platform API client for one environment. Cheap to clone; clones share the
/// connection pool, the token cache and the request pacer.
#[derive(Clone)]
pub struct PingOneClient {
    shared: Arc<Shared>,
    transaction_id: Option<HeaderValue>,
}

impl std::fmt::Debug for PingOneClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PingOneClient")
            .field("api_base", &self.shared.api_base.as_str())
            .field("environment_id", &self.shared.environment_id)
            .field("transaction_id", &self.transaction_id)
            .finish_non_exhaustive()
    }
}

struct Shared {
    http: reqwest::Client,
    api_base: Url,
    environment_id: String,
    tokens: TokenSource,
    limiter: Option<DefaultDirectRateLimiter>,
    retry: RetryPolicy,
    /// 429 answers seen (retried or not), for the caller's metrics.
    throttled: std::sync::atomic::AtomicU64,
    observer: Option<Arc<dyn CallObserver>>,
}

/// Whether a request may be sent again when its outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// GET, PUT, PATCH with the same body, DELETE: sending twice does no harm.
    Safe,
    /// A create: sent again only when PingOne certainly did not act (429, 401, refused connection).
    Unsafe,
}

pub(crate) struct Request {
    pub method: Method,
    pub url: Url,
    pub body: Option<Vec<u8>>,
    pub object: String,
    pub replay: Replay,
}

pub(crate) struct Response {
    pub body: Bytes,
}

impl PingOneClient {
    /// Builds a client; validates the configuration first. Sends nothing.
    pub fn new(config: ClientConfig) -> Result<Self> {
        config.validate()?;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(concat!("p1duo-pingone-client/", env!("CARGO_PKG_VERSION")))
            // Redirects could carry the bearer token elsewhere; PingOne does not redirect API calls.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = &config.extra_ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                ConfigError::InvalidCaBundle {
                    reason: e.to_string(),
                }
            })?;
            if certs.is_empty() {
                return Err(ConfigError::InvalidCaBundle {
                    reason: "it holds no certificate".into(),
                }
                .into());
            }
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder.build().map_err(|e| ConfigError::InvalidCaBundle {
            reason: format!("the HTTP client could not be built: {e}"),
        })?;
        let tokens = TokenSource::new(
            http.clone(),
            config.token_url()?,
            config.client_id.clone(),
            config.client_secret.clone(),
            config.token_auth_method,
            config.token_renew_before,
            config.retry.clone(),
        );
        let limiter = config
            .requests_per_second
            .map(|rps| RateLimiter::direct(Quota::per_second(rps).allow_burst(NonZeroU32::MIN)));
        let transaction_id = config
            .transaction_id
            .as_deref()
            .map(sanitize_transaction_id);
        Ok(Self {
            shared: Arc::new(Shared {
                http,
                api_base: config.resolved_api_base()?,
                environment_id: config.environment_id.trim().to_owned(),
                tokens,
                limiter,
                retry: config.retry,
                throttled: std::sync::atomic::AtomicU64::new(0),
                observer: config.observer,
            }),
            transaction_id,
        })
    }

    /// A client sending `id` as `X-Ping-External-Transaction-ID` (at most 100 characters;
    /// others than Unicode letters, combining marks, digits and `. _ - / @ = # +` become
    /// `_`, as PingOne documents).
    pub fn with_transaction_id(&self, id: &str) -> Self {
        Self {
            shared: self.shared.clone(),
            transaction_id: Some(sanitize_transaction_id(id)),
        }
    }

    /// The environment this client works in.
    pub fn environment_id(&self) -> &str {
        &self.shared.environment_id
    }

    /// The API base, e.g. `https://api.pingone.com/v1`.
    pub fn api_base(&self) -> &Url {
        &self.shared.api_base
    }

    /// The configured retry schedule.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.shared.retry
    }

    /// 429 answers this client (and its clones) has received, retried ones included.
    pub fn throttled_responses(&self) -> u64 {
        self.shared
            .throttled
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Token requests this client (and its clones) has sent.
    pub fn token_requests(&self) -> u64 {
        self.shared.tokens.fetches()
    }

    /// `{api}/environments/{env}/{rest}`.
    pub(crate) fn env_url(&self, rest: &str) -> Url {
        let path = format!("environments/{}/{}", self.shared.environment_id, rest);
        join(&self.shared.api_base, &path).unwrap_or_else(|| self.shared.api_base.clone())
    }

    /// Resolves a path relative to the API base (`/environments/...`), or a full URL under it.
    pub(crate) fn api_url(&self, path: &str) -> Result<Url> {
        if path.starts_with("http://") || path.starts_with("https://") {
            return self.checked_link(path);
        }
        join(&self.shared.api_base, path).ok_or_else(|| Error::Decode {
            object: format!("path `{path}`"),
            message: "it does not form a URL under the API base".into(),
        })
    }

    /// A `_links` URL, accepted only under the API base so the token stays on the API host.
    pub(crate) fn checked_link(&self, href: &str) -> Result<Url> {
        let base = &self.shared.api_base;
        let foreign = || Error::ForeignLink {
            href: href.to_owned(),
            api_base: base.to_string(),
        };
        let url = Url::parse(href).map_err(|_| foreign())?;
        let base_path = base.path().trim_end_matches('/');
        let under = url.scheme() == base.scheme()
            && url.host_str() == base.host_str()
            && url.port_or_known_default() == base.port_or_known_default()
            && (url.path() == base_path || url.path().starts_with(&format!("{base_path}/")));
        if under { Ok(url) } else { Err(foreign()) }
    }

    /// Sends a request and decodes the JSON answer.
    pub(crate) async fn send_json<T: DeserializeOwned>(&self, req: Request) -> Result<T> {
        let object = req.object.clone();
        let resp = self.send(req).await?;
        decode(&object, &resp.body)
    }

    /// Sends a request with retries and token renewal; `Ok` only for 2xx.
    pub(crate) async fn send(&self, req: Request) -> Result<Response> {
        let s = &self.shared;
        let max = s.retry.max_attempts.max(1);
        let mut attempt = 0u32;
        let mut renewed = false;
        // Set once an attempt may have reached PingOne without us seeing the answer.
        let mut uncertain = false;
        loop {
            attempt += 1;
            let paced = match &s.limiter {
                Some(l) if l.check().is_err() => {
                    let waiting = std::time::Instant::now();
                    l.until_ready().await;
                    waiting.elapsed()
                }
                _ => Duration::ZERO,
            };
            let token = s.tokens.get().await?;
            if let Some(o) = &s.observer {
                o.sending(paced);
            }
            let span = info_span!(
                "pingone_request",
                method = %req.method,
                path = %req.url.path(),
                attempt,
                status = tracing::field::Empty,
                correlation_id = tracing::field::Empty,
            );
            let mut builder = s
                .http
                .request(req.method.clone(), req.url.clone())
                .bearer_auth(token.secret.expose_secret())
                .header(reqwest::header::ACCEPT, "application/json");
            if let Some(tx) = &self.transaction_id {
                builder = builder.header(TRANSACTION_ID_HEADER, tx.clone());
            }
            if let Some(body) = &req.body {
                builder = builder
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let sent = async {
                let resp = builder.send().await?;
                let status = resp.status();
                let headers = resp.headers().clone();
                let body = resp.bytes().await?;
                Ok::<_, reqwest::Error>((status, headers, body))
            }
            .instrument(span.clone())
            .await;

            let (status, headers, body) = match sent {
                Ok(v) => v,
                Err(e) => {
                    let timeout = e.is_timeout();
                    let message = transport_text(&e);
                    // A refused connection never reached PingOne; anything later might have.
                    let reached = !e.is_connect();
                    span.in_scope(
                        || warn!(error = %message, "PingOne request failed without an answer"),
                    );
                    if reached && req.replay == Replay::Unsafe {
                        return Err(Error::OutcomeUnknown {
                            object: req.object,
                            reason: format!("no answer: {message}"),
                        });
                    }
                    uncertain |= reached;
                    if attempt < max {
                        tokio::time::sleep(s.retry.delay(attempt + 1, None)).await;
                        continue;
                    }
                    return Err(Error::Transport {
                        object: req.object,
                        message,
                        timeout,
                    });
                }
            };

            let correlation = header_str(&headers, "correlation-id");
            span.record("status", status.as_u16());
            if let Some(c) = &correlation {
                span.record("correlation_id", c.as_str());
            }
            if let Some(d) = header_str(&headers, "api-deprecation-date") {
                let msg = header_str(&headers, "api-deprecation-message").unwrap_or_default();
                span.in_scope(
                    || warn!(date = %d, message = %msg, "PingOne marks this API as deprecated"),
                );
            }
            span.in_scope(|| debug!("PingOne answered"));

            if status.is_success() {
                return Ok(Response { body });
            }
            let code = status.as_u16();
            if code == 429 {
                s.throttled
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            if code == 401 && !renewed {
                // Expired or revoked token: renew once and try again (PingOne did not act).
                renewed = true;
                s.tokens.invalidate(token.generation).await;
                attempt -= 1;
                continue;
            }
            if code == 404 && uncertain && req.method == Method::DELETE {
                // An earlier attempt whose answer we lost did the delete.
                return Ok(Response { body: Bytes::new() });
            }
            // Without the header, a 429's `innerError.retryAfter` says how long to wait.
            let retry_after = header_str(&headers, "retry-after")
                .and_then(|v| parse_retry_after(&v, SystemTime::now()))
                .or_else(|| {
                    (code == 429)
                        .then(|| crate::error::ErrorEnvelope::from_body(&body).inner_retry_after())
                        .flatten()
                });
            if is_retryable_status(code) {
                if code != 429 && req.replay == Replay::Unsafe {
                    return Err(Error::OutcomeUnknown {
                        object: req.object,
                        reason: format!(
                            "PingOne answered HTTP {code}, so the create may or may not have happened"
                        ),
                    });
                }
                if code != 429 {
                    uncertain = true;
                }
                let wait = (attempt < max).then(|| s.retry.delay(attempt + 1, retry_after));
                if code == 429
                    && let Some(o) = &s.observer
                {
                    o.throttled(wait);
                }
                if let Some(wait) = wait {
                    span.in_scope(|| {
                        warn!(wait_ms = wait.as_millis() as u64, "PingOne asked to retry");
                    });
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            return Err(Error::from_response(&req.object, code, retry_after, &body));
        }
    }
}

pub(crate) fn decode<T: DeserializeOwned>(object: &str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::Decode {
        object: object.to_owned(),
        message: e.to_string(),
    })
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// PingOne keeps at most 100 characters and turns disallowed ones into `_`:
/// allowed are Unicode letters, combining marks, digits and `. _ - / @ = # +`
/// (the Go SDK's OpenAPI document, `X-Ping-External-Transaction-ID`).
pub(crate) fn sanitize_transaction_id(id: &str) -> HeaderValue {
    let clean: String = id
        .chars()
        .take(100)
        .map(|c| {
            if c.is_alphanumeric()
                || is_combining_mark(c)
                || matches!(c, '.' | '_' | '-' | '/' | '@' | '=' | '#' | '+')
            {
                c
            } else {
                '_'
            }
        })
        .collect();
    // Letters beyond ASCII go as their UTF-8 bytes (obs-text), as PingOne allows them.
    HeaderValue::from_bytes(clean.as_bytes()).unwrap_or_else(|_| HeaderValue::from_static("_"))
}

/// The combining-mark blocks (most marks of other scripts are alphabetic already).
fn is_combining_mark(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}')
}

#[cfg(test)]
mod tests {
    use super::sanitize_transaction_id;
    use proptest::prelude::*;

    proptest! {
        /// Whatever it is given, the header holds at most 100 characters of
        /// PingOne's set, one for each of the first 100 given.
        #[test]
        fn a_transaction_id_keeps_pingones_character_set(id in "\\PC{0,140}") {
            let v = sanitize_transaction_id(&id);
            let sent = std::str::from_utf8(v.as_bytes()).unwrap();
            prop_assert_eq!(sent.chars().count(), id.chars().count().min(100));
            for (s, c) in sent.chars().zip(id.chars()) {
                let kept = c.is_alphanumeric() || "._-/@=#+".contains(c) || ('\u{300}'..='\u{36f}').contains(&c);
                prop_assert!(s == c || (s == '_' && !kept), "{c:?} sent as {s:?}");
            }
        }
    }
}
