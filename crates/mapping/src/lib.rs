//! `mapping`: attribute mappings between PingOne and Duo records.
//!
//! A table `target attribute = expression`, compiled once and evaluated per
//! record. Pure: no IO, no async, no HTTP, no SQL, never panics on data.
//!
//! Must not know: HTTP, SQL, the engine, config files or the CLI.
