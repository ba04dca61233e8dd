//! The `Plan` value: ops in dependency order, per-object problems, safety
//! blocks, a summary and a stable hash; rendered for people and as JSON.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{Kind, Value};
use crate::policy::Destructive;

/// Version of the plan JSON schema (see `docs/engine.md`).
pub const PLAN_SCHEMA_VERSION: u32 = 1;

/// A reference to a target object: one that exists, or one created by an
/// earlier op of the same plan.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetRef {
    /// An existing target id.
    Existing(String),
    /// The object created by the op with this id.
    Created(u32),
}

/// One attribute change: `before` → `after` (`None` is empty / cleared).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AttrChange {
    /// Target attribute name.
    pub attr: String,
    /// Current target value.
    pub before: Option<Value>,
    /// Value to write; `None` clears it.
    pub after: Option<Value>,
}

/// What an op does.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Link an existing target object found by its key (no target call).
    Adopt {
        /// What matched, for the reviewer: the key and each confirming attribute.
        evidence: Vec<String>,
    },
    /// Record the new fingerprint of a linked object (no target call).
    Relink,
    /// Forget the link of an object that is gone or no longer managed (no target call).
    Unlink,
    /// Create the object.
    Create {
        /// Attributes written on create.
        attrs: Vec<AttrChange>,
        /// Enabled state of a new account.
        enabled: bool,
        /// An earlier create had an unknown outcome: look the key up first
        /// and adopt what is found instead of creating again.
        lookup_first: bool,
    },
    /// Change the object's key (username, group name).
    Rename {
        /// Current key.
        from: String,
        /// New key.
        to: String,
    },
    /// Write changed attributes.
    Update {
        /// Only the attributes that differ.
        changes: Vec<AttrChange>,
    },
    /// Enable an account.
    Enable,
    /// Disable an account.
    Disable,
    /// Delete the object.
    Delete,
    /// Give an account a phone (existing phone `phone_id`, or found by number / created).
    AddPhone {
        /// Number (E.164).
        number: String,
        /// An existing phone with that number, if known.
        phone_id: Option<String>,
    },
    /// Take a phone off an account; delete the phone when no one else uses it.
    RemovePhone {
        /// Number (E.164).
        number: String,
        /// Target id of the phone.
        phone_id: String,
        /// Delete the phone itself (no other account uses it).
        delete_phone: bool,
    },
    /// Add an account to a group (the op's object is the group).
    AddMember {
        /// Kind of the member.
        member_kind: Kind,
        /// Key of the member.
        member_name: String,
        /// The member on the target.
        member: TargetRef,
    },
    /// Remove an account from a group (the op's object is the group).
    RemoveMember {
        /// Kind of the member.
        member_kind: Kind,
        /// Key of the member.
        member_name: String,
        /// The member on the target.
        member: TargetRef,
    },
    /// Email an unenrolled account an enrollment link.
    Enroll {
        /// Where the email goes.
        email: String,
        /// Seconds the link stays valid (0: never expires).
        valid_secs: u64,
        /// This is the one reminder, not the first email.
        reminder: bool,
    },
}

impl Action {
    /// Short verb used in summaries and reports.
    pub fn verb(&self) -> &'static str {
        match self {
            Action::Adopt { .. } => "adopt",
            Action::Relink => "relink",
            Action::Unlink => "unlink",
            Action::Create { .. } => "create",
            Action::Rename { .. } => "rename",
            Action::Update { .. } => "update",
            Action::Enable => "enable",
            Action::Disable => "disable",
            Action::Delete => "delete",
            Action::AddPhone { .. } => "add_phone",
            Action::RemovePhone { .. } => "remove_phone",
            Action::AddMember { .. } => "add_member",
            Action::RemoveMember { .. } => "remove_member",
            Action::Enroll { .. } => "enroll",
        }
    }
    /// True for ops that only touch the journal, never the target.
    pub fn is_journal_only(&self) -> bool {
        matches!(self, Action::Adopt { .. } | Action::Relink | Action::Unlink)
    }
}

