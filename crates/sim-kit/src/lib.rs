//! `sim-kit`: the infrastructure both simulators share, so that it cannot drift between them:
//! seeded fault injection (one decision stream, [`faults`]), connections a handler can cut
//! ([`conn`]), request counters ([`stats`]), both behind [`Instruments`], and the server handle
//! ([`server`]).
//!
//! Only `duo-sim` and `pingone-sim` use it, and it knows neither vendor: how a fault reads on
//! the wire (error bodies, which statuses carry `Retry-After`) stays in each simulator.
//!
//! Must not know: any crate of ours.

pub mod conn;
pub mod faults;
mod instruments;
pub mod server;
pub mod stats;

use std::sync::{Mutex, MutexGuard};

pub use conn::{Conn, KillableListener};
pub use faults::{FaultAction, FaultDecision, FaultStream, Faults, RETRY_AFTER_SECS};
pub use instruments::Instruments;
pub use server::{SimServer, shutdown_signal};
pub use stats::Stats;

/// Locks a mutex, recovering from poisoning (a panicked request must not wedge a simulator).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
