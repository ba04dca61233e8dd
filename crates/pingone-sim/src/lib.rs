//! `pingone-sim`: an in-memory PingOne Platform API server for tests,
//! benchmarks and the demo.
//!
//! Must not know: any crate of ours (it checks the client independently).
