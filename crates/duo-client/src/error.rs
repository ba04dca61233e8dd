//! The one error type of the crate: Duo's own `code`, `message` and
//! `message_detail` kept verbatim, a variant per failure a caller handles
//! differently, a fix hint in the text, and a transient/permanent split.

use std::fmt;

/// Duo's failure envelope (`{"stat":"FAIL","code":…,"message":…}`) plus the
/// HTTP status, as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiFailure {
    /// HTTP status code.
    pub status: u16,
    /// Duo's error code (e.g. 40103), when the body carried one.
    pub code: Option<u32>,
    /// Duo's message, or the HTTP reason when the body was not an envelope.
    pub message: String,
    /// Duo's `message_detail` (often the offending parameter).
    pub message_detail: Option<String>,
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(code) = self.code {
            write!(f, ", code {code}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(detail) = &self.message_detail {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

/// What the transport reported when no HTTP response arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportFailure {
    /// The connection could not be made: the request was never sent.
    Connect,
    /// No answer within the request timeout: the request may have been processed.
    Timeout,
    /// The connection broke after the request was (possibly) sent.
    Broken,
}

impl fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportFailure::Connect => "could not connect",
            TransportFailure::Timeout => "timed out",
            TransportFailure::Broken => "connection broke",
        })
    }
}

/// Every way a Duo call fails. `call` is `METHOD /path` of the request.
#[derive(Debug, thiserror::Error)]
pub enum DuoError {
    /// The configuration is invalid.
    #[error("Duo client configuration: `{field}` {reason}")]
    Config {
        /// The offending field.
        field: &'static str,
        /// What is wrong and how to fix it.
        reason: String,
    },

    /// 401 / 40102: the integration key is wrong or not an Admin API application.
    #[error(
        "Duo rejected the integration key on {call} ({failure}): check the integration key and that it belongs to an \"Admin API\" application"
    )]
    InvalidIntegrationKey {
        /// `METHOD /path`.
        call: String,
        /// Duo's answer.
        failure: ApiFailure,
    },

    /// 401 / 40103 (or 40105): bad signature or request date.
    #[error(
        "Duo rejected the signature on {call} ({failure}): check the secret key and that this machine's clock is within a few minutes of UTC"
    )]
    InvalidSignature {
        /// `METHOD /path`.
        call: String,
        /// Duo's answer.
        failure: ApiFailure,
    },

    /// 403: the Admin API application lacks a permission.
    #[error(
        "Duo refused {call} ({failure}): grant the \"{permission}\" permission to the Admin API application in the Duo Admin Panel"
    )]
    Forbidden {
        /// `METHOD /path`.
        call: String,
        /// The permission this endpoint needs, as the Admin Panel names it.
        permission: &'static str,
        /// Duo's answer.
        failure: ApiFailure,
    },

    /// 404 / 40401: the object does not exist (any more).
    #[error(
        "Duo has no such object for {call} ({failure}): the id is unknown or the object was deleted; look it up again"
    )]
    NotFound {
        /// `METHOD /path`.
        call: String,
        /// Duo's answer.
        failure: ApiFailure,
    },

    /// 429 / 42901 after every retry: Duo's rate limit.
    #[error(
        "Duo rate-limited {call} ({failure}) after {attempts} attempts: lower the client rate limits or run fewer syncs at once"
    )]
    RateLimited {
        /// `METHOD /path`.
        call: String,
        /// Attempts made.
        attempts: u32,
        /// Duo's answer.
        failure: ApiFailure,
    },

    /// 500 / 50001 on an association, and counting showed a one-to-many
    /// limit (100 phones or groups per user, 100 users per phone). Duo's
    /// answer alone does not tell: 50001 is its generic internal error.
    #[error(
        "Duo refused {call} ({failure}): a one-to-many limit was reached ({limit}; Duo allows at most 100 phones or groups per user, 100 users per phone); remove an association first"
    )]
    LimitExceeded {
        /// `METHOD /path`.
        call: String,
        /// The limit counting found, e.g. "the user already has 100 groups".
        limit: String,
        /// Duo's answer.
        failure: ApiFailure,
    },

    /// 400 / 40003: the object already exists (duplicate username, alias,
    /// phone number, group name or admin email).
    #[error(
        "Duo says the object already exists for {call} ({failure}): look it up and link it instead of creating it"
    )]
    Duplicate {
        /// `METHOD /path`.
        call: String,
        /// Duo's answer.
        failure: ApiFailure,
    },

    /// Any other 4xx: Duo rejected the request (40001 missing / 40002 invalid
    /// parameter; `message_detail` names the parameter).
    #[error("Duo rejected {call} ({failure}): fix the named parameter")]
    BadRequest {
        /// `METHOD /path`.
        call: String,
        /// Duo's answer.
        failure: ApiFailure,
    },

    /// A 5xx (50001, Duo's generic "Unknown internal server error", included)
    /// after every retry allowed.
    #[error(
        "Duo failed {call} ({failure}) after {attempts} attempts: Duo is having trouble; try again later"
    )]
    Server {
        /// `METHOD /path`.
        call: String,
        /// Attempts made.
        attempts: u32,
        /// Duo's answer.
        failure: ApiFailure,
    },

    /// No HTTP answer (connect failure, timeout, broken connection) after every
    /// retry allowed.
    #[error(
        "Duo could not be reached for {call}: {kind} after {attempts} attempts ({detail}); check the API host, network and proxy"
    )]
    Transport {
        /// `METHOD /path`.
        call: String,
        /// What happened.
        kind: TransportFailure,
        /// Attempts made.
        attempts: u32,
        /// The transport's description.
        detail: String,
    },

    /// A create (or other non-idempotent call) may or may not have been
    /// applied: it was sent, then the answer was lost. It is not re-sent.
    #[error(
        "the outcome of {call} is unknown ({reason}): Duo may have applied it; look the object up before trying again"
    )]
    OutcomeUnknown {
        /// `METHOD /path`.
        call: String,
        /// Why the outcome is unknown.
        reason: String,
    },

    /// Duo answered with something that is not the expected JSON.
    #[error("Duo's answer to {call} could not be read: {detail}")]
    Decode {
        /// `METHOD /path`.
        call: String,
        /// What did not parse.
        detail: String,
    },
}

