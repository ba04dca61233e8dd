//! The client secret and access tokens never reach logs, `Debug` output or error text;
//! the response's correlation id does reach the logs.

use std::io::Write;
use std::sync::{Arc, Mutex};

use pingone_client::{PingOneClient, UserFields};
use serde_json::json;

use crate::mock::{ACCESS_TOKEN, CLIENT_SECRET, Mock, Reply};

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn secrets_stay_out_of_logs_debug_and_errors() {
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // Global, so callsites first hit by parallel tests are enabled too; their logs land in
    // the same buffer and are held to the same rule.
    tracing::subscriber::set_global_default(subscriber).expect("only this test sets a subscriber");

    let mock = Mock::start(vec![
        Reply::json(401, json!({"code": "ACCESS_FAILED"})),
        Reply::json(200, json!({"id": "u1", "username": "a"})).header("correlation-id", "corr-7731"),
        Reply::json(503, json!({})),
        Reply::json(400, json!({"code": "INVALID_DATA", "details": [{"code": "REQUIRED_VALUE", "target": "email"}]})),
        Reply::json(500, json!({})),
    ])
    .await;
    let cfg = mock.config();
    let mut texts = vec![format!("{cfg:?}")];
    let client = PingOneClient::new(cfg)
        .unwrap()
        .with_transaction_id("run-1");
    texts.push(format!("{client:?}"));
    client.get_user("u1").await.unwrap();
    let err = client.get_user("u1").await.unwrap_err();
    texts.push(format!("{err} {err:?}"));
    let err = client
        .create_user(&UserFields {
            username: Some("b".into()),
            ..UserFields::default()
        })
        .await
        .unwrap_err();
    texts.push(format!("{err} {err:?}"));

    // A token endpoint that refuses: its error must not echo the secret either.
    let mut bad = mock.config();
    bad.auth_base = Some("http://127.0.0.1:1".into());
    bad.retry.max_attempts = 1;
    let err = PingOneClient::new(bad)
        .unwrap()
        .get_user("u1")
        .await
        .unwrap_err();
    texts.push(format!("{err} {err:?}"));

    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("corr-7731"),
        "correlation id not logged:\n{logs}"
    );
    assert!(logs.contains("pingone_request"), "no request span:\n{logs}");
    texts.push(logs);
    for text in &texts {
        for secret in [CLIENT_SECRET, ACCESS_TOKEN] {
            assert!(!text.contains(secret), "{secret} leaked into:\n{text}");
        }
        assert!(
            !text.contains("Bearer "),
            "Authorization header leaked into:\n{text}"
        );
    }
}
