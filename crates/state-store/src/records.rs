//! The typed records the store keeps, and the small enums stored as text.
//!
//! Times are Unix milliseconds (UTC) everywhere ([`UnixMillis`]); the store
//! never reads the clock itself, so callers (and tests) decide what "now" is.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// Milliseconds since the Unix epoch, UTC.
pub type UnixMillis = i64;

/// The current time as [`UnixMillis`], for callers that use the real clock.
pub fn now_millis() -> UnixMillis {
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX)
}

/// Generates `as_str`, `parse` and `Display` for an enum stored as text.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident, $table:literal . $column:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The text stored in the database (and shown to people).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub(crate) fn parse(text: &str) -> Result<Self, StoreError> {
                match text {
                    $($text => Ok($name::$variant),)+
                    other => Err(StoreError::Corrupt {
                        table: $table,
                        column: $column,
                        value: other.to_owned(),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// The kind of object a link, intent or status is about.
    ObjectKind, "links"."kind" {
        /// A Duo or PingOne end user.
        User = "user",
        /// A Duo administrator.
        Admin = "admin",
        /// A group.
        Group = "group",
        /// A Duo phone.
        Phone = "phone",
        /// A user's membership of a group.
        Membership = "membership",
    }
);

text_enum!(
    /// Which side created the linked object.
    Origin, "links"."origin" {
        /// Created on the source side and provisioned to the target by us.
        Source = "source",
        /// Created on the target side (e.g. by an inbound rule) and linked back.
        Target = "target",
        /// Existed on both sides and was linked by matching key (adopted).
        Adopted = "adopted",
    }
);

text_enum!(
    /// An operation on a target object.
    Op, "intents"."op" {
        /// Create the object.
        Create = "create",
        /// Change attributes (or rename a group).
        Update = "update",
        /// Disable (suspend) the object.
        Disable = "disable",
        /// Re-enable a disabled object.
        Enable = "enable",
        /// Delete the object.
        Delete = "delete",
        /// Add a member to a group.
        AddMember = "add_member",
        /// Remove a member from a group.
        RemoveMember = "remove_member",
        /// Link an existing target object found by key, without writing to it.
        Adopt = "adopt",
        /// Email an account an enrollment link (sent at most once per intent).
        Enroll = "enroll",
        /// Forget a link without writing to the target.
        Unlink = "unlink",
        /// Attach a phone to an account (creating the phone if needed); `add_member` before v6.
        AttachPhone = "attach_phone",
        /// Detach a phone from an account, or delete it; `remove_member` before v6.
        DetachPhone = "detach_phone",
    }
);

text_enum!(
    /// Where an intent stands.
    IntentState, "intents"."state" {
        /// Journaled, outcome not known yet (or lost in a crash).
        Pending = "pending",
        /// The target confirmed the change.
        Done = "done",
        /// The target refused the change.
        Failed = "failed",
        /// The outcome was never recorded, and a later run settled it: its
        /// object is linked, a newer create of it was journaled, or (any
        /// other op) the target was read afresh and planned anew.
        Resolved = "resolved",
    }
);

text_enum!(
    /// Per-object sync status, in PingOne's vocabulary.
    SyncStatus, "object_status"."status" {
        /// The object is in step.
        Success = "success",
        /// The object was not synced (e.g. skipped, waiting for a dependency).
        Unsynced = "unsynced",
        /// Some of the object's changes failed (e.g. a group with failed memberships).
        Partial = "partial",
        /// The object's change failed.
        Failed = "failed",
    }
);

text_enum!(
    /// What started a run.
    Trigger, "runs"."trigger" {
        /// The scheduler.
        Schedule = "schedule",
        /// A person (`p1duo sync`, `apply`).
        Manual = "manual",
        /// The agent starting up.
        Startup = "startup",
        /// A full resync requested after a config change.
        Resync = "resync",
        /// A PingOne change notification (a fast cycle, or the full cycle it needed).
        Notification = "notification",
    }
);

text_enum!(
    /// How a run ended.
    RunOutcome, "runs"."outcome" {
        /// Every object succeeded.
        Succeeded = "succeeded",
        /// The run finished but some objects failed.
        PartiallyFailed = "partially_failed",
        /// The run failed as a whole (e.g. a snapshot could not be read).
        Failed = "failed",
        /// The run was stopped on purpose (shutdown, safety limit).
        Aborted = "aborted",
        /// The process died during the run; found on the next start.
        Interrupted = "interrupted",
    }
);

/// Identifies an object within a rule: the key of links and statuses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectKey {
    /// The rule (sync configuration) name.
    pub rule: String,
    /// The object kind.
    pub kind: ObjectKind,
    /// The object's id on the source side.
    pub source_id: String,
}

impl ObjectKey {
    /// Builds a key.
    pub fn new(rule: impl Into<String>, kind: ObjectKind, source_id: impl Into<String>) -> Self {
        Self {
            rule: rule.into(),
            kind,
            source_id: source_id.into(),
        }
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.rule, self.kind, self.source_id)
    }
}

