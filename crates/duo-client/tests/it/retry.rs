//! Retries under tokio's paused time: the 1→32 s schedule, jitter bounds,
//! `Retry-After`, bounded attempts returning the last real error, and the
//! rule that a create which may have been applied is never re-sent.

use std::time::Duration;

use duo_client::{DuoError, NewUser, RetryPolicy, TransportFailure};

use crate::mock::*;

#[tokio::test(start_paused = true)]
async fn rate_limited_calls_back_off_1_2_4_8_16_32_seconds() {
    let script = Scripted::new(
        (0..6)
            .map(|_| too_many(None))
            .chain([ok(user_json("DU1", "a"))]),
    );
    let duo = client(&script);
    let user = duo.get_user("DU1").await.unwrap();
    assert_eq!(user.username, "a");
    assert_eq!(script.gaps(), vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0]);
    // Every 429 is counted for the caller's metrics, as pingone-client does.
    assert_eq!(duo.clone().throttled_responses(), 6);
}

#[tokio::test(start_paused = true)]
async fn jitter_adds_less_than_a_second_to_each_wait() {
    let script = Scripted::new(
        (0..6)
            .map(|_| too_many(None))
            .chain([ok(user_json("DU1", "a"))]),
    );
    let duo = client_with(&script, RetryPolicy::default());
    duo.get_user("DU1").await.unwrap();
    let gaps = script.gaps();
    // The jitter itself stays under a second (`retry.rs`'s unit test checks
    // the bound exactly); here, each wait is the back-off plus some jitter.
    for (gap, base) in gaps.iter().zip([1.0, 2.0, 4.0, 8.0, 16.0, 32.0]) {
        assert!(*gap >= base, "gap {gap} for base {base}: {gaps:?}");
    }
    assert!(
        gaps.iter().any(|g| g.fract() > 0.0),
        "no jitter at all: {gaps:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_instead_of_the_backoff() {
    let script = Scripted::new([
        too_many(Some("7")),
        too_many(Some("0")),
        ok(user_json("DU1", "a")),
    ]);
    let duo = client(&script);
    duo.get_user("DU1").await.unwrap();
    assert_eq!(script.gaps(), vec![7.0, 0.0]);
}

#[tokio::test(start_paused = true)]
async fn attempts_are_bounded_and_the_last_429_is_returned() {
    let script = Scripted::new((0..7).map(|_| too_many(None)));
    let duo = client(&script);
    let start = tokio::time::Instant::now();
    let err = duo.get_user("DU1").await.unwrap_err();
    assert!(
        matches!(err, DuoError::RateLimited { attempts: 7, .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), Some(42901));
    assert!(err.is_transient());
    assert_eq!(script.requests().len(), 7);
    assert_eq!(start.elapsed(), Duration::from_secs(63));
}

#[tokio::test(start_paused = true)]
async fn the_last_real_error_is_returned_not_a_generic_one() {
    let script = Scripted::new([
        plain(503, "busy"),
        fail(500, 50000, "Internal server error", None),
        fail(404, 40401, "Resource not found", None),
    ]);
    let duo = client(&script);
    let err = duo.get_user("DU1").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(script.gaps(), vec![1.0, 2.0]);
}

#[tokio::test(start_paused = true)]
async fn reads_retry_server_errors_and_broken_connections() {
    let script = Scripted::new([
        fail(500, 50000, "Internal server error", None),
        no_answer(TransportFailure::Broken),
        no_answer(TransportFailure::Timeout),
        ok(user_json("DU1", "a")),
    ]);
    let duo = client(&script);
    assert_eq!(duo.get_user("DU1").await.unwrap().user_id, "DU1");
    assert_eq!(script.requests().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn network_failures_end_in_a_transport_error_after_all_attempts() {
    let script = Scripted::new((0..3).map(|_| no_answer(TransportFailure::Connect)));
    let duo = client_with(
        &script,
        RetryPolicy {
            max_attempts: 3,
            jitter: Duration::ZERO,
            ..RetryPolicy::default()
        },
    );
    let err = duo.list_users().await.unwrap_err();
    assert!(
        matches!(
            err,
            DuoError::Transport {
                kind: TransportFailure::Connect,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
}

#[tokio::test(start_paused = true)]
async fn a_create_that_timed_out_is_not_resent() {
    for failure in [TransportFailure::Timeout, TransportFailure::Broken] {
        let script = Scripted::new([no_answer(failure)]);
        let duo = client(&script);
        let err = duo.create_user(&NewUser::new("alice")).await.unwrap_err();
        assert!(err.is_outcome_unknown(), "{err:?}");
        assert!(err.to_string().contains("look the object up"), "{err}");
        assert_eq!(
            script.requests().len(),
            1,
            "a create that may have been applied must not be re-sent"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_create_answered_500_is_not_resent() {
    let script = Scripted::new([fail(500, 50000, "Internal server error", None)]);
    let duo = client(&script);
    let err = duo.create_user(&NewUser::new("alice")).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(script.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_create_is_resent_when_duo_certainly_did_nothing() {
    // 429 (rate limiter runs first), 503 (unavailable) and a failed connect.
    let script = Scripted::new([
        too_many(None),
        plain(503, "Service Unavailable"),
        no_answer(TransportFailure::Connect),
        ok(user_json("DU9", "alice")),
    ]);
    let duo = client(&script);
    let user = duo.create_user(&NewUser::new("alice")).await.unwrap();
    assert_eq!(user.user_id, "DU9");
    assert_eq!(script.requests().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn every_attempt_is_signed_afresh() {
    let script = Scripted::new([
        too_many(None),
        plain(503, "busy"),
        ok(user_json("DU1", "a")),
    ]);
    let tick = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(1_354_900_680));
    let dates: duo_client::DateSource = {
        let tick = tick.clone();
        std::sync::Arc::new(move || {
            duo_client::sign::format_date(tick.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
        })
    };
    let retry = RetryPolicy {
        jitter: Duration::ZERO,
        ..RetryPolicy::default()
    };
    let duo = duo_client::DuoClient::with_parts(config(retry), script.clone(), dates).unwrap();
    duo.get_user("DU1").await.unwrap();
    let reqs = script.requests();
    let dates: Vec<&str> = reqs.iter().map(|r| r.header("Date").unwrap()).collect();
    assert_eq!(
        dates,
        [
            "Fri, 07 Dec 2012 17:18:00 -0000",
            "Fri, 07 Dec 2012 17:18:01 -0000",
            "Fri, 07 Dec 2012 17:18:02 -0000"
        ]
    );
    let auths: std::collections::BTreeSet<&str> = reqs
        .iter()
        .map(|r| r.header("Authorization").unwrap())
        .collect();
    assert_eq!(auths.len(), 3, "each attempt carries its own signature");
    for r in &reqs {
        let expected = duo.prepare(
            &r.method,
            "/admin/v1/users/DU1",
            &duo_client::Params::new(),
            r.header("Date").unwrap(),
        );
        assert_eq!(r.header("Authorization"), expected.header("Authorization"));
    }
}

/// What a caller's metrics hear from the client.
#[derive(Debug, Default)]
struct Heard(std::sync::Mutex<Vec<String>>);

impl duo_client::CallObserver for Heard {
    fn sending(&self, class: duo_client::EndpointClass, paced: Duration) {
        self.0
            .lock()
            .unwrap()
            .push(format!("send {class:?} paced {}s", paced.as_secs_f64()));
    }
    fn throttled(&self, retry_in: Option<Duration>) {
        self.0
            .lock()
            .unwrap()
            .push(format!("429 retry in {:?}", retry_in.map(|d| d.as_secs())));
    }
}

#[tokio::test(start_paused = true)]
async fn the_observer_hears_every_attempt_its_pacing_wait_and_each_429() {
    let script = Scripted::new([
        ok(user_json("DU1", "a")),
        too_many(None),
        ok(user_json("DU1", "a")),
        too_many(None),
        too_many(None),
    ]);
    let heard = std::sync::Arc::new(Heard::default());
    let mut c = config(RetryPolicy {
        jitter: Duration::ZERO,
        max_attempts: 2,
        ..RetryPolicy::default()
    });
    // One read a second after a burst of one: the second read waits a second.
    c.rate_limits = duo_client::RateLimits {
        reads_per_minute: std::num::NonZeroU32::new(60),
        burst: std::num::NonZeroU32::MIN,
        ..duo_client::RateLimits::off()
    };
    c.observer = Some(heard.clone());
    let duo = duo_client::DuoClient::with_transport(c, script.clone()).unwrap();
    duo.get_user("DU1").await.unwrap();
    duo.get_user("DU1").await.unwrap();
    duo.get_user("DU1").await.unwrap_err();
    assert_eq!(
        *heard.0.lock().unwrap(),
        [
            "send Read paced 0s",
            "send Read paced 1s",
            "429 retry in Some(1)",
            "send Read paced 0s",
            "send Read paced 1s",
            "429 retry in Some(1)",
            "send Read paced 0s",
            "429 retry in None",
        ]
    );
}