/// One step of a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    /// Position in the plan; deps refer to it.
    pub id: u32,
    /// Kind of the object the op is about.
    pub kind: Kind,
    /// The object's key (username, group name), for people.
    pub name: String,
    /// The object's source id, when it has one.
    pub source_id: Option<String>,
    /// The object on the target (`None` only for a create).
    pub target: Option<TargetRef>,
    /// Fingerprint recorded in the link once the op succeeds (hex).
    #[serde(with = "hex_fp")]
    pub fingerprint: Option<u64>,
    /// What the op does.
    #[serde(flatten)]
    pub action: Action,
    /// Ops that must succeed before this one starts.
    pub deps: Vec<u32>,
}

mod hex_fp {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_str(&format!("{v:016x}")),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| u64::from_str_radix(&s, 16).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// PingOne's per-object sync status vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    /// Everything the policy allows was applied.
    Success,
    /// Not synced because the policy forbids it (e.g. creation not allowed).
    Unsynced,
    /// Partly synced (e.g. updates not allowed, target stale).
    Partial,
    /// An op or the mapping failed.
    Failed,
}

/// Why an object is not (fully) planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    /// The source record could not be mapped.
    MappingFailed,
    /// Two desired objects share a source id.
    DuplicateSource,
    /// Several target objects match the key.
    Ambiguous,
    /// The matching target object is already linked to another source object.
    KeyTaken,
    /// The object is missing and the policy does not allow creating it.
    CreateNotAllowed,
    /// The object differs and the policy does not allow updating it.
    UpdateNotAllowed,
    /// A membership names a group or member that is not desired.
    UnknownReference,
    /// The source object failed; its linked target object is held: no
    /// disable, delete, membership or phone removal while it fails.
    Held,
    /// A target object with the key exists but the adoption policy does not
    /// allow linking it (case differs, an attribute disagrees, it is linked
    /// to a source that left, adoption is off); nothing is written or created.
    AdoptRefused,
    /// The target object is protected (e.g. a super-administrator): never adopted or written.
    Protected,
    /// Another rule owns the target object; this rule writes nothing to it.
    OwnedElsewhere,
}

impl SyncStatus {
    /// The word used in reports and the state database.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Success => "success",
            SyncStatus::Unsynced => "unsynced",
            SyncStatus::Partial => "partial",
            SyncStatus::Failed => "failed",
        }
    }
}

impl ProblemCode {
    /// The sync status this problem gives its object.
    pub fn status(self) -> SyncStatus {
        match self {
            ProblemCode::CreateNotAllowed | ProblemCode::OwnedElsewhere => SyncStatus::Unsynced,
            ProblemCode::UpdateNotAllowed => SyncStatus::Partial,
            _ => SyncStatus::Failed,
        }
    }
}

/// A per-object problem: reported, never guessed around.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Problem {
    /// Kind of the object.
    pub kind: Kind,
    /// Its source id.
    pub source_id: String,
    /// Its key, for people.
    pub name: String,
    /// What went wrong.
    pub code: ProblemCode,
    /// Operator-readable detail.
    pub message: String,
    /// The source attribute at fault, when one is (a mapping failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// The source object that already holds the key (`key_taken`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_source: Option<String>,
}

/// Why the plan must not run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// The tripped limit (`None`: the empty-source guard).
    pub class: Option<Destructive>,
    /// Ops of that class in the plan (or accounts linked, for the guard).
    pub count: u64,
    /// Objects of that class the rule manages.
    pub managed: u64,
    /// Operator-readable reason naming the limit.
    pub reason: String,
}

/// Counts of ops by action, and of problems.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Creates.
    pub create: u64,
    /// Adoptions of existing objects.
    pub adopt: u64,
    /// Renames.
    pub rename: u64,
    /// Attribute updates.
    pub update: u64,
    /// Enables.
    pub enable: u64,
    /// Disables.
    pub disable: u64,
    /// Deletes.
    pub delete: u64,
    /// Phones added.
    pub add_phone: u64,
    /// Phones removed.
    pub remove_phone: u64,
    /// Memberships added.
    pub add_member: u64,
    /// Memberships removed.
    pub remove_member: u64,
    /// Journal-only link changes (relink, unlink).
    pub link: u64,
    /// Linked objects held because their source failed.
    #[serde(default)]
    pub held: u64,
    /// Enrollment emails (first emails and reminders).
    #[serde(default)]
    pub enroll: u64,
    /// Problems.
    pub problems: u64,
}

