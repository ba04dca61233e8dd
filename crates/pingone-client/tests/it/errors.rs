//! Every documented error envelope maps to the right variant, with the object and field
//! named in the text, and the right transient classification.

use std::time::Duration;

use pingone_client::Error;
use serde_json::json;

fn map(status: u16, body: serde_json::Value, retry_after: Option<u64>) -> Error {
    Error::from_response(
        "user 42",
        status,
        retry_after.map(Duration::from_secs),
        body.to_string().as_bytes(),
    )
}

fn variant(e: &Error) -> &'static str {
    match e {
        Error::Uniqueness { .. } => "Uniqueness",
        Error::Forbidden { .. } => "Forbidden",
        Error::NotFound { .. } => "NotFound",
        Error::RateLimited { .. } => "RateLimited",
        Error::InvalidFilter { .. } => "InvalidFilter",
        Error::Rejected { .. } => "Rejected",
        Error::Server { .. } => "Server",
        Error::Unauthorized { .. } => "Unauthorized",
        _ => "other",
    }
}

#[test]
fn documented_envelopes_map_to_their_variants() {
    let detail = |code: &str, target: &str, inner: serde_json::Value| {
        json!({"id": "e-1", "code": "INVALID_DATA", "message": "The request could not be completed.",
               "details": [{"code": code, "target": target, "message": format!("{target} is bad"), "innerError": inner}]})
    };
    let cases: Vec<(u16, serde_json::Value, &str, bool)> = vec![
        (
            400,
            detail(
                "UNIQUENESS_VIOLATION",
                "username",
                json!({"existingId": "u-9"}),
            ),
            "Uniqueness",
            false,
        ),
        (
            409,
            json!({"code": "CONFLICT", "message": "exists"}),
            "Uniqueness",
            false,
        ),
        (
            400,
            detail(
                "INVALID_FILTER",
                "filter",
                json!({"supportedAttributes": ["username"]}),
            ),
            "InvalidFilter",
            false,
        ),
        (
            400,
            detail("REQUIRED_VALUE", "email", json!({})),
            "Rejected",
            false,
        ),
        (
            400,
            detail(
                "INVALID_VALUE",
                "name.family",
                json!({"allowedPattern": "x"}),
            ),
            "Rejected",
            false,
        ),
        (
            400,
            detail(
                "SIZE_LIMIT_EXCEEDED",
                "username",
                json!({"maximumValue": 128}),
            ),
            "Rejected",
            false,
        ),
        (
            401,
            json!({"code": "ACCESS_FAILED", "details": [{"code": "INVALID_TOKEN"}]}),
            "Unauthorized",
            false,
        ),
        (
            403,
            json!({"code": "ACCESS_FAILED", "details": [{"code": "INSUFFICIENT_PERMISSIONS"}]}),
            "Forbidden",
            false,
        ),
        (
            404,
            json!({"code": "NOT_FOUND", "message": "Unable to find user"}),
            "NotFound",
            false,
        ),
        (415, json!({"code": "INVALID_REQUEST"}), "Rejected", false),
        (
            429,
            json!({"code": "REQUEST_LIMITED", "details": [{"code": "LIMIT_EXCEEDED"}]}),
            "RateLimited",
            true,
        ),
        (500, json!({"code": "UNEXPECTED_ERROR"}), "Server", true),
        (502, json!({"anything": 1}), "Server", true),
        (503, json!({}), "Server", true),
        (408, json!({}), "Server", true),
    ];
    for (status, body, want, transient) in cases {
        let e = map(status, body.clone(), None);
        assert_eq!(variant(&e), want, "{status} {body}");
        assert_eq!(e.is_transient(), transient, "{status} {body}");
        let class = if transient {
            pingone_client::ErrorClass::Transient
        } else {
            pingone_client::ErrorClass::Permanent
        };
        assert_eq!(e.class(), class, "{status} {body}");
        assert_eq!(e.status(), Some(status), "{status}");
        assert!(e.to_string().contains("user 42"), "object not named: {e}");
    }
}

#[test]
fn uniqueness_carries_the_existing_id_and_names_the_field() {
    let e = map(
        400,
        json!({"code": "INVALID_DATA", "details": [{"code": "UNIQUENESS_VIOLATION", "target": "username",
               "message": "must be unique", "innerError": {"existingId": "u-9"}}]}),
        None,
    );
    assert_eq!(e.existing_id(), Some("u-9"));
    expect_test::expect![[r#"PingOne refused user 42: field `username` must be unique and the value is already used by u-9 (HTTP 400); link the existing object instead of creating a new one"#]]
        .assert_eq(&e.to_string());
}

#[test]
fn validation_errors_name_each_field() {
    let e = map(
        400,
        json!({"id": "abc", "code": "INVALID_DATA", "message": "Validation failed",
               "details": [{"code": "REQUIRED_VALUE", "target": "email", "message": "email is required"},
                           {"code": "INVALID_VALUE", "target": "name.family", "message": "bad characters"}]}),
        None,
    );
    expect_test::expect![[r#"PingOne rejected user 42 (HTTP 400): INVALID_DATA: Validation failed; field `email`: email is required (REQUIRED_VALUE); field `name.family`: bad characters (INVALID_VALUE) [PingOne error id abc]"#]]
        .assert_eq(&e.to_string());
}

#[test]
fn rate_limit_wait_comes_from_the_header_or_the_body() {
    let e = map(429, json!({"code": "REQUEST_LIMITED"}), Some(7));
    assert!(
        matches!(e, Error::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(7))
    );
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(120);
    let at = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let e = map(
        429,
        json!({"code": "REQUEST_LIMITED", "details": [{"code": "QUOTA_EXCEEDED", "innerError": {"retryAfter": at}}]}),
        None,
    );
    match e {
        Error::RateLimited {
            retry_after: Some(d),
            ..
        } => {
            assert!(
                d > Duration::from_secs(100) && d <= Duration::from_secs(120),
                "{d:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_body_that_is_not_json_is_kept_as_the_message() {
    let e = Error::from_response("group 7", 502, None, b"<html>Bad Gateway</html>");
    assert!(e.to_string().contains("Bad Gateway"), "{e}");
    assert!(e.is_transient());
}

#[test]
fn a_403_on_subscriptions_names_the_environment_admin_role() {
    let body = json!({"code": "ACCESS_FAILED", "details": [{"code": "INSUFFICIENT_PERMISSIONS"}]});
    let e = Error::from_response(
        "POST /v1/environments/e/subscriptions",
        403,
        None,
        body.to_string().as_bytes(),
    );
    assert!(e.to_string().contains("Environment Admin"), "{e}");
    let e = map(403, body, None);
    assert!(e.to_string().contains("Identity Data Admin"), "{e}");
}
