//! Integration tests of `pingone-client`: round trips against `pingone-sim`, tokens,
//! paging, filters (property tests), error mapping, retry schedules and secret hygiene.

mod errors;
mod faults;
mod filters;
mod mock;
mod paging;
mod retries;
mod roundtrip;
mod secrets;
mod tokens;

use pingone_client::{ClientConfig, PingOneClient, SecretString};
use pingone_sim::{PingOneSim, SimConfig};

/// A client configured for `sim`.
pub fn config_for(sim: &PingOneSim) -> ClientConfig {
    let c = sim.config();
    let mut cfg = ClientConfig::new(
        sim.env_id(),
        c.client_id.clone(),
        SecretString::from(c.client_secret.clone()),
    );
    cfg.api_base = Some(sim.api_url());
    cfg.auth_base = Some(sim.auth_url());
    cfg
}

/// Starts a simulator and a client for it.
pub async fn start(cfg: SimConfig) -> (PingOneSim, PingOneClient) {
    let sim = PingOneSim::start(cfg).await.expect("simulator starts");
    let client = PingOneClient::new(config_for(&sim)).expect("client builds");
    (sim, client)
}
