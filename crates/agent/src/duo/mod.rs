//! The Duo adapter: the client built from the config (with call counting for
//! the metrics), reads, and the engine `Target`.

mod bulk;
mod read;
mod target;

pub(crate) use bulk::*;
pub(crate) use read::*;
pub(crate) use target::*;

use crate::AgentError;
use crate::config::Config;
use duo_client::transport::{
    HttpRequest, HttpResponse, ReqwestTransport, Transport, TransportError,
};
use duo_client::{DuoClient, DuoConfig, RateLimits};
use futures::future::BoxFuture;
use secrecy::ExposeSecret;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Requests sent to Duo and how many were answered 429 (for the metrics).
#[derive(Debug, Default)]
pub struct CallCounts {
    pub calls: AtomicU64,
    pub throttled: AtomicU64,
    /// The `Date` header of Duo's last answer (`check` measures clock skew with it).
    pub last_date: std::sync::Mutex<Option<String>>,
}

/// The real transport, counting what passes through it.
struct Counting {
    inner: ReqwestTransport,
    counts: Arc<CallCounts>,
}

impl Transport for Counting {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        Box::pin(async move {
            self.counts.calls.fetch_add(1, Ordering::Relaxed);
            let r = self.inner.send(request).await;
            if let Ok(resp) = &r {
                if resp.status == 429 {
                    self.counts.throttled.fetch_add(1, Ordering::Relaxed);
                }
                if resp.date.is_some()
                    && let Ok(mut d) = self.counts.last_date.lock()
                {
                    d.clone_from(&resp.date);
                }
            }
            r
        })
    }
}

/// The Duo Admin API client of this config, counting its calls into
/// `counts` and telling `observer` of each request, pacing wait and 429.
pub fn duo_counted(
    config: &Config,
    counts: Arc<CallCounts>,
    observer: Option<Arc<dyn duo_client::CallObserver>>,
) -> Result<DuoClient, AgentError> {
    let mut c = duo_config(config);
    c.observer = observer;
    let inner = ReqwestTransport::new(
        c.connect_timeout,
        c.request_timeout,
        &c.user_agent,
        c.extra_ca_pem.as_deref(),
    )
    .map_err(|e| AgentError::Duo(e.to_string()))?;
    DuoClient::with_transport(c, Arc::new(Counting { inner, counts }))
        .map_err(|e| AgentError::Duo(format!("{e} (config key duo.api_host)")))
}

/// The Duo Admin API client of this config.
pub fn duo(config: &Config) -> Result<DuoClient, AgentError> {
    DuoClient::new(duo_config(config))
        .map_err(|e| AgentError::Duo(format!("{e} (config key duo.api_host)")))
}

fn duo_config(config: &Config) -> DuoConfig {
    let d = &config.duo;
    let mut c = DuoConfig::new(
        d.api_host.clone(),
        d.integration_key.clone(),
        // A fresh SecretString: the config keeps its own.
        d.secret_key.expose_secret().to_owned().into(),
    );
    c.request_timeout = d.timeout;
    c.rate_limits = match d.rate_limit {
        None => RateLimits::off(),
        Some(rl) => RateLimits {
            writes_per_minute: NonZeroU32::new(rl.writes_per_minute),
            reads_per_minute: NonZeroU32::new(rl.reads_per_minute),
            pages_per_minute: NonZeroU32::new(rl.pages_per_minute),
            bulk_per_minute: rl.bulk_per_minute.and_then(NonZeroU32::new),
            ..RateLimits::duo_published()
        },
    };
    c
}
