//! Building the Duo and PingOne clients from the validated config.

use crate::AgentError;
use crate::config::{Config, TokenAuthMethod};
use duo_client::{DuoClient, DuoConfig, RateLimits};
use pingone_client::{ClientConfig, PingOneClient, Region};
use secrecy::ExposeSecret;
use std::num::NonZeroU32;

/// The Duo Admin API client of this config.
pub fn duo(config: &Config) -> Result<DuoClient, AgentError> {
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
            ..RateLimits::duo_published()
        },
    };
    DuoClient::new(c).map_err(|e| AgentError::Duo(format!("{e} (config key duo.api_host)")))
}

/// The PingOne client of this config.
pub fn pingone(config: &Config) -> Result<PingOneClient, AgentError> {
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
    PingOneClient::new(c).map_err(|e| AgentError::PingOne(e.to_string()))
}
