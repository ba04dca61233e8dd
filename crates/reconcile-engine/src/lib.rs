//! `reconcile-engine`: the pure planner and the journaled async executor.
//!
//! Must not know: the vendors, their wire protocols, the database, config files
//! or the CLI. It works on neutral records; the agent converts the clients' and
//! the mapping's records into them and implements the two traits.
//!
//! # Planning (pure, deterministic, never panics on data)
//!
//! 1. Fill the inputs: a [`Schema`] (managed attributes with their
//!    [`EmptyPolicy`] and [`WritePolicy`]), a [`DesiredSet`] (users, admins,
//!    groups and memberships keyed by source id, plus mapping
//!    [`Failure`]s), an [`ObservedSet`] (target objects keyed by target id,
//!    with phones and group memberships), a [`LinkSet`] (the state store's
//!    links), the journal's [`PendingIntent`]s and a [`Policy`]. The sets
//!    store their strings in one buffer each, so a million objects are a few
//!    allocations. Passing them sorted by (kind, id) keeps planning linear.
//! 2. Call [`plan`] with [`Inputs`]. Matching is link first, else the match
//!    key (compared as [`KeyCompare`] says); one candidate is adopted, several
//!    are an `ambiguous` [`Problem`]. Target objects neither linked nor
//!    matched are never touched.
//! 3. The [`Plan`] lists [`Op`]s in dependency order (each with its `deps`),
//!    per-object problems, safety [`Block`]s, a [`Summary`] and a sha256
//!    hash; [`Plan::render`] prints it like `terraform plan`,
//!    [`Plan::to_json`] in the schema documented in `docs/engine.md`.
//!
//! # Executing
//!
//! [`execute`] runs a plan against a [`Target`] with at most
//! [`ExecOptions::concurrency`] ops in flight, one at a time per object, in
//! dependency order; ops depending on a failed op are skipped. The intent of
//! every target call is durable before the call is sent, and its
//! [`Outcome`] is recorded after it with the link change it made, through
//! [`Journal::commit`]: group commit, so a window of intents, and the
//! outcomes known by then, share one durable write (see [`execute`]). A
//! blocked plan runs nothing. Cancelling [`ExecOptions::cancel`] starts no
//! new op; in-flight ops finish and are journaled. The [`RunReport`] counts
//! users and groups in PingOne's words (success / unsynced / partial /
//! failed).
//!
//! # Unknown outcomes
//!
//! A create that timed out after sending (or whose process died between
//! intent and outcome) leaves its intent pending in the journal. On the next
//! cycle the agent passes those as [`Inputs::pending`]: if the fresh
//! snapshot shows the object, key matching adopts it; if the snapshot is
//! stale, the planned create carries `lookup_first`, and the executor calls
//! [`Target::find_by_key`] before creating. Intents journaled ahead of a
//! crash or a cancellation but never sent are pending too, and resolved the
//! same way. The agent closes a pending intent once a later run has linked
//! its object (or journaled a newer create of it). Phones are looked up by
//! number before one is created, for the same reason.

mod exec;
mod fx;
pub mod model;
pub mod plan;
mod planner;
pub mod policy;
mod text;

pub use exec::*;
pub use model::*;
pub use plan::*;
pub use planner::{Inputs, key_eq, plan};
pub use policy::*;
pub use text::terminal_safe;
