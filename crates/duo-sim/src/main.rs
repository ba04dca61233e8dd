//! The `duo-sim` binary: a standalone Duo Admin API simulator for manual runs, the demo and the
//! official-client test. Prints `listening on http://ADDR:PORT` first, serves until SIGINT/SIGTERM.

use std::io::Write as _;
use std::net::SocketAddr;

use clap::{Parser, ValueEnum};
use duo_sim::{BulkRateClass, BulkSettings, DuoSim, SimConfig, UsernameCase};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RateLimit {
    /// Duo's published per-minute limits.
    Duo,
    /// No rate limiting.
    Off,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Case {
    Insensitive,
    Sensitive,
}

/// In-memory Duo Admin API simulator.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Integration key the simulator accepts.
    #[arg(long, env = "DUO_SIM_IKEY")]
    ikey: String,
    /// Secret key the simulator accepts.
    #[arg(long, env = "DUO_SIM_SKEY", hide_env_values = true)]
    skey: String,
    /// Serve the /__sim/* control endpoints.
    #[arg(long)]
    control: bool,
    /// Rate limiting.
    #[arg(long, value_enum, default_value = "off")]
    rate_limit: RateLimit,
    /// Time compression for rate limits: limits apply per 60 s / K.
    #[arg(long, default_value_t = 1.0)]
    rate_limit_scale: f64,
    /// Users to create at start.
    #[arg(long, default_value_t = 0)]
    seed_users: usize,
    /// Seed for ids.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Allowed clock skew of the request date, seconds.
    #[arg(long, default_value_t = 300)]
    skew_tolerance: u64,
    /// Username comparison.
    #[arg(long, value_enum, default_value = "insensitive")]
    username_case: Case,
    /// Fault settings as JSON (same format as PUT /__sim/faults).
    #[arg(long)]
    faults: Option<String>,
    /// Simulated days a trashed user stays restorable (Duo: 7).
    #[arg(long, default_value_t = 7)]
    pending_deletion_days: u64,
    /// Most users one `users/bulk_create` takes (Duo does not publish it).
    #[arg(long, default_value_t = 100)]
    bulk_max_users: usize,
    /// Most operations one `/admin/v1/bulk` takes (Duo does not publish it).
    #[arg(long, default_value_t = 50)]
    bulk_max_operations: usize,
    /// How a bulk call counts against the rate limits: `write` (one write per call),
    /// `own:N` (a bucket of N calls per minute of its own) or `per-object`.
    #[arg(long, default_value = "write", value_parser = parse_bulk_rate)]
    bulk_rate_class: BulkRateClass,
    /// Behaviour variants where Duo is undocumented, comma-separated: phone_without_plus,
    /// skew_40105, null_lists, username_case_sensitive, group_name_case_insensitive,
    /// unknown_id_404, delete_unknown_404, association_exists_40003, security_analyst_role,
    /// no_bulk, bulk_partial
    /// (default: none).
    #[arg(long, env = "DUO_SIM_VARIANTS", default_value = "")]
    variant: String,
}

fn parse_bulk_rate(s: &str) -> Result<BulkRateClass, String> {
    match s {
        "write" => Ok(BulkRateClass::Write),
        "per-object" => Ok(BulkRateClass::PerObject),
        _ => s
            .strip_prefix("own:")
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|n| *n > 0)
            .map(BulkRateClass::Own)
            .ok_or_else(|| format!("expected write, own:N or per-object, got {s:?}")),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let faults = match &args.faults {
        Some(j) => serde_json::from_str(j).map_err(|e| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("--faults: {e}"))
        })?,
        None => Default::default(),
    };
    let mut cfg = SimConfig {
        listen: Some(args.listen),
        ikey: args.ikey,
        skey: args.skey,
        control: args.control,
        rate_limit: matches!(args.rate_limit, RateLimit::Duo),
        rate_limit_scale: args.rate_limit_scale,
        seed_users: args.seed_users,
        seed: args.seed,
        skew_tolerance_secs: args.skew_tolerance,
        username_case: match args.username_case {
            Case::Insensitive => UsernameCase::Insensitive,
            Case::Sensitive => UsernameCase::Sensitive,
        },
        faults,
        pending_deletion_days: args.pending_deletion_days,
        bulk: BulkSettings {
            max_users: args.bulk_max_users,
            max_operations: args.bulk_max_operations,
            rate_class: args.bulk_rate_class,
            ..BulkSettings::default()
        },
        ..SimConfig::default()
    };
    cfg.apply_variants(&args.variant).map_err(|e| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("--variant: {e}"))
    })?;
    let sim = DuoSim::start(cfg).await?;
    // Handlers are installed before the address is printed, so a supervisor that signals right
    // after reading it gets a clean shutdown.
    let stop = sim_kit::shutdown_signal()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", sim.base_url())?;
        out.flush()?;
    }
    stop.await;
    sim.shutdown().await;
    Ok(())
}
