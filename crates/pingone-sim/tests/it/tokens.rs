//! Token endpoint: basic and post auth, wrong credentials, expiry and 401s.

use crate::common::{client, start};
use pingone_sim::{PingOneSim, SimConfig, TokenAuthMethod};
use serde_json::Value;
use std::time::Duration;

async fn status_of(res: reqwest::Response) -> (u16, Value) {
    let s = res.status().as_u16();
    (s, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn basic_and_post_both_issue_bearer_tokens() {
    let sim = PingOneSim::start(SimConfig::default()).await.unwrap();
    let http = client();
    let (s, basic) = status_of(
        http.post(sim.token_url())
            .basic_auth("sim-client", Some("sim-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(basic["token_type"], "Bearer");
    assert_eq!(basic["expires_in"], 3600);
    let (s, post) = status_of(
        http.post(sim.token_url())
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "sim-client"),
                ("client_secret", "sim-secret"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    assert_ne!(basic["access_token"], post["access_token"]);
    for t in [&basic, &post] {
        let r = http
            .get(format!(
                "{}/environments/{}/users",
                sim.api_url(),
                sim.env_id()
            ))
            .bearer_auth(t["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    assert_eq!(sim.token_requests(), 2);
}

#[tokio::test]
async fn bad_client_credentials_are_refused_without_echoing_the_secret() {
    let sim = PingOneSim::start(SimConfig {
        token_auth_method: Some(TokenAuthMethod::ClientSecretBasic),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let http = client();
    let cases = [
        (
            http.post(sim.token_url())
                .basic_auth("sim-client", Some("wrong-secret"))
                .form(&[("grant_type", "client_credentials")]),
            401,
            "invalid_client",
        ),
        (
            http.post(sim.token_url()).form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "sim-client"),
                ("client_secret", "sim-secret"),
            ]),
            401,
            "invalid_client",
        ),
        (
            http.post(sim.token_url())
                .basic_auth("sim-client", Some("sim-secret"))
                .form(&[("grant_type", "password")]),
            400,
            "unsupported_grant_type",
        ),
        (
            http.post(sim.token_url())
                .form(&[("grant_type", "client_credentials")]),
            401,
            "invalid_client",
        ),
        (
            http.post(sim.token_url())
                .basic_auth("sim-client", Some("sim-secret"))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", "sim-client"),
                    ("client_secret", "sim-secret"),
                ]),
            400,
            "invalid_request",
        ),
    ];
    for (req, status, error) in cases {
        let res = req.send().await.unwrap();
        assert_eq!(res.status().as_u16(), status);
        let text = res.text().await.unwrap();
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["error"], error, "{text}");
        assert!(
            !text.contains("sim-secret") && !text.contains("wrong-secret"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn api_calls_without_a_valid_token_get_401_invalid_token() {
    let api = start(SimConfig::default()).await;
    let url = api.url("/users");
    for req in [
        api.http.get(&url),
        api.http.get(&url).bearer_auth("not-a-token"),
    ] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401);
        assert!(res.headers().get("www-authenticate").is_some());
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "ACCESS_FAILED");
        assert_eq!(body["details"][0]["code"], "INVALID_TOKEN");
    }
    api.sim.revoke_tokens();
    assert_eq!(api.get("/users").await.status, 401);
}

#[tokio::test(start_paused = true)]
async fn tokens_expire_after_their_ttl() {
    let api = start(SimConfig {
        token_ttl: Duration::from_secs(60),
        ..SimConfig::default()
    })
    .await;
    tokio::time::advance(Duration::from_secs(59)).await;
    assert_eq!(api.get("/users").await.status, 200);
    tokio::time::advance(Duration::from_secs(2)).await;
    let r = api.get("/users").await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body["details"][0]["message"],
        "The access token has expired."
    );
}

#[tokio::test]
async fn a_token_does_not_open_another_environment() {
    let api = start(SimConfig::default()).await;
    let r = api
        .raw(
            reqwest::Method::GET,
            &format!("{}/environments/other-env/users", api.sim.api_url()),
            None,
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["code"], "ACCESS_FAILED");
    api.sim.set_forbidden(true);
    let r = api.get("/users").await;
    assert_eq!(
        (r.status, r.body["details"][0]["code"].as_str()),
        (403, Some("INSUFFICIENT_PERMISSIONS"))
    );
}

#[test]
fn config_debug_hides_the_secret() {
    let cfg = SimConfig {
        client_secret: "s3cr3t-value".into(),
        ..SimConfig::default()
    };
    let text = format!("{cfg:?}");
    assert!(!text.contains("s3cr3t-value"), "{text}");
    assert!(text.contains("redacted"));
}
