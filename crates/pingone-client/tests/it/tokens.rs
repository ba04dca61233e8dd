//! Token handling: one token request for many waiting calls, renewal before expiry,
//! renewal after a 401, both token auth methods.

use std::time::Duration;

use futures::future::join_all;
use pingone_client::{Error, PingOneClient, TokenAuthMethod};
use pingone_sim::{SimConfig, TokenAuthMethod as SimMethod};
use serde_json::json;

use crate::{config_for, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_waiting_calls_share_one_token_request() {
    let (sim, client) = start(SimConfig::default()).await;
    let id = sim
        .create_user(json!({"username": "u", "email": "u@example.com"}))
        .unwrap();
    let calls = (0..64).map(|_| {
        let c = client.clone();
        let id = id.clone();
        tokio::spawn(async move { c.get_user(&id).await })
    });
    for r in join_all(calls).await {
        r.unwrap().unwrap();
    }
    assert_eq!(sim.token_requests(), 1);
    assert_eq!(client.token_requests(), 1);
}

#[tokio::test(start_paused = true)]
async fn token_is_renewed_shortly_before_it_expires() {
    let cfg = SimConfig {
        token_ttl: Duration::from_secs(300),
        ..SimConfig::default()
    };
    let (sim, client) = start(cfg).await;
    let id = sim
        .create_user(json!({"username": "u", "email": "u@example.com"}))
        .unwrap();
    client.get_user(&id).await.unwrap();
    tokio::time::advance(Duration::from_secs(200)).await;
    client.get_user(&id).await.unwrap();
    assert_eq!(sim.token_requests(), 1, "still fresh at 200 s of 300 s");
    // 60 s before expiry the cached token is replaced before use.
    tokio::time::advance(Duration::from_secs(45)).await;
    client.get_user(&id).await.unwrap();
    assert_eq!(sim.token_requests(), 2);
    // Long after expiry: a new token again, and no 401 on the way.
    tokio::time::advance(Duration::from_secs(3600)).await;
    client.get_user(&id).await.unwrap();
    assert_eq!(sim.token_requests(), 3);
    assert_eq!(sim.stats().by_status.get("401").copied().unwrap_or(0), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_renewed_once_and_the_call_retried() {
    let (sim, client) = start(SimConfig::default()).await;
    let id = sim
        .create_user(json!({"username": "u", "email": "u@example.com"}))
        .unwrap();
    client.get_user(&id).await.unwrap();
    sim.revoke_tokens();
    let calls = (0..16).map(|_| {
        let c = client.clone();
        let id = id.clone();
        tokio::spawn(async move { c.get_user(&id).await })
    });
    for r in join_all(calls).await {
        r.unwrap().unwrap();
    }
    assert_eq!(sim.token_requests(), 2, "one renewal for all the 401s");
}

#[tokio::test]
async fn both_token_auth_methods_work_and_a_mismatch_is_explained() {
    for (sim_method, ours) in [
        (
            SimMethod::ClientSecretBasic,
            TokenAuthMethod::ClientSecretBasic,
        ),
        (
            SimMethod::ClientSecretPost,
            TokenAuthMethod::ClientSecretPost,
        ),
    ] {
        let cfg = SimConfig {
            token_auth_method: Some(sim_method),
            ..SimConfig::default()
        };
        let (sim, _) = start(cfg).await;
        let mut c = config_for(&sim);
        c.token_auth_method = ours;
        let client = PingOneClient::new(c).unwrap();
        assert!(
            pingone_client::collect_all(client.list_populations())
                .await
                .is_ok()
        );

        let mut wrong = config_for(&sim);
        wrong.token_auth_method = match ours {
            TokenAuthMethod::ClientSecretBasic => TokenAuthMethod::ClientSecretPost,
            TokenAuthMethod::ClientSecretPost => TokenAuthMethod::ClientSecretBasic,
        };
        let client = PingOneClient::new(wrong).unwrap();
        let err = pingone_client::collect_all(client.list_populations())
            .await
            .unwrap_err();
        match &err {
            Error::Token {
                status: 401, code, ..
            } => assert_eq!(code, "invalid_client"),
            other => panic!("expected a token error, got {other:?}"),
        }
        assert!(!err.is_transient());
        assert!(err.to_string().contains("token auth method"), "{err}");
    }
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_token_endpoint_says_to_check_the_address_not_the_credentials() {
    let (sim, _) = start(SimConfig::default()).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut cfg = config_for(&sim);
    cfg.auth_base = Some(format!("http://{closed}"));
    let client = PingOneClient::new(cfg).unwrap();
    let err = pingone_client::collect_all(client.list_populations())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, Error::Token { status: 0, .. }),
        "expected an unreachable token endpoint: {err:?}"
    );
    assert!(
        text.contains("check the region (or auth_url) and that this host can reach it")
            && !text.contains("client_secret"),
        "{text}"
    );
}
