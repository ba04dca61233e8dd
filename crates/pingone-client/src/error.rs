//! The client's error type, built from PingOne's error envelope
//! (`id`, `code`, `message`, `details[]` with `code`, `target`, `message`, `innerError`).

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::ConfigError;
use crate::filter::FilterError;

/// PingOne's error body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorEnvelope {
    /// Error id to quote to Ping support.
    pub id: Option<String>,
    /// Top-level code, e.g. `INVALID_DATA`, `ACCESS_FAILED`, `NOT_FOUND`, `REQUEST_LIMITED`.
    pub code: Option<String>,
    /// English text.
    pub message: Option<String>,
    /// Per-field problems.
    pub details: Vec<ErrorDetail>,
}

/// One entry of an error's `details`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorDetail {
    /// Detail code, e.g. `UNIQUENESS_VIOLATION`, `REQUIRED_VALUE`, `INVALID_FILTER`.
    pub code: Option<String>,
    /// The attribute or parameter concerned, e.g. `username`.
    pub target: Option<String>,
    /// English text.
    pub message: Option<String>,
    /// Extra facts: `existingId`, `allowedPattern`, `supportedAttributes`, `retryAfter`, ...
    #[serde(rename = "innerError")]
    pub inner_error: Option<Map<String, Value>>,
}

impl ErrorEnvelope {
    /// Parses a body; a body that is not an envelope becomes one whose message is the
    /// (shortened) body text.
    pub fn from_body(body: &[u8]) -> Self {
        match serde_json::from_slice::<ErrorEnvelope>(body) {
            Ok(e) => e,
            Err(_) => {
                let text = String::from_utf8_lossy(body);
                let text: String = text.chars().take(300).collect();
                ErrorEnvelope {
                    message: (!text.trim().is_empty()).then(|| text.trim().to_owned()),
                    ..Default::default()
                }
            }
        }
    }

    /// The first detail with this code.
    /// The wait a 429's `details[].innerError.retryAfter` (RFC 3339) asks for.
    pub(crate) fn inner_retry_after(&self) -> Option<Duration> {
        self.details.iter().find_map(|d| {
            let v = d.inner_error.as_ref()?.get("retryAfter")?.as_str()?;
            crate::retry::parse_retry_after_timestamp(v, SystemTime::now())
        })
    }

    pub fn detail(&self, code: &str) -> Option<&ErrorDetail> {
        self.details
            .iter()
            .find(|d| d.code.as_deref() == Some(code))
    }

    /// `code: message; details: target: message (CODE), ...` for error text.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        match (&self.code, &self.message) {
            (Some(c), Some(m)) => {
                let _ = write!(s, "{c}: {m}");
            }
            (Some(c), None) => s.push_str(c),
            (None, Some(m)) => s.push_str(m),
            (None, None) => s.push_str("no error body"),
        }
        for d in &self.details {
            s.push_str("; ");
            if let Some(t) = &d.target {
                let _ = write!(s, "field `{t}`: ");
            }
            s.push_str(d.message.as_deref().unwrap_or("(no message)"));
            if let Some(c) = &d.code {
                let _ = write!(s, " ({c})");
            }
        }
        if let Some(id) = &self.id {
            let _ = write!(s, " [PingOne error id {id}]");
        }
        s
    }
}

/// The role a 403 on `object` most likely lacks: subscriptions (webhooks) are
/// environment configuration, beyond Identity Data Admin (not confirmed by Ping).
fn role_for(object: &str) -> &'static str {
    if object.contains("/subscriptions") {
        "Environment Admin (subscriptions are environment configuration; the limit of 50 per environment is also a 403)"
    } else {
        "Identity Data Admin"
    }
}

