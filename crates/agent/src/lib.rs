//! `agent`: the p1duo provisioning agent as a library.
//!
//! Config (read in two phases: raw TOML, then validated types), the adapters
//! between the clients and the engine, the sync cycle, the scheduler, the
//! status server and the demo.
//!
//! Must not know: the command line (that is `p1duo`), SQL (that is `state-store`).

pub mod check;
pub mod clients;
pub mod commands;
pub mod config;
pub mod cycle;
pub mod demo;
mod error;
pub mod explain;
pub mod fast;
pub mod inbound;
pub mod journal;
pub mod mapping_spec;
pub mod metrics;
pub mod outbound;
pub mod records;
pub mod run;
pub mod scheduler;
pub mod server;
pub mod state;
pub mod status;

pub use config::{Config, ConfigError};
pub use error::{AgentError, Outcome};
