//! `reconcile-engine`: the planner and the executor.
//!
//! The planner is pure and deterministic: desired records, observed records,
//! links and a policy in, a `Plan` out. The executor runs a plan against a
//! `Target` trait, journaling every op through a `Journal` trait.
//!
//! Must not know: Duo, PingOne, HTTP, SQL, config files or the CLI.