/// The result of planning: a value, printable, serialisable, hashable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// JSON schema version.
    pub version: u32,
    /// The rule this plan is for.
    pub rule: String,
    /// sha256 (hex) of this plan's canonical JSON with `hash` empty.
    pub hash: String,
    /// Non-empty: the plan exceeds a safety limit and the executor runs nothing.
    pub blocked: Vec<Block>,
    /// Counts.
    pub summary: Summary,
    /// Ops in dependency order.
    pub ops: Vec<Op>,
    /// Per-object problems, sorted.
    pub problems: Vec<Problem>,
    /// Failure causes shared by several source objects, most common first:
    /// one bad mapping shows as one cause, not N unrelated failures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub common_failures: Vec<CommonFailure>,
    /// Things the plan deliberately does not do, for the reviewer (e.g. no
    /// enrollment email for a user without an email address).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A failure cause shared by several source objects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommonFailure {
    /// Kind of the objects.
    pub kind: Kind,
    /// How many failed this way.
    pub count: u64,
    /// The cause, without any one object's values.
    pub cause: String,
}

impl Plan {
    /// True when the plan has no op.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Canonical JSON (the documented schema).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Recompute the hash over the canonical JSON with `hash` empty.
    pub fn compute_hash(&self) -> String {
        let mut body = self.clone();
        body.hash.clear();
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }

    /// Render for people, like `terraform plan`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let s = &self.summary;
        let _ = writeln!(
            out,
            "Plan for rule {}: {} to create, {} to adopt, {} to update, {} to rename, {} to enable, {} to disable, {} to delete, {} memberships to add, {} to remove, {} phones to add, {} to remove, {} link changes, {} problems.",
            q(&self.rule),
            s.create,
            s.adopt,
            s.update,
            s.rename,
            s.enable,
            s.disable,
            s.delete,
            s.add_member,
            s.remove_member,
            s.add_phone,
            s.remove_phone,
            s.link,
            s.problems
        );
        if s.held > 0 {
            let _ = writeln!(
                out,
                "{} linked objects held (their source failed; nothing destructive is done to them).",
                s.held
            );
        }
        if s.enroll > 0 {
            let _ = writeln!(out, "{} enrollment emails to send.", s.enroll);
        }
        for b in &self.blocked {
            let _ = writeln!(out, "! blocked: {}", safe(&b.reason));
        }
        for c in &self.common_failures {
            let _ = writeln!(
                out,
                "! same cause for {} {}s: {}",
                c.count,
                c.kind.as_str(),
                safe(&c.cause)
            );
        }
        for op in &self.ops {
            render_op(&mut out, op, &self.ops);
        }
        for p in &self.problems {
            let _ = writeln!(
                out,
                "! {} {} {}: {}",
                problem_word(p.code),
                p.kind.as_str(),
                safe(&p.name),
                safe(&p.message)
            );
        }
        for n in &self.notes {
            let _ = writeln!(out, "note: {}", safe(n));
        }
        let _ = writeln!(out, "hash {}", self.hash);
        out
    }
}

fn problem_word(c: ProblemCode) -> &'static str {
    if c == ProblemCode::Held {
        return "held";
    }
    match c.status() {
        SyncStatus::Unsynced => "unsynced",
        SyncStatus::Partial => "partial",
        _ => "failed",
    }
}

/// A value quoted for the text rendering, safe on a terminal.
fn q(s: &str) -> String {
    crate::text::json_terminal_safe(&serde_json::to_string(s).unwrap_or_default()).into_owned()
}

/// A name for the text rendering, safe on a terminal.
fn safe(s: &str) -> std::borrow::Cow<'_, str> {
    crate::text::terminal_safe(s)
}

fn show(v: &Option<Value>) -> String {
    match v {
        None => "(empty)".to_owned(),
        Some(Value::Str(s)) => q(s),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::List(l)) => {
            let items: Vec<String> = l.iter().map(|s| q(s)).collect();
            format!("[{}]", items.join(", "))
        }
    }
}

