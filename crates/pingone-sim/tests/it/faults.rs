//! Seeded faults are reproducible; drops close the connection; the rate limit answers 429.

use crate::common::{start, user};
use pingone_sim::{Faults, SimConfig};
use std::time::Duration;

async fn outcomes(api: &crate::common::Api, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        let r = api
            .http
            .get(api.url("/populations"))
            .bearer_auth(&api.token)
            .send()
            .await;
        out.push(match r {
            Ok(r) => {
                let s = r.status().as_u16();
                let ra = r
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_string());
                let body = r.text().await.unwrap_or_default();
                if s == 429 {
                    assert!(body.contains("REQUEST_LIMITED"), "{body}");
                }
                format!("{s}/{}", ra.unwrap_or_default())
            }
            Err(_) => "dropped".to_string(),
        });
    }
    out
}

#[tokio::test]
async fn the_same_seed_gives_the_same_faults() {
    let api = start(SimConfig::default()).await;
    let f = Faults {
        seed: 7,
        server_error_rate: 0.15,
        too_many_requests_rate: 0.1,
        burst_length: 2,
        retry_after_rate: 0.5,
        drop_before_rate: 0.05,
        ..Faults::default()
    };
    api.sim.set_faults(f.clone());
    let a = outcomes(&api, 80).await;
    api.sim.set_faults(f);
    let b = outcomes(&api, 80).await;
    assert_eq!(a, b);
    for kind in ["200/", "500/", "503/1", "429/1", "429/", "dropped"] {
        assert!(a.iter().any(|o| o == kind), "no {kind} in {a:?}");
    }
    api.sim.set_faults(Faults::default());
    assert!(outcomes(&api, 5).await.iter().all(|o| o == "200/"));
}

#[tokio::test]
async fn drop_after_applies_the_change_but_sends_nothing() {
    let api = start(SimConfig::default()).await;
    api.sim.set_faults(Faults {
        drop_after_rate: 1.0,
        ..Faults::default()
    });
    let r = api
        .http
        .post(api.url("/users"))
        .bearer_auth(&api.token)
        .json(&user("hank"))
        .send()
        .await;
    assert!(
        r.is_err(),
        "no response expected, got {:?}",
        r.map(|r| r.status())
    );
    assert_eq!(api.sim.state().users[0].username, "hank");
    api.sim.set_faults(Faults {
        drop_before_rate: 1.0,
        ..Faults::default()
    });
    assert!(
        api.http
            .post(api.url("/users"))
            .bearer_auth(&api.token)
            .json(&user("ivan"))
            .send()
            .await
            .is_err()
    );
    assert_eq!(api.sim.state().users.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_rate_limit_answers_429_with_retry_after() {
    let api = start(SimConfig {
        rate_limit: Some(2),
        ..SimConfig::default()
    })
    .await;
    // The token request used one slot.
    assert_eq!(api.get("/users").await.status, 200);
    let r = api.get("/users").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body["code"], "REQUEST_LIMITED");
    assert_eq!(r.headers["retry-after"], "1");
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(api.get("/users").await.status, 200);
}

#[tokio::test(start_paused = true)]
async fn latency_is_added_on_tokio_time() {
    let api = start(SimConfig::default()).await;
    api.sim.set_faults(Faults {
        latency_ms: Some([200, 200]),
        ..Faults::default()
    });
    let t0 = tokio::time::Instant::now();
    assert_eq!(api.get("/users").await.status, 200);
    assert!(t0.elapsed() >= Duration::from_millis(200));
}
