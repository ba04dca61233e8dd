//! PingOne's error envelope (`id`, `code`, `message`, `details[]`) as one
//! error type, used by both the HTTP handlers and the direct seeding helpers.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// One entry of `details[]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detail {
    /// Detail code such as `REQUIRED_VALUE` or `UNIQUENESS_VIOLATION`.
    pub code: String,
    /// The attribute the detail is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Human text.
    pub message: String,
    /// Extra facts such as `existingId` or `rangeMaximumValue`.
    #[serde(rename = "innerError", skip_serializing_if = "Option::is_none")]
    pub inner_error: Option<Map<String, Value>>,
}

impl Detail {
    /// A detail naming `target`.
    pub fn new(code: &str, target: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            target: Some(target.into()),
            message: message.into(),
            inner_error: None,
        }
    }

    /// Adds an `innerError` key.
    pub fn inner(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.inner_error
            .get_or_insert_with(Map::new)
            .insert(key.into(), value.into());
        self
    }
}

/// A PingOne error: what the simulator answers, and what its seeding helpers return.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("PingOne {status} {code}: {message}{}", details_text(.details))]
pub struct SimError {
    /// HTTP status.
    pub status: u16,
    /// Top-level code such as `INVALID_DATA`.
    pub code: String,
    /// Top-level message.
    pub message: String,
    /// The details.
    pub details: Vec<Detail>,
    /// `Retry-After` seconds, for 429 and 503.
    pub retry_after: Option<u64>,
}

fn details_text(details: &[Detail]) -> String {
    details
        .iter()
        .map(|d| {
            format!(
                " [{} {}: {}]",
                d.code,
                d.target.as_deref().unwrap_or("-"),
                d.message
            )
        })
        .collect()
}

pub(crate) const VALIDATION_MESSAGE: &str =
    "The request could not be completed. One or more validation errors were in the request.";

impl SimError {
    /// An error without details.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            details: Vec::new(),
            retry_after: None,
        }
    }

    /// 400 `INVALID_DATA` with the given details.
    pub fn invalid(details: Vec<Detail>) -> Self {
        Self {
            details,
            ..Self::new(400, "INVALID_DATA", VALIDATION_MESSAGE)
        }
    }

    /// 400 `INVALID_DATA` / `INVALID_FILTER`.
    pub fn invalid_filter(message: &str) -> Self {
        Self::invalid(vec![Detail {
            code: "INVALID_FILTER".into(),
            target: Some("filter".into()),
            message: format!("Invalid filter: {message}"),
            inner_error: None,
        }])
    }

    /// 400 `INVALID_DATA` / `INVALID_PARAMETER` naming the query parameter.
    pub fn invalid_parameter(target: &str, message: impl Into<String>) -> Self {
        Self::invalid(vec![Detail::new("INVALID_PARAMETER", target, message)])
    }

    /// 400 `INVALID_REQUEST` (malformed body and the like).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "INVALID_REQUEST", message)
    }

    /// 404 `NOT_FOUND` naming the kind of object and its id.
    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(
            404,
            "NOT_FOUND",
            format!("Unable to find {kind} with id {id}: the resource was not found."),
        )
    }

    /// 401 `ACCESS_FAILED` / `INVALID_TOKEN`.
    pub fn invalid_token(message: &str) -> Self {
        Self {
            details: vec![Detail {
                code: "INVALID_TOKEN".into(),
                target: None,
                message: message.into(),
                inner_error: None,
            }],
            ..Self::new(
                401,
                "ACCESS_FAILED",
                "The request could not be completed. You do not have access to this resource.",
            )
        }
    }

    /// 403 `ACCESS_FAILED` / `INSUFFICIENT_PERMISSIONS`.
    pub fn forbidden(message: &str) -> Self {
        Self {
            details: vec![Detail {
                code: "INSUFFICIENT_PERMISSIONS".into(),
                target: None,
                message: message.into(),
                inner_error: None,
            }],
            ..Self::new(
                403,
                "ACCESS_FAILED",
                "The actor attempting to perform the request is not authorized.",
            )
        }
    }

    /// 429 `REQUEST_LIMITED` with an optional `Retry-After`.
    pub fn limited(retry_after: Option<u64>) -> Self {
        let mut d = Detail {
            code: "LIMIT_EXCEEDED".into(),
            target: None,
            message: "The request rate limit was exceeded.".into(),
            inner_error: None,
        };
        if let Some(s) = retry_after {
            let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(s as i64);
            d = d.inner("retryAfter", crate::clock::iso(at));
        }
        Self {
            details: vec![d],
            retry_after,
            ..Self::new(
                429,
                "REQUEST_LIMITED",
                "The request was rate limited. Try again later.",
            )
        }
    }

    /// The JSON body PingOne sends.
    pub fn body(&self) -> Value {
        let mut v = json!({
            "id": uuid::Uuid::new_v4().to_string(),
            "code": self.code,
            "message": self.message,
        });
        if !self.details.is_empty() {
            v["details"] = serde_json::to_value(&self.details).unwrap_or(Value::Null);
        }
        v
    }
}

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = crate::render::hal(status, self.body());
        if let Some(s) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if self.status == 401 {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        res
    }
}