fn show_ref(r: &TargetRef, ops: &[Op]) -> String {
    match r {
        TargetRef::Existing(id) => safe(id).into_owned(),
        TargetRef::Created(i) => ops.get(*i as usize).map_or_else(
            || format!("(op {i})"),
            |o| format!("(new {})", safe(&o.name)),
        ),
    }
}

fn render_op(out: &mut String, op: &Op, ops: &[Op]) {
    let k = op.kind.as_str();
    let n = safe(&op.name);
    let tid = op
        .target
        .as_ref()
        .map(|t| show_ref(t, ops))
        .unwrap_or_default();
    let _ = match &op.action {
        Action::Create {
            attrs,
            enabled,
            lookup_first,
        } => {
            let a: Vec<String> = attrs
                .iter()
                .map(|c| format!("{}={}", c.attr, show(&c.after)))
                .collect();
            let mut extra = String::new();
            if op.kind.is_account() && !enabled {
                extra.push_str(" disabled");
            }
            if *lookup_first {
                extra.push_str(" (look up by key first: earlier outcome unknown)");
            }
            if a.is_empty() {
                writeln!(out, "+ create {k} {n}{extra}")
            } else {
                writeln!(out, "+ create {k} {n} ({}){extra}", a.join(", "))
            }
        }
        Action::Adopt { evidence } => writeln!(
            out,
            "= adopt {k} {n} → {tid} (existing object; matched {})",
            safe(&evidence.join(", "))
        ),
        Action::Relink => writeln!(out, "= relink {k} {n} → {tid} (record fingerprint)"),
        Action::Unlink => writeln!(out, "= unlink {k} {n} ({tid})"),
        Action::Rename { from, to } => writeln!(out, "~ rename {k} {} → {}", q(from), q(to)),
        Action::Update { changes } => {
            let c: Vec<String> = changes
                .iter()
                .map(|c| format!("{} {} → {}", c.attr, show(&c.before), show(&c.after)))
                .collect();
            writeln!(out, "~ update {k} {n}: {}", c.join(", "))
        }
        Action::Enable => writeln!(out, "~ enable {k} {n}"),
        Action::Disable => writeln!(out, "- disable {k} {n}"),
        Action::Delete => writeln!(out, "- delete {k} {n}"),
        Action::AddPhone { number, phone_id } => match phone_id {
            Some(p) => writeln!(out, "+ add phone {} ({}) to {k} {n}", safe(number), safe(p)),
            None => writeln!(out, "+ add phone {} to {k} {n}", safe(number)),
        },
        Action::RemovePhone {
            number,
            phone_id,
            delete_phone,
        } => {
            let d = if *delete_phone { ", delete phone" } else { "" };
            writeln!(
                out,
                "- remove phone {} ({}) from {k} {n}{d}",
                safe(number),
                safe(phone_id)
            )
        }
        Action::AddMember {
            member_kind,
            member_name,
            ..
        } => {
            writeln!(
                out,
                "+ add {} {} to {k} {n}",
                member_kind.as_str(),
                safe(member_name)
            )
        }
        Action::RemoveMember {
            member_kind,
            member_name,
            ..
        } => {
            writeln!(
                out,
                "- remove {} {} from {k} {n}",
                member_kind.as_str(),
                safe(member_name)
            )
        }
        Action::Enroll {
            email,
            valid_secs,
            reminder,
        } => {
            let what = if *reminder {
                "enrollment reminder"
            } else {
                "enrollment email"
            };
            writeln!(
                out,
                "+ enroll {k} {n}: {what} to {} ({})",
                q(email),
                validity(*valid_secs)
            )
        }
    };
}

/// How long an enrollment link stays valid, in words.
fn validity(secs: u64) -> String {
    match secs {
        0 => "link never expires".to_owned(),
        s if s % 86_400 == 0 => format!("link valid {} days", s / 86_400),
        s if s % 3_600 == 0 => format!("link valid {} hours", s / 3_600),
        s => format!("link valid {s} seconds"),
    }
}