/// A link: which target object a source object became, and what was last written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    /// The rule.
    pub rule: String,
    /// The object kind.
    pub kind: ObjectKind,
    /// The object's id on the source side.
    pub source_id: String,
    /// The object's id on the target side.
    pub target_id: String,
    /// The attribute values last applied to the target (never secrets).
    pub attrs: serde_json::Value,
    /// Fingerprint of `attrs` as computed by `mapping`; opaque to the store.
    pub fingerprint: u64,
    /// Which side created the object.
    pub origin: Origin,
    /// When the link was first written (kept on later upserts).
    pub first_synced: UnixMillis,
    /// When the link was last written.
    pub last_synced: UnixMillis,
}

impl Link {
    /// The link's key.
    pub fn key(&self) -> ObjectKey {
        ObjectKey::new(self.rule.clone(), self.kind, self.source_id.clone())
    }
}

/// A link without its attribute values or times: what planning needs. Decoding
/// every link's JSON was half the memory of a sync (`Store::link_heads`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkHead {
    /// The object kind.
    pub kind: ObjectKind,
    /// The object's id on the source side.
    pub source_id: String,
    /// The object's id on the target side.
    pub target_id: String,
    /// Fingerprint of the link's attributes.
    pub fingerprint: u64,
    /// Which side created the object.
    pub origin: Origin,
}

/// A run's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub i64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An intent's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IntentId(pub i64);

impl fmt::Display for IntentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An error as shown per object: code, message and the attribute at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// A stable code (e.g. Duo's `40002`, PingOne's `INVALID_DATA`, or ours).
    pub code: String,
    /// The message for people.
    pub message: String,
    /// The attribute the error is about, when known.
    pub attribute: Option<String>,
}

/// A change about to be sent, journaled before the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewIntent {
    /// The run that sends it.
    pub run_id: RunId,
    /// The rule.
    pub rule: String,
    /// The object kind.
    pub kind: ObjectKind,
    /// The object's id on the source side.
    pub source_id: String,
    /// The operation.
    pub op: Op,
    /// A key that finds the object on the target if the outcome is lost
    /// (e.g. the username for a create).
    pub key: String,
    /// The target object, when it already exists.
    pub target_id: Option<String>,
    /// A short summary of the change (attribute names and new values; never secrets).
    pub summary: serde_json::Value,
    /// When it was journaled.
    pub created_at: UnixMillis,
}

/// A journaled intent as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    /// Its id.
    pub id: IntentId,
    /// The run that sent it.
    pub run_id: RunId,
    /// The rule.
    pub rule: String,
    /// The object kind.
    pub kind: ObjectKind,
    /// The object's id on the source side.
    pub source_id: String,
    /// The operation.
    pub op: Op,
    /// The lookup key (e.g. username).
    pub key: String,
    /// The target object: known before the call, or learned from its outcome.
    pub target_id: Option<String>,
    /// Summary of the change.
    pub summary: serde_json::Value,
    /// Where it stands.
    pub state: IntentState,
    /// Why it failed, when it did.
    pub error: Option<ErrorInfo>,
    /// When it was journaled.
    pub created_at: UnixMillis,
    /// When its outcome was recorded.
    pub finished_at: Option<UnixMillis>,
}

/// The known outcome of an intent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum IntentOutcome {
    /// The change was applied; `target_id` is the created object's id, if new.
    Done {
        /// The target id learned from the call (kept as before when `None`).
        target_id: Option<String>,
    },
    /// The change was refused.
    Failed {
        /// Why.
        error: ErrorInfo,
    },
}

