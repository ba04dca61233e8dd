//! The client core: builds and signs each attempt, paces it, sends it,
//! retries what is safe to retry and decodes Duo's envelope.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::Method;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use crate::canon::{Params, canon_params, encode};
use crate::config::{ApiHost, DuoConfig, SignatureVersion};
use crate::error::{ApiFailure, DuoError, TransportFailure, classify_failure};
use crate::pace::{CallObserver, EndpointClass, Pacer};
use crate::retry::{RetryPolicy, parse_retry_after};
use crate::sign::{self, Canon, CanonInput, Digest512Or1};
use crate::transport::{HttpRequest, HttpResponse, ReqwestTransport, Transport};

/// A place under the rate limit taken ahead by [`DuoClient::reserve`], for one call's first
/// attempt (retries wait their turn as usual).
#[derive(Debug)]
#[must_use = "a reserved slot is spent only by the call it is given to"]
pub struct Slot {
    class: EndpointClass,
}

/// Whether sending a request twice is harmless.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// Reads, modifies to fixed values, deletes, associations: re-sent on
    /// 5xx, timeouts and broken connections.
    Idempotent,
    /// Creates: re-sent only when Duo certainly did nothing (429, 503, a
    /// failed connect); otherwise [`DuoError::OutcomeUnknown`].
    NonIdempotent,
}

/// A raw call's answer: Duo's `response` and `metadata`.
#[derive(Clone, Debug, PartialEq)]
pub struct RawResponse {
    /// The `response` field (object, array or string).
    pub response: serde_json::Value,
    /// The `metadata` field, if present.
    pub metadata: Option<serde_json::Value>,
}

/// A Duo Admin API client. Cheap to clone; share one per tenant.
#[derive(Clone)]
pub struct DuoClient {
    inner: Arc<Inner>,
}

struct Inner {
    host: ApiHost,
    signing_host: String,
    base_url: String,
    ikey: String,
    skey: SecretString,
    signature: SignatureVersion,
    transport: Arc<dyn Transport>,
    pacer: Pacer,
    retry: RetryPolicy,
    dates: DateSource,
    /// 429 answers seen (retried or not), for the caller's metrics.
    throttled: std::sync::atomic::AtomicU64,
    observer: Option<Arc<dyn CallObserver>>,
}

/// Counts a one-to-many association after a 500/50001: `Some(what)` names the
/// limit reached (e.g. "the user already has 100 groups"), `None` means below it.
pub(crate) type LimitCheck<'a> =
    dyn Fn() -> futures::future::BoxFuture<'a, Result<Option<String>, DuoError>> + Send + Sync + 'a;

/// What some calls add to [`DuoClient::execute_checked`]: a one-to-many count for an
/// association's 500, a slot reserved ahead for the first attempt.
#[derive(Default)]
pub(crate) struct Extra<'a, 'b> {
    pub(crate) limit_check: Option<&'a LimitCheck<'b>>,
    pub(crate) prepaid: Option<Slot>,
}

/// Produces the `Date` string of each attempt (default: the wall clock, UTC).
pub type DateSource = Arc<dyn Fn() -> String + Send + Sync>;

impl std::fmt::Debug for DuoClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DuoClient")
            .field("base_url", &self.inner.base_url)
            .field("ikey", &self.inner.ikey)
            .field("skey", &"[REDACTED]")
            .field("signature", &self.inner.signature)
            .finish_non_exhaustive()
    }
}

/// Duo's envelope, decoded in one pass with the typed `response`.
#[derive(Deserialize)]
struct Envelope<T> {
    stat: String,
    #[serde(default = "none")]
    response: Option<T>,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    message_detail: Option<String>,
}

fn none<T>() -> Option<T> {
    None
}

/// Paging metadata. Duo's own fixtures send `"next_offset": null` and
/// `"prev_offset": null`; `total_objects` is read leniently (a number or a
/// numeric string; anything else counts as absent).
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct Metadata {
    #[serde(default, deserialize_with = "lenient_u64")]
    pub(crate) total_objects: Option<u64>,
    #[serde(default)]
    pub(crate) next_offset: Option<serde_json::Value>,
}

fn lenient_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

