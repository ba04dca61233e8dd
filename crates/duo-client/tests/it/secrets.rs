//! The secret key and the `Authorization` value never reach logs, `Debug`
//! output or error text.

use std::io::Write;
use std::sync::{Arc, Mutex};

use duo_client::{DuoClient, NewUser, RetryPolicy, TransportFailure};

use crate::mock::*;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

fn assert_clean(what: &str, text: &str, auths: &[String]) {
    assert!(!text.contains(SKEY), "{what} leaks the secret key: {text}");
    for a in auths {
        let sig = a.trim_start_matches("Basic ");
        assert!(
            !text.contains(sig),
            "{what} leaks an Authorization value: {text}"
        );
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn secrets_stay_out_of_logs_debug_and_errors() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let script = Scripted::new([
        too_many(Some("1")),
        fail(401, 40103, "Invalid signature in request credentials", None),
        no_answer(TransportFailure::Timeout),
        ok(user_json("DU1", "alice")),
    ]);
    let duo = client_with(
        &script,
        RetryPolicy {
            jitter: std::time::Duration::ZERO,
            ..RetryPolicy::default()
        },
    );
    let mut errors = Vec::new();
    errors.push(duo.list_users().await.unwrap_err());
    errors.push(duo.create_user(&NewUser::new("bob")).await.unwrap_err());
    duo.get_user("DU1").await.unwrap();

    let auths: Vec<String> = script
        .requests()
        .iter()
        .map(|r| r.header("Authorization").unwrap().to_owned())
        .collect();
    assert_eq!(auths.len(), 4);
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("duo_request") && logs.contains("attempt"),
        "spans are logged: {logs}"
    );
    assert!(
        logs.contains("status=429"),
        "the status is recorded: {logs}"
    );
    assert_clean("the log", &logs, &auths);
    assert!(
        !logs.to_ascii_lowercase().contains("authorization"),
        "the log names the Authorization header: {logs}"
    );
    for e in &errors {
        assert_clean("an error", &format!("{e} {e:?}"), &auths);
    }
    assert_clean("the client's Debug", &format!("{duo:?}"), &auths);
    assert_clean(
        "the config's Debug",
        &format!("{:?}", config(RetryPolicy::default())),
        &auths,
    );
    for r in script.requests() {
        assert_clean("a request's Debug", &format!("{r:?}"), &auths);
    }
    let real = DuoClient::new(config(RetryPolicy::default())).unwrap();
    assert_clean("the real client's Debug", &format!("{real:?}"), &auths);
}
