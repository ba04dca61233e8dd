//! `reconcile-engine`: the planner and the executor.
//!
//! The planner is pure and deterministic: desired records, observed records,
//! links and a policy in, a `Plan` out. The executor runs a plan against a
//! `Target` trait, journaling every op through a `Journal` trait.
//!
//! Must not know: the vendors, HTTP, SQL, config files or the CLI.

mod exec;
mod fx;
pub mod model;
pub mod plan;
mod planner;
pub mod policy;

pub use exec::*;
pub use model::*;
pub use plan::*;
pub use planner::{Inputs, key_eq, plan};
pub use policy::*;
