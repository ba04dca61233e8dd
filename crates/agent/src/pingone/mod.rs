//! The PingOne adapter: the client built from the config, reads, and the
//! engine `Target`.

mod read;
pub(crate) mod scope;
mod target;

pub(crate) use read::*;
pub(crate) use target::*;

use crate::AgentError;
use crate::config::{Config, TokenAuthMethod};
use pingone_client::{ClientConfig, PingOneClient, Region};
use secrecy::ExposeSecret;
use std::num::NonZeroU32;

/// The PingOne client of this config.
pub fn pingone(config: &Config) -> Result<PingOneClient, AgentError> {
    pingone_observed(config, None)
}

/// The PingOne client of this config, telling `observer` of each request,
/// pacing wait and 429.
pub fn pingone_observed(
    config: &Config,
    observer: Option<std::sync::Arc<dyn pingone_client::CallObserver>>,
) -> Result<PingOneClient, AgentError> {
    let p = &config.pingone;
    let mut c = ClientConfig::new(
        p.environment_id.clone(),
        p.client_id.clone(),
        p.client_secret.expose_secret().to_owned().into(),
    );
    c.region = p.region.parse::<Region>().unwrap_or_default();
    c.api_base = Some(p.api_url.clone());
    c.auth_base = Some(p.auth_url.clone());
    c.token_auth_method = match p.token_auth_method {
        TokenAuthMethod::ClientSecretBasic => pingone_client::TokenAuthMethod::ClientSecretBasic,
        TokenAuthMethod::ClientSecretPost => pingone_client::TokenAuthMethod::ClientSecretPost,
    };
    c.request_timeout = p.timeout;
    c.requests_per_second = p.requests_per_second.and_then(NonZeroU32::new);
    c.observer = observer;
    PingOneClient::new(c).map_err(|e| AgentError::PingOne(e.to_string()))
}
