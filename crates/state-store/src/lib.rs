//! `state-store`: the agent's crash-safe memory in SQLite.
//!
//! Links, intents (a write-ahead journal of changes), runs, per-object status,
//! an audit trail and small scheduler state. The only crate that knows SQL.
//!
//! Must not know: HTTP, Duo, PingOne, config files or the CLI.
