//! Retry schedules under tokio's paused clock against the scripted mock: `Retry-After`
//! in both forms and capped, exponential backoff, bounded attempts, creates not re-sent
//! blindly, 401 renewal, the transaction id header.

use std::time::Duration;

use pingone_client::{Error, GroupFields, PingOneClient, RetryPolicy, UserFields};
use serde_json::json;
use tokio::time::Instant;

use crate::mock::{Mock, Reply};

fn gaps(mock: &Mock) -> Vec<Duration> {
    let seen = mock.seen();
    seen.windows(2).map(|w| w[1].at - w[0].at).collect()
}

fn user() -> serde_json::Value {
    json!({"id": "u1", "username": "a"})
}

#[tokio::test(start_paused = true)]
async fn retry_after_seconds_is_honoured() {
    let mock = Mock::start(vec![
        Reply::json(429, json!({"code": "REQUEST_LIMITED"})).header("retry-after", "3"),
        Reply::json(200, user()),
    ])
    .await;
    let client = PingOneClient::new(mock.config()).unwrap();
    assert_eq!(client.throttled_responses(), 0);
    client.get_user("u1").await.unwrap();
    assert_eq!(gaps(&mock), [Duration::from_secs(3)]);
    // The retried 429 is still counted, for the agent's `api_throttled` metric.
    assert_eq!(client.throttled_responses(), 1);
}

#[tokio::test(start_paused = true)]
async fn retry_after_http_date_is_honoured_and_capped() {
    let far = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(3600));
    let mock = Mock::start(vec![
        Reply::json(503, json!({})).header("retry-after", far),
        Reply::json(200, user()),
    ])
    .await;
    let client = PingOneClient::new(mock.config()).unwrap();
    client.get_user("u1").await.unwrap();
    assert_eq!(
        gaps(&mock),
        [Duration::from_secs(30)],
        "capped at retry_after_cap"
    );
}