/// Everything a PingOne call can fail with.
///
/// `object` fields name what the call acted on, e.g. `user 4f1c…` or `group "Sales"`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration cannot work.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The filter builder refused a filter PingOne cannot evaluate.
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// The token endpoint refused the client credentials or failed.
    #[error(
        "PingOne token request failed (HTTP {status}, {code}): {message}; {}",
        token_fix(*status, method)
    )]
    Token {
        /// HTTP status.
        status: u16,
        /// OAuth error code (`invalid_client`, ...) or PingOne code.
        code: String,
        /// Text from the server.
        message: String,
        /// The configured token auth method.
        method: &'static str,
    },
    /// 401 even with a freshly issued token.
    #[error(
        "PingOne did not accept a fresh access token for {object} (401): {}; check that the worker application is enabled and the environment id matches the token",
        envelope.summary()
    )]
    Unauthorized {
        /// What the call acted on.
        object: String,
        /// The error body.
        envelope: Box<ErrorEnvelope>,
    },
    /// A unique attribute (username, group name, unique custom attribute) is taken.
    #[error(
        "PingOne refused {object}: field `{}` must be unique and the value is already used{} (HTTP {status}); link the existing object instead of creating a new one",
        target.as_deref().unwrap_or("username"),
        existing_id.as_deref().map(|id| format!(" by {id}")).unwrap_or_default()
    )]
    Uniqueness {
        /// What the call acted on.
        object: String,
        /// 400 or 409.
        status: u16,
        /// The attribute, e.g. `username`.
        target: Option<String>,
        /// The id of the object already holding the value, when PingOne gives it.
        existing_id: Option<String>,
        /// The error body.
        envelope: Box<ErrorEnvelope>,
    },
    /// 403: the worker application lacks a role.
    #[error(
        "PingOne denied access to {object} (403): {}; give the worker application the {} role on this environment (Applications > the worker app > Roles)",
        envelope.summary(),
        role_for(object)
    )]
    Forbidden {
        /// What the call acted on.
        object: String,
        /// The error body.
        envelope: Box<ErrorEnvelope>,
    },
    /// 404: the object does not exist (any more).
    #[error("PingOne has no {object} (404): it was deleted or the id is wrong")]
    NotFound {
        /// What the call acted on.
        object: String,
        /// The error body.
        envelope: Box<ErrorEnvelope>,
    },
    /// 429 after all attempts.
    #[error(
        "PingOne rate-limited {object} (429){}: {}; lower requests_per_second or allow-list this host's IP",
        retry_after.map(|d| format!(", retry after {} s", d.as_secs())).unwrap_or_default(),
        envelope.summary()
    )]
    RateLimited {
        /// What the call acted on.
        object: String,
        /// How long PingOne asked to wait.
        retry_after: Option<Duration>,
        /// The error body.
        envelope: Box<ErrorEnvelope>,
    },
    /// 400 `INVALID_FILTER`.
    #[error(
        "PingOne cannot evaluate the filter for {object}: {}{}",
        envelope.summary(),
        if supported_attributes.is_empty() { String::new() } else { format!("; filterable attributes: {}", supported_attributes.join(", ")) }
    )]
    InvalidFilter {
        /// What the call acted on.
        object: String,
        /// `innerError.supportedAttributes`, when given.
        supported_attributes: Vec<String>,
        /// The error body.
        envelope: Box<ErrorEnvelope>,
    },
    /// Another 4xx: a value was missing, too long or malformed.
    #[error("PingOne rejected {object} (HTTP {status}): {}", envelope.summary())]
    Rejected {
        /// What the call acted on.
        object: String,
        /// HTTP status.
        status: u16,
        /// The error body.
        envelope: Box<ErrorEnvelope>,
    },
    /// 5xx (or 408) after all attempts.
    #[error("PingOne failed on {object} (HTTP {status}): {}; it is retried on the next run", envelope.summary())]
    Server {
        /// What the call acted on.
        object: String,
        /// HTTP status.
        status: u16,
        /// The error body.
        envelope: Box<ErrorEnvelope>,
    },
    /// No response: connection refused or reset, DNS, TLS, timeout.
    #[error(
        "could not reach PingOne for {object}: {message}; check the network, proxy and the API/auth base URLs"
    )]
    Transport {
        /// What the call acted on.
        object: String,
        /// What failed.
        message: String,
        /// Whether the attempt timed out.
        timeout: bool,
    },
    /// A create was sent but no usable answer came back, so it may or may not exist now;
    /// it is not re-sent blindly. Look the object up (e.g. by username) before creating again.
    #[error("the outcome of {object} is unknown ({reason}); look it up before creating it again")]
    OutcomeUnknown {
        /// What the call acted on.
        object: String,
        /// What happened to the request.
        reason: String,
    },
    /// The response was not the JSON expected.
    #[error("PingOne's answer for {object} could not be read: {message}")]
    Decode {
        /// What the call acted on.
        object: String,
        /// What was wrong.
        message: String,
    },
    /// A `_links.next` pointed away from the configured API host; not followed with our token.
    #[error(
        "PingOne's next-page link `{href}` is not under the API base {api_base}; not followed so the access token does not leave the API host"
    )]
    ForeignLink {
        /// The link.
        href: String,
        /// The configured API base.
        api_base: String,
    },
}