/// How a caller should treat an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try again later (back-off); the request did nothing.
    Transient,
    /// The request may have been applied: look the object up before retrying.
    OutcomeUnknown,
    /// Retrying the same request will fail again: record it, wait for a change.
    Permanent,
}

impl DuoError {
    /// Transient, outcome-unknown or permanent.
    pub fn class(&self) -> ErrorClass {
        match self {
            DuoError::RateLimited { .. } | DuoError::Server { .. } | DuoError::Transport { .. } => {
                ErrorClass::Transient
            }
            DuoError::OutcomeUnknown { .. } => ErrorClass::OutcomeUnknown,
            _ => ErrorClass::Permanent,
        }
    }

    /// True when a later retry may succeed: rate limits, 5xx (a counted
    /// one-to-many limit excepted), network failures, and unknown outcomes (which need a lookup
    /// first, see [`DuoError::is_outcome_unknown`]).
    pub fn is_transient(&self) -> bool {
        self.class() != ErrorClass::Permanent
    }

    /// True when a non-idempotent call may have been applied.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, DuoError::OutcomeUnknown { .. })
    }

    /// True for 404 / 40401.
    pub fn is_not_found(&self) -> bool {
        matches!(self, DuoError::NotFound { .. })
    }

    /// Duo's answer, when there was one.
    pub fn failure(&self) -> Option<&ApiFailure> {
        match self {
            DuoError::InvalidIntegrationKey { failure, .. }
            | DuoError::InvalidSignature { failure, .. }
            | DuoError::Forbidden { failure, .. }
            | DuoError::NotFound { failure, .. }
            | DuoError::RateLimited { failure, .. }
            | DuoError::LimitExceeded { failure, .. }
            | DuoError::Duplicate { failure, .. }
            | DuoError::BadRequest { failure, .. }
            | DuoError::Server { failure, .. } => Some(failure),
            _ => None,
        }
    }

    /// Duo's error code (e.g. 40103), when there was one.
    pub fn code(&self) -> Option<u32> {
        self.failure().and_then(|f| f.code)
    }

    /// The HTTP status, when there was a response.
    pub fn status(&self) -> Option<u16> {
        self.failure().map(|f| f.status)
    }
}

/// The permission an endpoint needs, as the Admin Panel names it.
pub(crate) fn permission_for(method: &str, path: &str) -> &'static str {
    let p = path.trim_start_matches('/');
    let rest = p
        .strip_prefix("admin/v1/")
        .or_else(|| p.strip_prefix("admin/v2/"))
        .unwrap_or(p);
    if rest.starts_with("admins") {
        "Grant administrators"
    } else if rest.starts_with("info") {
        "Grant read information"
    } else if rest.starts_with("logs") || rest.starts_with("trust_monitor") {
        "Grant read log"
    } else if rest.starts_with("integrations") {
        "Grant applications"
    } else if rest.starts_with("settings") {
        "Grant settings"
    } else if method.eq_ignore_ascii_case("GET") {
        "Grant read resource"
    } else {
        "Grant write resource"
    }
}

/// Maps a non-2xx answer (after retries) to its variant.
pub(crate) fn classify_failure(
    method: &str,
    path: &str,
    failure: ApiFailure,
    attempts: u32,
) -> DuoError {
    let call = format!("{method} {path}");
    match (failure.status, failure.code) {
        (_, Some(40102)) => DuoError::InvalidIntegrationKey { call, failure },
        (_, Some(40103 | 40105)) => DuoError::InvalidSignature { call, failure },
        (401, _) => DuoError::InvalidSignature { call, failure },
        (403, _) | (_, Some(40301)) => DuoError::Forbidden {
            permission: permission_for(method, path),
            call,
            failure,
        },
        (404, _) | (_, Some(40401)) => DuoError::NotFound { call, failure },
        (429, _) | (_, Some(42901)) => DuoError::RateLimited {
            call,
            attempts,
            failure,
        },
        (_, Some(40003)) => DuoError::Duplicate { call, failure },
        (s, _) if s >= 500 => DuoError::Server {
            call,
            attempts,
            failure,
        },
        _ => DuoError::BadRequest { call, failure },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_follows_the_endpoint() {
        assert_eq!(
            permission_for("POST", "/admin/v1/admins"),
            "Grant administrators"
        );
        assert_eq!(
            permission_for("GET", "/admin/v1/info/summary"),
            "Grant read information"
        );
        assert_eq!(
            permission_for("GET", "/admin/v1/users"),
            "Grant read resource"
        );
        assert_eq!(
            permission_for("DELETE", "/admin/v1/users/DU1"),
            "Grant write resource"
        );
        assert_eq!(
            permission_for("GET", "/admin/v2/groups/DG1/users"),
            "Grant read resource"
        );
    }
}
