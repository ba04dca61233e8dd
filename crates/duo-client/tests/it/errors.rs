//! Each documented Duo error maps to its variant, keeps Duo's code, message
//! and detail, says what to do, and is classed transient or permanent.

use duo_client::{DuoError, ErrorClass, RetryPolicy};
use expect_test::{Expect, expect};

use crate::mock::*;

/// Runs `call` against one scripted answer (no retries) and returns the error.
async fn error_for(answer: Answer, call: &str) -> DuoError {
    let script = Scripted::new([answer]);
    let duo = client_with(&script, RetryPolicy::none());
    match call {
        "get_user" => duo.get_user("DU1").await.map(|_| ()),
        "create_admin" => duo
            .create_admin(&duo_client::NewAdmin::new(
                "a@example.com",
                "A",
                duo_client::AdminRole::HelpDesk,
            ))
            .await
            .map(|_| ()),
        "list_users" => duo.list_users().await.map(|_| ()),
        "create_user" => duo
            .create_user(&duo_client::NewUser::new("alice"))
            .await
            .map(|_| ()),
        "associate_phone" => duo.associate_phone("DU1", "DP1").await,
        "info_summary" => duo.info_summary().await.map(|_| ()),
        other => panic!("unknown call {other}"),
    }
    .unwrap_err()
}

async fn check(
    answer: Answer,
    call: &str,
    class: ErrorClass,
    code: Option<u32>,
    text: Expect,
) -> DuoError {
    let err = error_for(answer, call).await;
    assert_eq!(err.class(), class, "{err:?}");
    assert_eq!(err.code(), code, "{err:?}");
    text.assert_eq(&err.to_string());
    err
}

#[tokio::test]
async fn wrong_integration_key_40102() {
    let err = check(
        fail(401, 40102, "Invalid integration key in request credentials", None),
        "get_user",
        ErrorClass::Permanent,
        Some(40102),
        expect![[r#"Duo rejected the integration key on GET /admin/v1/users/DU1 (HTTP 401, code 40102: Invalid integration key in request credentials): check the integration key and that it belongs to an "Admin API" application"#]],
    )
    .await;
    assert!(matches!(err, DuoError::InvalidIntegrationKey { .. }));
}

#[tokio::test]
async fn wrong_secret_or_clock_40103() {
    let err = check(
        fail(401, 40103, "Invalid signature in request credentials", None),
        "list_users",
        ErrorClass::Permanent,
        Some(40103),
        expect![[r#"Duo rejected the signature on GET /admin/v1/users (HTTP 401, code 40103: Invalid signature in request credentials): check the secret key and that this machine's clock is within a few minutes of UTC"#]],
    )
    .await;
    assert!(matches!(err, DuoError::InvalidSignature { .. }));
}

#[tokio::test]
async fn missing_permission_403_names_the_grant() {
    let err = check(
        fail(403, 40301, "Access forbidden", None),
        "create_admin",
        ErrorClass::Permanent,
        Some(40301),
        expect![[r#"Duo refused POST /admin/v1/admins (HTTP 403, code 40301: Access forbidden): grant the "Grant administrators" permission to the Admin API application in the Duo Admin Panel"#]],
    )
    .await;
    assert!(matches!(
        err,
        DuoError::Forbidden {
            permission: "Grant administrators",
            ..
        }
    ));
    let err = error_for(fail(403, 40301, "Access forbidden", None), "create_user").await;
    assert!(
        matches!(
            err,
            DuoError::Forbidden {
                permission: "Grant write resource",
                ..
            }
        ),
        "{err:?}"
    );
    let err = error_for(fail(403, 40301, "Access forbidden", None), "info_summary").await;
    assert!(
        matches!(
            err,
            DuoError::Forbidden {
                permission: "Grant read information",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn unknown_object_40401() {
    let err = check(
        fail(404, 40401, "Resource not found", None),
        "get_user",
        ErrorClass::Permanent,
        Some(40401),
        expect![[r#"Duo has no such object for GET /admin/v1/users/DU1 (HTTP 404, code 40401: Resource not found): the id is unknown or the object was deleted; look it up again"#]],
    )
    .await;
    assert!(err.is_not_found());
}

#[tokio::test]
async fn rate_limited_42901() {
    let err = check(
        too_many(None),
        "list_users",
        ErrorClass::Transient,
        Some(42901),
        expect![[r#"Duo rate-limited GET /admin/v1/users (HTTP 429, code 42901: Too Many Requests) after 1 attempts: lower the client rate limits or run fewer syncs at once"#]],
    )
    .await;
    assert!(matches!(err, DuoError::RateLimited { .. }));
}

#[tokio::test]
async fn generic_500_50001_is_transient() {
    // Duo's generic internal error (and its answer to a one-to-many limit,
    // which only counting tells apart: see fidelity.rs).
    let err = check(
        fail(500, 50001, "Unknown internal server error", None),
        "get_user",
        ErrorClass::Transient,
        Some(50001),
        expect![[r#"Duo failed GET /admin/v1/users/DU1 (HTTP 500, code 50001: Unknown internal server error) after 1 attempts: Duo is having trouble; try again later"#]],
    )
    .await;
    assert!(matches!(err, DuoError::Server { .. }));
}

#[tokio::test]
async fn invalid_parameter_40002_keeps_the_detail() {
    let err = check(
        fail(400, 40002, "Invalid request parameters", Some("username")),
        "create_user",
        ErrorClass::Permanent,
        Some(40002),
        expect![[r#"Duo rejected POST /admin/v1/users (HTTP 400, code 40002: Invalid request parameters (username)): fix the named parameter"#]],
    )
    .await;
    assert_eq!(
        err.failure().unwrap().message_detail.as_deref(),
        Some("username")
    );
}

#[tokio::test]
async fn duplicate_40003() {
    let err = check(
        fail(400, 40003, "Duplicate resource", Some("username")),
        "create_user",
        ErrorClass::Permanent,
        Some(40003),
        expect![[r#"Duo says the object already exists for POST /admin/v1/users (HTTP 400, code 40003: Duplicate resource (username)): look it up and link it instead of creating it"#]],
    )
    .await;
    assert!(matches!(err, DuoError::Duplicate { .. }));
}

#[tokio::test]
async fn server_error_on_a_read_is_transient() {
    check(
        plain(502, "<html>bad gateway</html>"),
        "get_user",
        ErrorClass::Transient,
        None,
        expect![[r#"Duo failed GET /admin/v1/users/DU1 (HTTP 502: Bad Gateway) after 1 attempts: Duo is having trouble; try again later"#]],
    )
    .await;
}

#[tokio::test]
async fn unreadable_answer_is_a_decode_error() {
    check(
        plain(200, "not json"),
        "get_user",
        ErrorClass::Permanent,
        None,
        expect![[r#"Duo's answer to GET /admin/v1/users/DU1 could not be read: expected ident at line 1 column 2 (first bytes: "not json")"#]],
    )
    .await;
}

#[tokio::test]
async fn fail_envelope_with_http_200_is_an_error() {
    let err = error_for(
        Ok(duo_client::HttpResponse {
            date: None,
            status: 200,
            retry_after: None,
            body: br#"{"stat":"FAIL","code":40002,"message":"Invalid request parameters","message_detail":"limit"}"#.to_vec(),
        }),
        "list_users",
    )
    .await;
    assert!(matches!(err, DuoError::BadRequest { .. }), "{err:?}");
    assert_eq!(err.code(), Some(40002));
}
