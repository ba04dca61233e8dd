//! Client-credentials access tokens: fetched from `{auth}/{env}/as/token`, cached, renewed
//! shortly before expiry, one fetch at a time however many requests wait (single-flight),
//! and dropped when PingOne answers 401 for it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::config::TokenAuthMethod;
use crate::error::{Error, Result};
use crate::retry::{RetryPolicy, is_retryable_status, parse_retry_after};

/// A token handed to a request, with the generation it came from.
#[derive(Clone)]
pub(crate) struct Token {
    pub secret: SecretString,
    pub generation: u64,
}

struct Cached {
    token: Token,
    renew_at: Instant,
}

pub(crate) struct TokenSource {
    http: reqwest::Client,
    url: Url,
    client_id: String,
    client_secret: SecretString,
    method: TokenAuthMethod,
    renew_before: Duration,
    retry: RetryPolicy,
    // Held across the fetch: waiters queue here and then find the fresh token.
    cache: Mutex<Option<Cached>>,
    generation: AtomicU64,
    fetches: AtomicU64,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OAuthError {
    error: Option<String>,
    error_description: Option<String>,
    code: Option<String>,
    message: Option<String>,
}

impl TokenSource {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        http: reqwest::Client,
        url: Url,
        client_id: String,
        client_secret: SecretString,
        method: TokenAuthMethod,
        renew_before: Duration,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            http,
            url,
            client_id,
            client_secret,
            method,
            renew_before,
            retry,
            cache: Mutex::new(None),
            generation: AtomicU64::new(0),
            fetches: AtomicU64::new(0),
        }
    }

    /// Token requests sent so far (successful or not).
    pub(crate) fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// A valid token: the cached one, or a freshly fetched one.
    pub(crate) async fn get(&self) -> Result<Token> {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_ref()
            && Instant::now() < c.renew_at
        {
            return Ok(c.token.clone());
        }
        let (secret, lifetime) = self.fetch().await?;
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        // Renew `renew_before` ahead of expiry, but never sooner than half the lifetime.
        let ahead = self.renew_before.min(lifetime / 2);
        let token = Token { secret, generation };
        *cache = Some(Cached {
            token: token.clone(),
            renew_at: Instant::now() + lifetime.saturating_sub(ahead),
        });
        Ok(token)
    }

    /// Forgets the token of `generation` after a 401, unless it was already replaced.
    pub(crate) async fn invalidate(&self, generation: u64) {
        let mut cache = self.cache.lock().await;
        if cache
            .as_ref()
            .is_some_and(|c| c.token.generation == generation)
        {
            *cache = None;
        }
    }

    async fn fetch(&self) -> Result<(SecretString, Duration)> {
        // Fewer attempts than API calls: a broken credential should fail fast.
        let attempts = self.retry.max_attempts.clamp(1, 5);
        let mut attempt = 1;
        loop {
            let retry_after = match self.fetch_once().await {
                Ok(v) => return Ok(v),
                Err((e, retry_after)) if e.is_transient() && attempt < attempts => retry_after,
                Err((e, _)) => return Err(e),
            };
            attempt += 1;
            let wait = self.retry.delay(attempt, retry_after);
            warn!(
                attempt,
                wait_ms = wait.as_millis() as u64,
                "PingOne token request failed; retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }

    async fn fetch_once(
        &self,
    ) -> std::result::Result<(SecretString, Duration), (Error, Option<Duration>)> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
        let mut req = self.http.post(self.url.clone());
        match self.method {
            TokenAuthMethod::ClientSecretBasic => {
                req = req.basic_auth(&self.client_id, Some(self.client_secret.expose_secret()));
            }
            TokenAuthMethod::ClientSecretPost => {
                form.push(("client_id", &self.client_id));
                form.push(("client_secret", self.client_secret.expose_secret()));
            }
        }
        let method = method_name(self.method);
        let resp = req
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                (
                    Error::Token {
                        status: 0,
                        code: if e.is_timeout() {
                            "timeout"
                        } else {
                            "unreachable"
                        }
                        .into(),
                        message: transport_text(&e),
                        method,
                    },
                    None,
                )
            })?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
        let body = resp.bytes().await.map_err(|e| {
            (
                Error::Token {
                    status: 0,
                    code: "unreachable".into(),
                    message: transport_text(&e),
                    method,
                },
                None,
            )
        })?;
        if (200..300).contains(&status) {
            let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
                (
                    Error::Token {
                        status,
                        code: "invalid_response".into(),
                        message: format!("the token response is not the expected JSON ({e})"),
                        method,
                    },
                    None,
                )
            })?;
            let lifetime = Duration::from_secs_f64(
                parsed
                    .expires_in
                    .unwrap_or(3600.0)
                    .clamp(1.0, 86_400.0 * 365.0),
            );
            debug!(
                lifetime_s = lifetime.as_secs(),
                "PingOne access token issued"
            );
            return Ok((SecretString::from(parsed.access_token), lifetime));
        }
        let err: OAuthError = serde_json::from_slice(&body).unwrap_or_default();
        let code = err.error.or(err.code).unwrap_or_else(|| {
            if is_retryable_status(status) {
                "unavailable"
            } else {
                "rejected"
            }
            .into()
        });
        let message = err
            .error_description
            .or(err.message)
            .unwrap_or_else(|| "no description".into());
        Err((
            Error::Token {
                status,
                code,
                message,
                method,
            },
            retry_after,
        ))
    }
}

fn method_name(m: TokenAuthMethod) -> &'static str {
    match m {
        TokenAuthMethod::ClientSecretBasic => "client_secret_basic",
        TokenAuthMethod::ClientSecretPost => "client_secret_post",
    }
}

/// reqwest's error text without its source chain noise; never contains the request body.
pub(crate) fn transport_text(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
