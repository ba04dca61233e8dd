//! `agent`: the p1duo provisioning agent as a library.
//!
//! Config (read in two phases: raw TOML, then validated types), the adapters
//! between the clients and the engine, the sync cycle, the scheduler, the
//! status server and the demo.
//!
//! Must not know: the command line (that is `p1duo`), SQL (that is `state-store`).

mod commands;
mod config;
mod cycle;
mod duo;
mod error;
mod live;
mod mapping_spec;
mod metrics;
mod pingone;
mod run;
mod state;
mod status;

pub use commands::demo::{DEMO_CLIENT_SECRET, DEMO_SKEY, Sims, demo};
pub use commands::{
    ApiSide, LinkRequest, SyncOptions, UserSync, api, approve, check, explain, link, plan, status,
    sync, sync_reports, sync_users,
};
pub use config::{Config, ConfigError, Direction, EXAMPLE};
pub use cycle::{CycleReport, Summary};
pub use error::{AgentError, Outcome};
/// Directory values made safe for a terminal or a text log (the one helper).
pub use reconcile_engine::terminal_safe;
pub use run::{run, run_with};
pub use state::StateDb;
pub use status::StatusReport;
