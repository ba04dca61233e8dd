//! Issue 15, duo-client: what real Duo does that the first simulator did
//! not. A 500/50001 is Duo's generic internal error (retried on idempotent
//! calls; a one-to-many limit is told apart by counting), `Retry-After`
//! never panics, lookups are paced as page reads, and `null` in paging
//! metadata or list fields does not fail a page.

use std::time::{Duration, SystemTime};

use duo_client::retry::parse_retry_after;
use duo_client::transport::HttpResponse;
use duo_client::{DuoClient, DuoError, ErrorClass, RateLimits, RetryPolicy, UserUpdate};

use crate::mock::*;

fn generic_500() -> Answer {
    fail(500, 50001, "Unknown internal server error", None)
}

fn page(response: serde_json::Value, metadata: serde_json::Value) -> Answer {
    Ok(HttpResponse {
        date: None,
        status: 200,
        retry_after: None,
        body: serde_json::to_vec(
            &serde_json::json!({"stat": "OK", "response": response, "metadata": metadata}),
        )
        .unwrap(),
    })
}

#[tokio::test(start_paused = true)]
async fn a_generic_500_on_a_page_read_is_retried() {
    let script = Scripted::new([
        generic_500(),
        page(
            serde_json::json!([user_json("DU1", "a")]),
            serde_json::json!({"total_objects": 1}),
        ),
    ]);
    let duo = client(&script);
    let users = duo.list_users().await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(script.gaps(), vec![1.0]);
}

#[tokio::test(start_paused = true)]
async fn a_generic_500_on_a_modify_is_retried_then_transient() {
    let script = Scripted::new((0..7).map(|_| generic_500()));
    let duo = client(&script);
    let err = duo
        .modify_user("DU1", &UserUpdate::default())
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient, "{err:?}");
    assert!(
        matches!(err, DuoError::Server { attempts: 7, .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), Some(50001));
    assert_eq!(script.requests().len(), 7);
}

#[tokio::test(start_paused = true)]
async fn a_generic_500_on_an_association_below_the_limit_is_retried() {
    let phones: Vec<_> = (0..3)
        .map(|i| serde_json::json!({"phone_id": format!("DP{i}")}))
        .collect();
    let script = Scripted::new([
        generic_500(),
        // counting: the user's phones, then the phone's users
        page(
            serde_json::json!(phones),
            serde_json::json!({"total_objects": 3}),
        ),
        ok(serde_json::json!({"phone_id": "DP1", "users": [user_json("DU2", "b")]})),
        ok(serde_json::json!("")),
    ]);
    let duo = client(&script);
    duo.associate_phone("DU1", "DP1").await.unwrap();
    let paths: Vec<String> = script.requests().iter().map(|r| r.url.clone()).collect();
    assert_eq!(paths.len(), 4, "{paths:?}");
    assert!(
        paths[1].contains("/admin/v1/users/DU1/phones?"),
        "{paths:?}"
    );
    assert!(paths[2].ends_with("/admin/v1/phones/DP1"), "{paths:?}");
}

#[tokio::test(start_paused = true)]
async fn a_generic_500_on_an_association_at_the_limit_is_a_limit() {
    let groups: Vec<_> = (0..100)
        .map(|i| serde_json::json!({"group_id": format!("DG{i}"), "name": format!("g{i}")}))
        .collect();
    let script = Scripted::new([
        generic_500(),
        page(
            serde_json::json!(groups),
            serde_json::json!({"total_objects": 100}),
        ),
    ]);
    let duo = client(&script);
    let err = duo.add_user_to_group("DU1", "DG100").await.unwrap_err();
    assert!(matches!(err, DuoError::LimitExceeded { .. }), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Permanent);
    assert!(err.to_string().contains("100"), "{err}");
    assert_eq!(script.requests().len(), 2, "counted once, not retried");
}

#[test]
fn huge_retry_after_values_are_capped_not_a_panic() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_354_900_680);
    for v in ["1e20", "1e300", "18446744073709551616", "1.8e19"] {
        let got = parse_retry_after(v, now).expect(v);
        assert!(got <= Duration::from_secs(1_000_000_000), "{v}: {got:?}");
    }
    // ...and the policy still caps what it waits.
    let p = RetryPolicy::default();
    assert_eq!(
        p.delay(1, parse_retry_after("1e20", now)),
        p.max_retry_after
    );
}

#[tokio::test(start_paused = true)]
async fn lookups_are_paced_as_page_reads() {
    let script = Scripted::new([
        ok(serde_json::json!([user_json("DU1", "a")])),
        ok(serde_json::json!([user_json("DU1", "a")])),
        ok(serde_json::json!([])),
        ok(serde_json::json!([])),
    ]);
    let mut cfg = config(RetryPolicy::none());
    cfg.rate_limits = RateLimits {
        writes_per_minute: None,
        reads_per_minute: None,
        pages_per_minute: std::num::NonZeroU32::new(60),
        burst: std::num::NonZeroU32::new(1).unwrap(),
        ..RateLimits::off()
    };
    let duo = DuoClient::with_transport(cfg, script.clone()).unwrap();
    duo.get_user_by_username("a").await.unwrap();
    duo.get_user_by_username("a").await.unwrap();
    duo.find_phone_by_number("+15555550100", None)
        .await
        .unwrap();
    duo.find_phone_by_number("+15555550101", None)
        .await
        .unwrap();
    // 60 pages per minute, burst 1: one lookup a second.
    assert_eq!(script.gaps(), vec![1.0, 1.0, 1.0]);
}

#[tokio::test(start_paused = true)]
async fn nulls_in_paging_metadata_and_list_fields_do_not_fail_a_page() {
    let script = Scripted::new([page(
        serde_json::json!([
            {"user_id": "DU1", "username": "a", "aliases": null, "groups": null,
             "phones": [{"phone_id": "DP1", "number": "15555550100",
                         "capabilities": null, "users": null, "last_seen": null}],
             "alias1": null, "last_login": null},
            {"user_id": "DU2", "username": "b", "phones": null}
        ]),
        serde_json::json!({"total_objects": "2", "prev_offset": null, "next_offset": null}),
    )]);
    let duo = client(&script);
    let users = duo.list_users().await.unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0].phones.len(), 1);
    assert!(users[0].phones[0].capabilities.is_empty());
    assert!(users[1].phones.is_empty());
    assert_eq!(script.requests().len(), 1);
}
