//! `duo-sim`: an in-memory Duo Admin API server for tests, benchmarks and the demo.
//!
//! It verifies signatures and enforces Duo's rules as documented, so tests
//! that pass against it mean something against the real service.
//!
//! Must not know: any crate of ours (it checks the client independently).
