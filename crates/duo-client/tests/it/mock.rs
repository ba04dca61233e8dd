//! A scripted [`Transport`]: answers from a queue, records every request
//! with the (tokio) time it arrived.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use duo_client::transport::{BoxFuture, HttpRequest, HttpResponse, Transport, TransportError};
use duo_client::{DuoClient, DuoConfig, RateLimits, RetryPolicy, TransportFailure};

pub const SKEY: &str = "s3cr3tSKEYs3cr3tSKEYs3cr3tSKEYs3cr3tSKEY";
pub const IKEY: &str = "DIMOCKMOCKMOCKMOCKMO";

pub type Answer = Result<HttpResponse, TransportError>;

#[derive(Default)]
pub struct Scripted {
    answers: Mutex<VecDeque<Answer>>,
    seen: Mutex<Vec<(tokio::time::Instant, HttpRequest)>>,
}

impl Scripted {
    pub fn new(answers: impl IntoIterator<Item = Answer>) -> Arc<Self> {
        Arc::new(Self {
            answers: Mutex::new(answers.into_iter().collect()),
            seen: Mutex::default(),
        })
    }

    pub fn requests(&self) -> Vec<HttpRequest> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(_, r)| r.clone())
            .collect()
    }

    /// Seconds between consecutive requests.
    pub fn gaps(&self) -> Vec<f64> {
        let seen = self.seen.lock().unwrap();
        seen.windows(2)
            .map(|w| (w[1].0 - w[0].0).as_secs_f64())
            .collect()
    }
}

impl Transport for Scripted {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        self.seen
            .lock()
            .unwrap()
            .push((tokio::time::Instant::now(), request));
        let answer = self
            .answers
            .lock()
            .unwrap()
            .pop_front()
            .expect("the script ran out of answers");
        Box::pin(async move { answer })
    }
}

pub fn ok(response: serde_json::Value) -> Answer {
    Ok(HttpResponse {
        date: None,
        status: 200,
        retry_after: None,
        body: serde_json::to_vec(&serde_json::json!({"stat": "OK", "response": response})).unwrap(),
    })
}

pub fn fail(status: u16, code: u32, message: &str, detail: Option<&str>) -> Answer {
    let mut body = serde_json::json!({"stat": "FAIL", "code": code, "message": message});
    if let Some(d) = detail {
        body["message_detail"] = d.into();
    }
    Ok(HttpResponse {
        date: None,
        status,
        retry_after: None,
        body: serde_json::to_vec(&body).unwrap(),
    })
}

pub fn too_many(retry_after: Option<&str>) -> Answer {
    let mut a = fail(429, 42901, "Too Many Requests", None);
    if let Ok(r) = &mut a {
        r.retry_after = retry_after.map(str::to_owned);
    }
    a
}

pub fn plain(status: u16, text: &str) -> Answer {
    Ok(HttpResponse {
        date: None,
        status,
        retry_after: None,
        body: text.as_bytes().to_vec(),
    })
}

pub fn no_answer(kind: TransportFailure) -> Answer {
    Err(TransportError {
        kind,
        detail: format!("scripted: {kind}"),
    })
}

pub fn config(retry: RetryPolicy) -> DuoConfig {
    let mut c = DuoConfig::new("api-mock.duosecurity.com", IKEY, SKEY.to_owned().into());
    c.rate_limits = RateLimits::off();
    c.retry = retry;
    c
}

/// A client over `script`, retries without jitter so schedules are exact.
pub fn client(script: &Arc<Scripted>) -> DuoClient {
    client_with(
        script,
        RetryPolicy {
            jitter: std::time::Duration::ZERO,
            ..RetryPolicy::default()
        },
    )
}

pub fn client_with(script: &Arc<Scripted>, retry: RetryPolicy) -> DuoClient {
    DuoClient::with_transport(config(retry), script.clone()).unwrap()
}

pub fn user_json(id: &str, username: &str) -> serde_json::Value {
    serde_json::json!({"user_id": id, "username": username, "status": "active"})
}