#[tokio::test(start_paused = true)]
async fn without_retry_after_the_backoff_doubles() {
    let mock = Mock::start(vec![
        Reply::json(500, json!({"code": "UNEXPECTED_ERROR"})),
        Reply::json(502, json!({})),
        Reply::json(408, json!({})),
        Reply::json(200, user()),
    ])
    .await;
    let client = PingOneClient::new(mock.config()).unwrap();
    client.get_user("u1").await.unwrap();
    assert_eq!(
        gaps(&mock),
        [
            Duration::from_secs(1),
            Duration::from_secs(2),
            Duration::from_secs(4)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn jittered_backoff_stays_within_its_bounds() {
    let mock = Mock::start(vec![
        Reply::json(500, json!({})),
        Reply::json(500, json!({})),
        Reply::json(200, user()),
    ])
    .await;
    let mut cfg = mock.config();
    cfg.retry.jitter = 0.5;
    let client = PingOneClient::new(cfg).unwrap();
    client.get_user("u1").await.unwrap();
    let g = gaps(&mock);
    assert!(
        g[0] >= Duration::from_secs(1) && g[0] <= Duration::from_millis(1500),
        "{g:?}"
    );
    assert!(
        g[1] >= Duration::from_secs(2) && g[1] <= Duration::from_secs(3),
        "{g:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn attempts_are_bounded_and_the_last_error_is_returned() {
    let replies = (0..10)
        .map(|_| Reply::json(503, json!({"message": "busy"})))
        .collect();
    let mock = Mock::start(replies).await;
    let mut cfg = mock.config();
    cfg.retry = RetryPolicy {
        max_attempts: 4,
        jitter: 0.0,
        ..RetryPolicy::default()
    };
    let client = PingOneClient::new(cfg).unwrap();
    let start = Instant::now();
    let err = client.get_user("u1").await.unwrap_err();
    assert!(matches!(err, Error::Server { status: 503, .. }), "{err:?}");
    assert!(err.is_transient());
    assert_eq!(mock.seen().len(), 4);
    assert_eq!(start.elapsed(), Duration::from_secs(1 + 2 + 4));
}

#[tokio::test(start_paused = true)]
async fn a_create_with_an_unknown_outcome_is_not_resent() {
    let mock = Mock::start(vec![Reply::json(500, json!({})), Reply::json(201, user())]).await;
    let client = PingOneClient::new(mock.config()).unwrap();
    let fields = UserFields {
        username: Some("a".into()),
        ..UserFields::default()
    };
    let err = client.create_user(&fields).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert!(!err.is_transient());
    assert_eq!(mock.seen().len(), 1, "not sent twice");
    assert_eq!(mock.seen()[0].method, "POST");
    assert!(err.to_string().contains("new user \"a\""), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_create_refused_with_429_is_retried() {
    let mock = Mock::start(vec![
        Reply::json(429, json!({})).header("retry-after", "2"),
        Reply::json(201, json!({"id": "g1", "name": "G"})),
    ])
    .await;
    let client = PingOneClient::new(mock.config()).unwrap();
    let g = client
        .create_group(&GroupFields {
            name: "G".into(),
            ..GroupFields::default()
        })
        .await
        .unwrap();
    assert_eq!(g.id, "g1");
    assert_eq!(gaps(&mock), [Duration::from_secs(2)]);
}

#[tokio::test(start_paused = true)]
async fn a_delete_whose_first_answer_was_lost_counts_404_as_done() {
    let mock = Mock::start(vec![
        Reply::json(502, json!({})),
        Reply::json(404, json!({"code": "NOT_FOUND"})),
    ])
    .await;
    let client = PingOneClient::new(mock.config()).unwrap();
    client.delete_user("u1").await.unwrap();
    let plain = Mock::start(vec![Reply::json(404, json!({"code": "NOT_FOUND"}))]).await;
    let client = PingOneClient::new(plain.config()).unwrap();
    assert!(client.delete_user("u1").await.unwrap_err().is_not_found());
}

#[tokio::test(start_paused = true)]
async fn a_401_renews_the_token_once_then_gives_up() {
    let denied = || {
        Reply::json(
            401,
            json!({"code": "ACCESS_FAILED", "details": [{"code": "INVALID_TOKEN"}]}),
        )
    };
    let mock = Mock::start(vec![denied(), Reply::json(200, user())]).await;
    let client = PingOneClient::new(mock.config()).unwrap();
    client.get_user("u1").await.unwrap();
    assert_eq!(mock.token_requests(), 2);

    let mock = Mock::start(vec![denied(), denied(), denied()]).await;
    let client = PingOneClient::new(mock.config()).unwrap();
    let err = client.get_user("u1").await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    assert_eq!(mock.seen().len(), 2);
    assert_eq!(mock.token_requests(), 2);
}

#[tokio::test(start_paused = true)]
async fn the_transaction_id_header_is_sent_and_sanitised() {
    let mock = Mock::start(vec![Reply::json(200, user()), Reply::json(200, user())]).await;
    let client = PingOneClient::new(mock.config()).unwrap();
    client.get_user("u1").await.unwrap();
    client
        .with_transaction_id("run 42/ä:e\u{301}@x=y#1+2")
        .get_user("u1")
        .await
        .unwrap();
    let seen = mock.seen();
    assert!(
        seen[0]
            .headers
            .get("x-ping-external-transaction-id")
            .is_none()
    );
    assert_eq!(
        seen[1].headers["x-ping-external-transaction-id"], "run_42/ä_e\u{301}@x=y#1+2",
        "PingOne's character set: letters, marks, digits and . _ - / @ = # +"
    );
    assert_eq!(seen[1].path, "/v1/environments/env-mock/users/u1");
}

#[tokio::test(start_paused = true)]
async fn without_the_header_a_429_waits_for_inner_error_retry_after() {
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(7);
    let at = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let mock = Mock::start(vec![
        Reply::json(
            429,
            json!({"code": "REQUEST_LIMITED", "details": [{"code": "LIMIT_EXCEEDED", "innerError": {"retryAfter": at}}]}),
        ),
        Reply::json(200, user()),
    ])
    .await;
    let client = PingOneClient::new(mock.config()).unwrap();
    client.get_user("u1").await.unwrap();
    let g = gaps(&mock)[0];
    assert!(
        g > Duration::from_secs(5) && g <= Duration::from_secs(7),
        "waited {g:?}, not the backoff"
    );
}

/// What a caller's metrics hear from the client.
#[derive(Debug, Default)]
struct Heard(std::sync::Mutex<Vec<String>>);

impl pingone_client::CallObserver for Heard {
    fn sending(&self, paced: Duration) {
        let waited = if paced.is_zero() { "no wait" } else { "paced" };
        self.0.lock().unwrap().push(format!("send, {waited}"));
    }
    fn throttled(&self, retry_in: Option<Duration>) {
        self.0
            .lock()
            .unwrap()
            .push(format!("429, retry in {:?}", retry_in.map(|d| d.as_secs())));
    }
}

#[tokio::test(start_paused = true)]
async fn the_observer_hears_every_request_its_pacing_wait_and_each_429() {
    let mock = Mock::start(vec![
        Reply::json(429, json!({"code": "REQUEST_LIMITED"})).header("retry-after", "3"),
        Reply::json(200, user()),
    ])
    .await;
    let heard = std::sync::Arc::new(Heard::default());
    let mut config = mock.config();
    config.observer = Some(heard.clone());
    // Two a second, burst one: the retry right after the first request waits
    // (governor's own clock: half a second of real time).
    config.requests_per_second = std::num::NonZeroU32::new(2);
    let client = PingOneClient::new(config).unwrap();
    client.get_user("u1").await.unwrap();
    assert_eq!(
        *heard.0.lock().unwrap(),
        ["send, no wait", "429, retry in Some(3)", "send, paced"]
    );
}
