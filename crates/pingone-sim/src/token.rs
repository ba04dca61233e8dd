//! The token endpoint `/{envId}/as/token`: client-credentials grant with
//! `client_secret_basic` or `client_secret_post`, answering OAuth errors.

use crate::server::Shared;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::time::Instant;

/// How the worker application authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TokenAuthMethod {
    /// `Authorization: Basic base64(id:secret)`.
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/{envId}/as/token", post(token))
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut res = (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"PingOne\""),
        );
    }
    res
}

fn basic_credentials(headers: &HeaderMap) -> Option<Option<(String, String)>> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let decoded = STANDARD
        .decode(b64.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    Some(decoded.and_then(|s| {
        s.split_once(':')
            .map(|(a, b)| (a.to_string(), b.to_string()))
    }))
}

fn new_token(env: &str) -> String {
    let mut sig = [0u8; 32];
    rand::rng().fill_bytes(&mut sig);
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT","kid":"pingone-sim"}"#);
    let claims = URL_SAFE_NO_PAD
        .encode(json!({"env": env, "jti": uuid::Uuid::new_v4().to_string()}).to_string());
    format!("{header}.{claims}.{}", URL_SAFE_NO_PAD.encode(sig))
}

async fn token(
    State(s): State<Arc<Shared>>,
    Path(env): Path<String>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    s.token_requests.fetch_add(1, Ordering::SeqCst);
    if env != s.cfg.env_id {
        return oauth_error(
            StatusCode::NOT_FOUND,
            "invalid_request",
            &format!("Environment {env} was not found."),
        );
    }
    let Ok(Form(pairs)) = form else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The body must be application/x-www-form-urlencoded.",
        );
    };
    let field = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let (body_id, body_secret) = (field("client_id"), field("client_secret"));
    let (method, id, secret) = match basic_credentials(&headers) {
        Some(_) if body_secret.is_some() => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Send client credentials in the Authorization header or the body, not both.",
            );
        }
        Some(None) => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Request denied: malformed Basic credentials.",
            );
        }
        Some(Some((id, secret))) => (TokenAuthMethod::ClientSecretBasic, id, secret),
        None => match (body_id, body_secret) {
            (Some(id), Some(secret)) => (TokenAuthMethod::ClientSecretPost, id, secret),
            _ => {
                return oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "Request denied: client authentication is required.",
                );
            }
        },
    };
    if s.cfg.token_auth_method.is_some_and(|m| m != method) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Request denied: Unsupported authentication method.",
        );
    }
    if id != s.cfg.client_id || secret != s.cfg.client_secret {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Request denied: Invalid client credentials.",
        );
    }
    match field("grant_type").as_deref() {
        Some("client_credentials") => {}
        Some(other) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("Grant type {other} is not allowed for this application."),
            );
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required.",
            );
        }
    }
    let token = new_token(&env);
    let ttl = s.cfg.token_ttl;
    {
        let mut tokens = s.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        tokens.retain(|_, exp| *exp > now);
        tokens.insert(token.clone(), now + ttl);
    }
    let mut res = axum::Json(
        json!({"access_token": token, "token_type": "Bearer", "expires_in": ttl.as_secs()}),
    )
    .into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
