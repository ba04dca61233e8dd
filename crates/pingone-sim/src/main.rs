//! The `pingone-sim` binary: runs the simulator standalone and prints
//! `listening on http://ADDR:PORT` as its first line of standard output.

use clap::Parser;
use pingone_sim::{Faults, PingOneSim, SimConfig, TokenAuthMethod};
use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

/// An in-memory PingOne Platform API (token endpoint and /v1) for tests and demos.
#[derive(Parser)]
#[command(name = "pingone-sim", version)]
struct Args {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Environment id served.
    #[arg(long, default_value_t = SimConfig::default().env_id)]
    env_id: String,
    /// Worker application client id.
    #[arg(long, default_value_t = SimConfig::default().client_id)]
    client_id: String,
    /// Worker application client secret.
    #[arg(long, env = "PINGONE_SIM_CLIENT_SECRET", hide_env_values = true, default_value_t = SimConfig::default().client_secret)]
    client_secret: String,
    /// Serve /__sim/stats, /__sim/stats/reset, /__sim/faults and /__sim/state.
    #[arg(long)]
    control: bool,
    /// Access token lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    token_ttl: u64,
    /// Token endpoint auth method accepted: basic, post or any.
    #[arg(long, default_value = "any")]
    token_auth: String,
    /// Requests per second before 429, or `off`.
    #[arg(long, default_value = "off")]
    rate_limit: String,
    /// Users generated at start.
    #[arg(long, default_value_t = 0)]
    seed_users: usize,
    /// Groups generated at start.
    #[arg(long, default_value_t = 0)]
    seed_groups: usize,
    /// Seed of generated data and ids.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Fault settings as JSON, e.g. '{"seed":1,"server_error_rate":0.1}'.
    #[arg(long)]
    faults: Option<String>,
    /// Behaviour variants where PingOne is undocumented, comma-separated
    /// (enabled-on-create, any-2xx, nd-json, no-nesting-events, email-required,
    /// username-filter-ci, short-pages).
    #[arg(long, env = "P1DUO_SIM_VARIANT", default_value = "")]
    variant: String,
    /// Custom user attributes in the environment's schema, comma-separated
    /// (others are ignored, as PingOne does).
    #[arg(long, value_delimiter = ',')]
    custom_attributes: Vec<String>,
}

fn fail(msg: String) -> ! {
    eprintln!("pingone-sim: {msg}");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let a = Args::parse();
    let rate_limit = match a.rate_limit.as_str() {
        "off" | "none" | "0" => None,
        n => Some(n.parse::<u32>().unwrap_or_else(|_| {
            fail(format!(
                "--rate-limit takes a number of requests per second or `off`, not {n:?}"
            ))
        })),
    };
    let token_auth_method = match a.token_auth.as_str() {
        "any" => None,
        "basic" => Some(TokenAuthMethod::ClientSecretBasic),
        "post" => Some(TokenAuthMethod::ClientSecretPost),
        other => fail(format!(
            "--token-auth takes basic, post or any, not {other:?}"
        )),
    };
    let faults: Faults = match &a.faults {
        Some(j) => serde_json::from_str(j)
            .unwrap_or_else(|e| fail(format!("--faults is not valid fault JSON: {e}"))),
        None => Faults::default(),
    };
    let cfg = SimConfig {
        listen: a.listen,
        env_id: a.env_id,
        client_id: a.client_id,
        client_secret: a.client_secret,
        token_ttl: Duration::from_secs(a.token_ttl),
        token_auth_method,
        rate_limit,
        seed_users: a.seed_users,
        seed_groups: a.seed_groups,
        seed: a.seed,
        control: a.control,
        faults,
        custom_attributes: a.custom_attributes,
        ..SimConfig::default()
    }
    .with_variants(&a.variant)
    .unwrap_or_else(|e| fail(format!("--variant: {e}")));
    let sim = PingOneSim::start(cfg)
        .await
        .unwrap_or_else(|e| fail(format!("cannot listen on {}: {e}", a.listen)));
    // Handlers first, so a supervisor that signals right after reading the address is heard.
    let stop = sim_kit::shutdown_signal()
        .unwrap_or_else(|e| fail(format!("cannot install signal handlers: {e}")));
    let mut out = std::io::stdout();
    let _ = writeln!(out, "listening on {}", sim.base_url());
    let _ = writeln!(
        out,
        "environment {}  token {}  api {}",
        sim.env_id(),
        sim.token_url(),
        sim.api_url()
    );
    let _ = out.flush();
    stop.await;
    sim.shutdown().await;
}