impl Metadata {
    /// `next_offset` as a number (Duo sends an integer; a numeric string is
    /// accepted too).
    pub(crate) fn next_offset(&self) -> Option<u64> {
        match self.next_offset.as_ref()? {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }
}

pub(crate) fn code_of(v: &serde_json::Value) -> Option<u32> {
    match v {
        serde_json::Value::Number(n) => n.as_u64().and_then(|c| u32::try_from(c).ok()),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn reason_phrase(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("unexpected status")
        .to_owned()
}

/// Reads a non-2xx body as Duo's failure envelope when it is one.
fn failure_of(response: &HttpResponse) -> ApiFailure {
    #[derive(Deserialize)]
    struct Fail {
        #[serde(default)]
        code: Option<serde_json::Value>,
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        message_detail: Option<String>,
    }
    match serde_json::from_slice::<Fail>(&response.body) {
        Ok(f) => ApiFailure {
            status: response.status,
            code: f.code.as_ref().and_then(code_of),
            message: f.message.unwrap_or_else(|| reason_phrase(response.status)),
            message_detail: f.message_detail,
        },
        Err(_) => ApiFailure {
            status: response.status,
            code: None,
            message: reason_phrase(response.status),
            message_detail: None,
        },
    }
}

/// Percent-encodes one path segment (ids are opaque; never trust them to be
/// URL-safe).
pub(crate) fn seg(id: &str) -> String {
    encode(id)
}

impl DuoClient {
    /// Validates `config` and builds the `reqwest` transport.
    pub fn new(config: DuoConfig) -> Result<Self, DuoError> {
        let transport = ReqwestTransport::new(
            config.connect_timeout,
            config.request_timeout,
            &config.user_agent,
            config.extra_ca_pem.as_deref(),
        )?;
        Self::with_transport(config, Arc::new(transport))
    }

    /// Like [`DuoClient::new`] but over any [`Transport`] (tests).
    pub fn with_transport(
        config: DuoConfig,
        transport: Arc<dyn Transport>,
    ) -> Result<Self, DuoError> {
        Self::with_parts(config, transport, Arc::new(sign::date_now))
    }

    /// Like [`DuoClient::with_transport`] with a custom `Date` source (e.g. to
    /// correct a known clock offset, or to observe re-signing in tests).
    pub fn with_parts(
        config: DuoConfig,
        transport: Arc<dyn Transport>,
        dates: DateSource,
    ) -> Result<Self, DuoError> {
        let host = ApiHost::parse(&config.api_host)?;
        if config.ikey.trim().is_empty() {
            return Err(DuoError::Config {
                field: "ikey",
                reason: "is empty; copy the integration key of the Admin API application".into(),
            });
        }
        if config.skey.expose_secret().is_empty() {
            return Err(DuoError::Config {
                field: "skey",
                reason: "is empty; copy the secret key of the Admin API application".into(),
            });
        }
        if config.retry.max_attempts == 0 {
            return Err(DuoError::Config {
                field: "retry.max_attempts",
                reason: "must be at least 1".into(),
            });
        }
        Ok(Self {
            inner: Arc::new(Inner {
                signing_host: host.signing_host(),
                base_url: host.base_url(),
                host,
                ikey: config.ikey,
                skey: config.skey,
                signature: config.signature,
                transport,
                pacer: Pacer::new(&config.rate_limits),
                retry: config.retry,
                dates,
                throttled: std::sync::atomic::AtomicU64::new(0),
                observer: config.observer,
            }),
        })
    }

    /// The configured retry schedule.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// 429 answers this client (and its clones) has received, retried ones included.
    pub fn throttled_responses(&self) -> u64 {
        self.inner
            .throttled
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// `scheme://host:port` the client talks to.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The parsed API host.
    pub fn api_host(&self) -> &ApiHost {
        &self.inner.host
    }

    /// Builds and signs the exact request a call sends, with the given
    /// `Date` string (the client uses the current time for every attempt).
    /// For debugging and tests; the `Authorization` value is redacted from
    /// its `Debug` output.
    pub fn prepare(&self, method: &Method, path: &str, params: &Params, date: &str) -> HttpRequest {
        let inner = &self.inner;
        let has_body = matches!(*method, Method::POST | Method::PUT | Method::PATCH);
        let empty = Params::new();
        let (canon, digest) = match inner.signature {
            SignatureVersion::V5 => (Canon::V5, Digest512Or1::Sha512),
            SignatureVersion::V2Sha512 => (Canon::V2, Digest512Or1::Sha512),
            SignatureVersion::V2Sha1 => (Canon::V2, Digest512Or1::Sha1),
        };
        let query = canon_params(params);
        let mut headers: Vec<(&'static str, String)> = Vec::with_capacity(3);
        let (url, body, signed_params): (String, Option<Vec<u8>>, &Params) = match (canon, has_body)
        {
            (Canon::V5, true) => {
                headers.push(("Content-Type", "application/json".into()));
                (
                    format!("{}{path}", inner.base_url),
                    Some(sign::json_body(params).into_bytes()),
                    &empty,
                )
            }
            (_, true) => {
                headers.push(("Content-Type", "application/x-www-form-urlencoded".into()));
                (
                    format!("{}{path}", inner.base_url),
                    Some(query.into_bytes()),
                    params,
                )
            }
            (_, false) if query.is_empty() => (format!("{}{path}", inner.base_url), None, params),
            (_, false) => (format!("{}{path}?{query}", inner.base_url), None, params),
        };
        let canonical = sign::canonicalize(
            canon,
            &CanonInput {
                date,
                method: method.as_str(),
                host: &inner.signing_host,
                path,
                params: signed_params,
                body: body.as_deref().unwrap_or_default(),
                x_duo_headers: &[],
            },
        );
        let signature = sign::hmac_hex(digest, inner.skey.expose_secret(), &canonical);
        headers.push((
            "Authorization",
            sign::authorization(&inner.ikey, &signature),
        ));
        headers.push(("Date", date.to_owned()));
        HttpRequest {
            method: method.clone(),
            url,
            headers,
            body,
        }
    }

    /// Sends a call with pacing and retries; returns the 2xx body.
    pub(crate) async fn execute(
        &self,
        method: Method,
        path: &str,
        params: &Params,
        class: EndpointClass,
        idempotency: Idempotency,
    ) -> Result<Vec<u8>, DuoError> {
        self.execute_checked(method, path, params, class, idempotency, Extra::default())
            .await
    }

    /// Waits (on tokio's clock) until a call of `class` may be sent under the rate limits and
    /// takes its place: the call given the [`Slot`] sends its first attempt without waiting
    /// again. A batcher reserves first and fills the batch while it waits.
    pub async fn reserve(&self, class: EndpointClass) -> Slot {
        self.inner.pacer.acquire(class).await;
        Slot { class }
    }

    /// [`DuoClient::execute`] for a one-to-many association: on the first
    /// 500/50001 (Duo's generic internal error, also its answer to a limit
    /// violation) `limit_check` counts the association; when it reports a
    /// limit the call ends as [`DuoError::LimitExceeded`], else it is retried
    /// like any other 5xx.
    pub(crate) async fn execute_checked(
        &self,
        method: Method,
        path: &str,
        params: &Params,
        class: EndpointClass,
        idempotency: Idempotency,
        extra: Extra<'_, '_>,
    ) -> Result<Vec<u8>, DuoError> {
        let Extra {
            limit_check,
            mut prepaid,
        } = extra;
        let inner = &self.inner;
        let policy = inner.retry;
        let call = || format!("{method} {path}");
        let mut attempt: u32 = 0;
        let mut counted = false;
        loop {
            attempt += 1;
            let span = tracing::info_span!(
                "duo_request",
                method = %method,
                path = %path,
                attempt,
                status = tracing::field::Empty,
                duration_ms = tracing::field::Empty,
            );
            let slot = prepaid.take().filter(|s| s.class == class);
            let outcome = async {
                let paced = match slot {
                    Some(_) => Duration::ZERO,
                    None => inner.pacer.acquire(class).await,
                };
                if let Some(o) = &inner.observer {
                    o.sending(class, paced);
                }
                if !paced.is_zero() {
                    tracing::trace!(
                        waited_ms = paced.as_millis() as u64,
                        "paced under the rate limit"
                    );
                }
                let request = self.prepare(&method, path, params, &(inner.dates)());
                let started = tokio::time::Instant::now();
                let result = inner.transport.send(request).await;
                let span = tracing::Span::current();
                span.record("duration_ms", started.elapsed().as_millis() as u64);
                match &result {
                    Ok(r) => {
                        span.record("status", r.status);
                        tracing::debug!("duo answered");
                    }
                    Err(e) => {
                        tracing::debug!(failure = %e.kind, detail = %e.detail, "no answer from duo");
                    }
                }
                result
            }
            .instrument(span.clone())
            .await;

            let retry_in = |retry_after: Option<Duration>| -> Option<Duration> {
                (attempt < policy.max_attempts).then(|| policy.delay(attempt, retry_after))
            };
            match outcome {
                Ok(response) if (200..300).contains(&response.status) => return Ok(response.body),
                Ok(response) => {
                    let failure = failure_of(&response);
                    let status = response.status;
                    if status == 429 {
                        self.inner
                            .throttled
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    // 50001 "Unknown internal server error" is Duo's generic 500: transient
                    // like any 5xx. A one-to-many limit answers the same, so associations
                    // count before calling it one (never decided by the code alone).
                    if status >= 500
                        && failure.code == Some(50001)
                        && !counted
                        && let Some(check) = limit_check
                    {
                        counted = true;
                        match check().await {
                            Ok(Some(limit)) => {
                                return Err(DuoError::LimitExceeded {
                                    call: call(),
                                    limit,
                                    failure,
                                });
                            }
                            Ok(None) => {}
                            Err(e) => span.in_scope(|| {
                                tracing::debug!(error = %e, "could not count the association after a 500; treating it as transient");
                            }),
                        }
                    }
                    let retryable = status == 429
                        || (status >= 500
                            && (idempotency == Idempotency::Idempotent || status == 503));
                    if status >= 500 && !retryable {
                        return Err(DuoError::OutcomeUnknown {
                            call: call(),
                            reason: format!("Duo answered {failure}"),
                        });
                    }
                    if retryable {
                        let retry_after = response
                            .retry_after
                            .as_deref()
                            .and_then(|v| parse_retry_after(v, SystemTime::now()));
                        let wait = retry_in(retry_after);
                        if status == 429
                            && let Some(o) = &inner.observer
                        {
                            o.throttled(wait);
                        }
                        if let Some(wait) = wait {
                            span.in_scope(|| {
                                tracing::warn!(
                                    status,
                                    wait_ms = wait.as_millis() as u64,
                                    "retrying duo call"
                                );
                            });
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                    }
                    return Err(classify_failure(method.as_str(), path, failure, attempt));
                }
                Err(e) => {
                    if e.kind != TransportFailure::Connect
                        && idempotency == Idempotency::NonIdempotent
                    {
                        return Err(DuoError::OutcomeUnknown {
                            call: call(),
                            reason: format!("{} after the request was sent: {}", e.kind, e.detail),
                        });
                    }
                    if let Some(wait) = retry_in(None) {
                        span.in_scope(|| {
                            tracing::warn!(failure = %e.kind, wait_ms = wait.as_millis() as u64, "retrying duo call");
                        });
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(DuoError::Transport {
                        call: call(),
                        kind: e.kind,
                        attempts: attempt,
                        detail: e.detail,
                    });
                }
            }
        }
    }

    /// A single-object read (`GET`, read class, safe to retry) decoded as `T`.
    pub(crate) async fn get_typed<T: DeserializeOwned>(&self, path: &str) -> Result<T, DuoError> {
        let (value, _) = self
            .call_typed(
                Method::GET,
                path,
                &Params::new(),
                EndpointClass::Read,
                Idempotency::Idempotent,
            )
            .await?;
        Ok(value)
    }

    /// A one-to-many association POST (idempotent): a 500/50001 is counted by
    /// `check` before it is called a limit, else retried like any 5xx.
    pub(crate) async fn associate(
        &self,
        path: &str,
        params: &Params,
        check: &LimitCheck<'_>,
    ) -> Result<(), DuoError> {
        let body = match self
            .execute_checked(
                Method::POST,
                path,
                params,
                EndpointClass::Write,
                Idempotency::Idempotent,
                Extra {
                    limit_check: Some(check),
                    prepaid: None,
                },
            )
            .await
        {
            Ok(body) => body,
            Err(e) => return association_outcome(e),
        };
        decode::<serde::de::IgnoredAny>(&Method::POST, path, &body)?;
        Ok(())
    }

    /// [`DuoClient::call_typed`] whose first attempt may use a reserved slot.
    pub(crate) async fn call_prepaid<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        params: &Params,
        class: EndpointClass,
        idempotency: Idempotency,
        slot: Option<Slot>,
    ) -> Result<T, DuoError> {
        let body = self
            .execute_checked(
                method.clone(),
                path,
                params,
                class,
                idempotency,
                Extra {
                    limit_check: None,
                    prepaid: slot,
                },
            )
            .await?;
        decode(&method, path, &body).map(|(v, _)| v)
    }

    /// Sends a call and decodes `response` as `T` (plus paging metadata).
    pub(crate) async fn call_typed<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        params: &Params,
        class: EndpointClass,
        idempotency: Idempotency,
    ) -> Result<(T, Metadata), DuoError> {
        let body = self
            .execute(method.clone(), path, params, class, idempotency)
            .await?;
        decode(&method, path, &body)
    }

    /// One signed call to any Admin API endpoint; returns `response` and
    /// `metadata`. GET/DELETE parameters go in the query; POST/PUT/PATCH
    /// parameters in the body. A POST is treated as possibly non-idempotent.
    pub async fn raw_call(
        &self,
        method: Method,
        path: &str,
        params: &Params,
    ) -> Result<RawResponse, DuoError> {
        let class = if method == Method::GET {
            if params.get("limit").is_some() || params.get("offset").is_some() {
                EndpointClass::Page
            } else {
                EndpointClass::Read
            }
        } else {
            EndpointClass::Write
        };
        let idempotency = if method == Method::POST || method == Method::PATCH {
            Idempotency::NonIdempotent
        } else {
            Idempotency::Idempotent
        };
        self.raw_call_with(method, path, params, class, idempotency)
            .await
    }

    /// [`DuoClient::raw_call`] with an explicit rate-limit class and idempotency.
    pub async fn raw_call_with(
        &self,
        method: Method,
        path: &str,
        params: &Params,
        class: EndpointClass,
        idempotency: Idempotency,
    ) -> Result<RawResponse, DuoError> {
        if !path.starts_with('/') {
            return Err(DuoError::Config {
                field: "path",
                reason: format!("`{path}` must start with `/`"),
            });
        }
        let body = self
            .execute(method.clone(), path, params, class, idempotency)
            .await?;
        let (response, _) = decode::<serde_json::Value>(&method, path, &body)?;
        let metadata = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|mut v| v.get_mut("metadata").map(serde_json::Value::take));
        Ok(RawResponse { response, metadata })
    }
}

/// Decodes a 2xx body as Duo's envelope with a `T` response.
fn decode<T: DeserializeOwned>(
    method: &Method,
    path: &str,
    body: &[u8],
) -> Result<(T, Metadata), DuoError> {
    let call = || format!("{method} {path}");
    let envelope: Envelope<T> = serde_json::from_slice(body).map_err(|e| DuoError::Decode {
        call: call(),
        detail: format!(
            "{e} (first bytes: {:?})",
            String::from_utf8_lossy(&body[..body.len().min(120)])
        ),
    })?;
    if envelope.stat != "OK" {
        let failure = ApiFailure {
            status: 200,
            code: envelope.code.as_ref().and_then(code_of),
            message: envelope
                .message
                .unwrap_or_else(|| format!("stat {}", envelope.stat)),
            message_detail: envelope.message_detail,
        };
        return Err(classify_failure(method.as_str(), path, failure, 1));
    }
    let response = envelope.response.ok_or_else(|| DuoError::Decode {
        call: call(),
        detail: "the envelope has no `response`".into(),
    })?;
    Ok((response, envelope.metadata.unwrap_or_default()))
}

/// What an association's failure means. A re-sent association may meet the link it made
/// (Duo's answer is undocumented; 40003 "Duplicate resource" is the likely one): it is done.
/// A group or phone id Duo does not know is answered 400 / 40002 naming the parameter (Duo's
/// pattern for a bad referenced id) or 404: either way it is not found.
fn association_outcome(e: DuoError) -> Result<(), DuoError> {
    match e {
        DuoError::Duplicate { .. } => Ok(()),
        DuoError::BadRequest { call, failure }
            if failure.code == Some(40002)
                && matches!(
                    failure.message_detail.as_deref(),
                    Some("group_id" | "phone_id")
                ) =>
        {
            Err(DuoError::NotFound { call, failure })
        }
        e => Err(e),
    }
}