/// Convenience alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a caller should treat an error (the same three classes as duo-client's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try again later (back-off); the request did nothing.
    Transient,
    /// The request may have been applied: look the object up before retrying.
    OutcomeUnknown,
    /// Retrying the same request will fail again: record it, wait for a change.
    Permanent,
}

impl Error {
    /// Transient, outcome-unknown or permanent.
    pub fn class(&self) -> ErrorClass {
        if self.is_outcome_unknown() {
            ErrorClass::OutcomeUnknown
        } else if self.is_transient() {
            ErrorClass::Transient
        } else {
            ErrorClass::Permanent
        }
    }

    /// Whether trying the same call later may succeed without anyone changing anything:
    /// rate limits, 5xx/408, transport failures and token-endpoint outages. The engine retries
    /// these with backoff; everything else is recorded and waits for a change.
    /// [`Error::OutcomeUnknown`] is not transient: re-read before re-creating.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::RateLimited { .. } | Error::Server { .. } | Error::Transport { .. } => true,
            Error::Token { status, .. } => *status == 0 || *status == 429 || *status >= 500,
            _ => false,
        }
    }

    /// A 404: the object is gone.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// A create may have happened; look it up before retrying.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Error::OutcomeUnknown { .. })
    }

    /// For [`Error::Uniqueness`], the id of the object already holding the value.
    pub fn existing_id(&self) -> Option<&str> {
        match self {
            Error::Uniqueness { existing_id, .. } => existing_id.as_deref(),
            _ => None,
        }
    }

    /// The HTTP status PingOne answered with, when there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Token { status, .. } if *status != 0 => Some(*status),
            Error::Uniqueness { status, .. }
            | Error::Rejected { status, .. }
            | Error::Server { status, .. } => Some(*status),
            Error::Unauthorized { .. } => Some(401),
            Error::Forbidden { .. } => Some(403),
            Error::NotFound { .. } => Some(404),
            Error::RateLimited { .. } => Some(429),
            Error::InvalidFilter { .. } => Some(400),
            _ => None,
        }
    }

    /// PingOne's error body, when there was one.
    pub fn envelope(&self) -> Option<&ErrorEnvelope> {
        match self {
            Error::Unauthorized { envelope, .. }
            | Error::Uniqueness { envelope, .. }
            | Error::Forbidden { envelope, .. }
            | Error::NotFound { envelope, .. }
            | Error::RateLimited { envelope, .. }
            | Error::InvalidFilter { envelope, .. }
            | Error::Rejected { envelope, .. }
            | Error::Server { envelope, .. } => Some(envelope.as_ref()),
            _ => None,
        }
    }

    /// Builds the error for a non-success API response (not the token endpoint).
    ///
    /// `retry_after` is the parsed `Retry-After` header, if any.
    pub fn from_response(
        object: &str,
        status: u16,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> Error {
        let envelope = Box::new(ErrorEnvelope::from_body(body));
        let object = object.to_owned();
        if let Some(d) = envelope.detail("UNIQUENESS_VIOLATION")
            && (status == 400 || status == 409)
        {
            let existing_id = d
                .inner_error
                .as_ref()
                .and_then(|m| m.get("existingId"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let target = d.target.clone();
            return Error::Uniqueness {
                object,
                status,
                target,
                existing_id,
                envelope,
            };
        }
        if status == 409 {
            return Error::Uniqueness {
                object,
                status,
                target: None,
                existing_id: None,
                envelope,
            };
        }
        if let Some(d) = envelope.detail("INVALID_FILTER") {
            let supported_attributes = d
                .inner_error
                .as_ref()
                .and_then(|m| m.get("supportedAttributes"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            return Error::InvalidFilter {
                object,
                supported_attributes,
                envelope,
            };
        }
        match status {
            401 => Error::Unauthorized { object, envelope },
            403 => Error::Forbidden { object, envelope },
            404 => Error::NotFound { object, envelope },
            429 => {
                let retry_after = retry_after.or_else(|| envelope.inner_retry_after());
                Error::RateLimited {
                    object,
                    retry_after,
                    envelope,
                }
            }
            408 | 500..=599 => Error::Server {
                object,
                status,
                envelope,
            },
            _ => Error::Rejected {
                object,
                status,
                envelope,
            },
        }
    }
}

/// What to check when the token request fails: no answer at all (status 0)
/// is a network or address problem, an answer is a credentials problem.
fn token_fix(status: u16, method: &str) -> String {
    if status == 0 {
        "check the region (or auth_url) and that this host can reach it".to_owned()
    } else {
        format!(
            "check client_id, client_secret, the environment id, the region and that the worker application uses token auth method {method}"
        )
    }
}
