//! Duo's failure envelope: HTTP status, numeric code, message and optional detail.

use serde::Serialize;

/// One Duo API failure (`{"stat":"FAIL","code":..,"message":..,"message_detail":..}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("HTTP {status} code {code}: {message}{}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Duo's numeric code, e.g. 40002.
    pub code: u32,
    /// Duo's message.
    pub message: String,
    /// Duo's `message_detail` (usually the offending parameter).
    pub detail: Option<String>,
}

impl ApiError {
    fn new(status: u16, code: u32, message: &str, detail: Option<&str>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            detail: detail.map(Into::into),
        }
    }
    /// 400 / 40001: a required parameter is missing.
    pub fn missing(param: &str) -> Self {
        Self::new(
            400,
            40001,
            "Missing required request parameters",
            Some(param),
        )
    }
    /// 400 / 40002: a parameter has an invalid value.
    pub fn invalid(param: &str) -> Self {
        Self::new(400, 40002, "Invalid request parameters", Some(param))
    }
    /// 400 / 40003: the value is already used by another object.
    pub fn duplicate(param: &str) -> Self {
        Self::new(400, 40003, "Duplicate resource", Some(param))
    }
    /// 404 / 40401: unknown id or route.
    pub fn not_found() -> Self {
        Self::new(404, 40401, "Resource not found", None)
    }
    /// 500 / 50001: a one-to-many limit (e.g. 100 phones per user) would be exceeded.
    pub fn limit_exceeded() -> Self {
        Self::new(500, 50001, "Unknown internal server error", None)
    }
    /// 401 / 40101: no or unreadable `Authorization` header.
    pub fn missing_credentials() -> Self {
        Self::new(401, 40101, "Missing request credentials", None)
    }
    /// 401 / 40102: unknown integration key, or not an Admin API application.
    pub fn bad_ikey() -> Self {
        Self::new(
            401,
            40102,
            "Invalid integration key in request credentials",
            None,
        )
    }
    /// 401 / 40103: signature mismatch.
    pub fn bad_signature() -> Self {
        Self::new(401, 40103, "Invalid signature in request credentials", None)
    }
    /// 401 / 40105: the request date is too far from the server's clock (observed on the Auth
    /// API; the `skew_40105` variant).
    pub fn bad_timestamp() -> Self {
        Self::new(401, 40105, "Bad request timestamp", None)
    }
    /// 403 / 40301: the integration lacks the permission.
    pub fn forbidden() -> Self {
        Self::new(403, 40301, "Access forbidden", None)
    }
    /// 429 / 42901: rate limited.
    pub fn too_many() -> Self {
        Self::new(429, 42901, "Too Many Requests", None)
    }
    /// 500 / 50001: an injected server error, in Duo's generic words (the same body Duo
    /// documents for a one-to-many limit violation, duo.com/docs/rate-limits; Duo is not known
    /// to send any other 500 code).
    pub fn internal() -> Self {
        Self::new(500, 50001, "Unknown internal server error", None)
    }

    /// The JSON envelope.
    pub fn body(&self) -> serde_json::Value {
        let mut v = serde_json::json!({"stat": "FAIL", "code": self.code, "message": self.message});
        if let Some(d) = &self.detail {
            v["message_detail"] = d.clone().into();
        }
        v
    }
}
