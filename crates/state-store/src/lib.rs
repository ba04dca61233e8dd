//! `state-store`: the agent's crash-safe memory in SQLite.
//!
//! Links, intents (a write-ahead journal of changes), runs, per-object status,
//! an audit trail and small scheduler state. The only crate that knows SQL.
//!
//! Must not know: HTTP, Duo, PingOne, config files or the CLI.
//!
//! The API is blocking and typed: [`Store`] is `Send`, so async code moves it
//! to a dedicated thread or calls it through `spawn_blocking`. Times are Unix
//! milliseconds ([`UnixMillis`]) passed in by the caller. The schema and the
//! durability choices are described in `docs/state-store.md`.

mod enroll;
mod error;
mod intents;
mod links;
mod lock;
mod records;
mod results;
mod runs;
mod schema;
mod secrets;
mod store;

#[cfg(test)]
mod crash_tests;

pub use enroll::EnrollSent;
pub use error::{Result, StoreError};
pub use lock::lock_path;
pub use records::{
    AuditEntry, ErrorInfo, FinishedIntent, Intent, IntentId, IntentOutcome, IntentState, Link,
    LinkHead, NewIntent, NewRun, ObjectKey, ObjectKind, ObjectStatus, Op, Origin, PruneReport,
    ResultBatch, Run, RunCounts, RunEnd, RunId, RunOutcome, StatusFilter, StatusUpdate, SyncStatus,
    Trigger, UnixMillis, now_millis,
};
pub use schema::SCHEMA_VERSION;
pub use secrets::is_secret_field;
pub use store::{Options, Store};