/// An intent's outcome, for [`ResultBatch::intents`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinishedIntent {
    /// The intent.
    pub id: IntentId,
    /// Its outcome.
    pub outcome: IntentOutcome,
    /// When the outcome became known.
    pub at: UnixMillis,
}

/// Counts of a run, by operation and by per-object status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunCounts {
    /// Operations applied, by kind of operation.
    pub by_op: BTreeMap<Op, u64>,
    /// Objects, by resulting status.
    pub by_status: BTreeMap<SyncStatus, u64>,
}

/// The start of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRun {
    /// The rule.
    pub rule: String,
    /// What started it.
    pub trigger: Trigger,
    /// When it started.
    pub started: UnixMillis,
    /// The hash of the plan it executes, when planned up front.
    pub plan_hash: Option<String>,
}

/// The end of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEnd {
    /// When it ended.
    pub ended: UnixMillis,
    /// How it ended.
    pub outcome: RunOutcome,
    /// Its counts.
    pub counts: RunCounts,
    /// The plan hash, if it became known only during the run.
    pub plan_hash: Option<String>,
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// Its id.
    pub id: RunId,
    /// The rule.
    pub rule: String,
    /// What started it.
    pub trigger: Trigger,
    /// When it started.
    pub started: UnixMillis,
    /// When it ended (`None` while running, or if the process died).
    pub ended: Option<UnixMillis>,
    /// How it ended (`None` while running).
    pub outcome: Option<RunOutcome>,
    /// Its counts (empty while running).
    pub counts: RunCounts,
    /// The plan hash.
    pub plan_hash: Option<String>,
}

/// A per-object result to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusUpdate {
    /// Which object.
    pub key: ObjectKey,
    /// A name people recognise (username, group name).
    pub display_name: String,
    /// The status.
    pub status: SyncStatus,
    /// The error, for statuses other than success.
    pub error: Option<ErrorInfo>,
    /// The run that produced it.
    pub run_id: Option<RunId>,
    /// When.
    pub at: UnixMillis,
}

/// Per-object status as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectStatus {
    /// Which object.
    pub key: ObjectKey,
    /// A name people recognise.
    pub display_name: String,
    /// The status.
    pub status: SyncStatus,
    /// The last error (cleared by a success).
    pub last_error: Option<ErrorInfo>,
    /// Consecutive attempts that did not end in success (0 after a success).
    pub attempts: u32,
    /// When the object was last attempted.
    pub last_attempt: UnixMillis,
    /// When it last succeeded.
    pub last_success: Option<UnixMillis>,
    /// The run of the last attempt.
    pub run_id: Option<RunId>,
}

/// Which statuses to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusFilter {
    /// Only this rule.
    pub rule: Option<String>,
    /// Only this kind.
    pub kind: Option<ObjectKind>,
    /// Only objects not in step (anything but success).
    pub not_in_step: bool,
    /// At most this many rows (all when `None`).
    pub limit: Option<u32>,
}

/// One applied operation, with before and after values (never secrets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The run that applied it (`None` for manual commands such as `unlink`).
    pub run_id: Option<RunId>,
    /// Which object.
    pub key: ObjectKey,
    /// The operation.
    pub op: Op,
    /// Values before (JSON `null` for a create).
    pub before: serde_json::Value,
    /// Values after (JSON `null` for a delete).
    pub after: serde_json::Value,
    /// When.
    pub at: UnixMillis,
}

/// Everything one batch of results changes, written in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResultBatch {
    /// Intents whose outcome is now known.
    pub intents: Vec<FinishedIntent>,
    /// Links to insert or replace.
    pub link_upserts: Vec<Link>,
    /// Links to forget.
    pub link_deletes: Vec<ObjectKey>,
    /// Per-object statuses.
    pub statuses: Vec<StatusUpdate>,
    /// Statuses to forget (objects gone from both sides).
    pub status_deletes: Vec<ObjectKey>,
    /// Audit entries.
    pub audit: Vec<AuditEntry>,
}

impl ResultBatch {
    /// True when the batch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.intents.is_empty()
            && self.link_upserts.is_empty()
            && self.link_deletes.is_empty()
            && self.statuses.is_empty()
            && self.status_deletes.is_empty()
            && self.audit.is_empty()
    }
}

/// What [`crate::Store::prune`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneReport {
    /// Runs removed.
    pub runs: u64,
    /// Finished intents removed with their runs.
    pub intents: u64,
    /// Audit entries removed.
    pub audit: u64,
}
