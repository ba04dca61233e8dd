//! The async executor: runs a `Plan` against a `Target` with bounded
//! concurrency in dependency order, journaling intent before and outcome
//! after every call, and summarises the run in PingOne's status words.

use std::collections::BTreeMap;
use std::future::Future;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::model::{Kind, Link};
use crate::plan::{Action, AttrChange, Op, Plan, SyncStatus, TargetRef};

/// How a target error should be handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Rate limit, 5xx, network before send: retried on the next cycle.
    Transient,
    /// Validation, not found, permission: recorded, left until the data changes.
    Permanent,
    /// The request may have been applied (timeout after send): the next
    /// run looks the object up by key instead of creating it again.
    OutcomeUnknown,
}

/// An error from a [`Target`] call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{message}")]
pub struct TargetError {
    /// How to handle it.
    pub class: ErrorClass,
    /// Operator-readable text naming the object, the field and the fix.
    pub message: String,
}

/// An error from a [`Journal`] call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("journal: {0}")]
pub struct JournalError(pub String);

/// An object found on the target by its key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    /// Its target id.
    pub target_id: String,
    /// Its key as the target spells it.
    pub key: String,
}

/// Result type of target calls.
pub type TResult<T> = Result<T, TargetError>;

/// The system being written to. Implemented by the agent for each vendor.
/// A delete of an object that is already gone should return `Ok`.
pub trait Target: Sync {
    /// Create an object; returns its target id.
    fn create(
        &self,
        kind: Kind,
        key: &str,
        attrs: &[AttrChange],
        enabled: bool,
    ) -> impl Future<Output = TResult<String>> + Send;
    /// Write changed attributes (`after: None` clears).
    fn update(
        &self,
        kind: Kind,
        id: &str,
        changes: &[AttrChange],
    ) -> impl Future<Output = TResult<()>> + Send;
    /// Change the key (username, group name).
    fn rename(
        &self,
        kind: Kind,
        id: &str,
        new_key: &str,
    ) -> impl Future<Output = TResult<()>> + Send;
    /// Enable or disable an account.
    fn set_enabled(
        &self,
        kind: Kind,
        id: &str,
        enabled: bool,
    ) -> impl Future<Output = TResult<()>> + Send;
    /// Delete an object.
    fn delete(&self, kind: Kind, id: &str) -> impl Future<Output = TResult<()>> + Send;
    /// Add an account to a group.
    fn add_member(
        &self,
        group_id: &str,
        member_kind: Kind,
        member_id: &str,
    ) -> impl Future<Output = TResult<()>> + Send;
    /// Remove an account from a group.
    fn remove_member(
        &self,
        group_id: &str,
        member_kind: Kind,
        member_id: &str,
    ) -> impl Future<Output = TResult<()>> + Send;
    /// Email an account an enrollment link (`key` is its username). A
    /// target without enrollment refuses it permanently.
    fn enroll(
        &self,
        kind: Kind,
        key: &str,
        email: &str,
        valid_secs: u64,
    ) -> impl Future<Output = TResult<()>> + Send {
        let _ = (kind, key, email, valid_secs);
        std::future::ready(Err(TargetError {
            class: ErrorClass::Permanent,
            message: "this target does not enroll accounts".to_owned(),
        }))
    }
    /// Find a phone by number.
    fn find_phone(&self, number: &str) -> impl Future<Output = TResult<Option<String>>> + Send;
    /// Create a phone; returns its id.
    fn create_phone(&self, number: &str) -> impl Future<Output = TResult<String>> + Send;
    /// Attach a phone to an account.
    fn attach_phone(
        &self,
        kind: Kind,
        account_id: &str,
        phone_id: &str,
    ) -> impl Future<Output = TResult<()>> + Send;
    /// Detach a phone from an account (the phone stays).
    fn detach_phone(
        &self,
        kind: Kind,
        account_id: &str,
        phone_id: &str,
    ) -> impl Future<Output = TResult<()>> + Send;
    /// Delete a phone.
    fn delete_phone(&self, phone_id: &str) -> impl Future<Output = TResult<()>> + Send;
    /// Look an object up by key (resolves unknown outcomes).
    fn find_by_key(
        &self,
        kind: Kind,
        key: &str,
    ) -> impl Future<Output = TResult<Option<Found>>> + Send;
}

/// Id of a journaled intent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IntentId(pub u64);

/// What a succeeded op does to its object's link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkChange<'a> {
    /// Nothing to record.
    Keep,
    /// Create or replace the link.
    Upsert(&'a Link),
    /// Forget the link of `(kind, source_id)`.
    Remove { kind: Kind, source_id: &'a str },
}

/// Durable record of what the executor does. Implemented by the agent over
/// the state store. `intent` must be durable before it returns.
pub trait Journal: Sync {
    /// Record the intent to run `op` on `target_id` (resolved), before the call.
    fn intent(
        &self,
        rule: &str,
        op: &Op,
        target_id: Option<&str>,
    ) -> impl Future<Output = Result<IntentId, JournalError>> + Send;
    /// Record the outcome of an intent. An `Unknown` outcome stays pending.
    fn outcome(
        &self,
        intent: IntentId,
        outcome: &Outcome,
    ) -> impl Future<Output = Result<(), JournalError>> + Send;
    /// Create or replace the link of `(kind, source_id)`.
    fn upsert_link(
        &self,
        rule: &str,
        link: &Link,
    ) -> impl Future<Output = Result<(), JournalError>> + Send;
    /// Remove the link of `(kind, source_id)`.
    fn remove_link(
        &self,
        rule: &str,
        kind: Kind,
        source_id: &str,
    ) -> impl Future<Output = Result<(), JournalError>> + Send;
    /// Record a succeeded intent together with the link change it made.
    /// A journal that can should make both one durable write (the agent's
    /// does, with an audit entry); this default writes the link, then the
    /// outcome, so a crash in between leaves the intent pending and the next
    /// run finds the object by key.
    fn finish(
        &self,
        rule: &str,
        intent: IntentId,
        outcome: &Outcome,
        link: LinkChange<'_>,
    ) -> impl Future<Output = Result<(), JournalError>> + Send {
        async move {
            match link {
                LinkChange::Keep => {}
                LinkChange::Upsert(l) => self.upsert_link(rule, l).await?,
                LinkChange::Remove { kind, source_id } => {
                    self.remove_link(rule, kind, source_id).await?;
                }
            }
            self.outcome(intent, outcome).await
        }
    }
    /// Record the run's status of one object.
    fn object_status(
        &self,
        rule: &str,
        status: &ObjectStatus,
    ) -> impl Future<Output = Result<(), JournalError>> + Send;
}

/// Watches a run while it goes (live progress, metrics). Called from the
/// executor's own task, so it must be quick and must not block.
pub trait ExecObserver: Send + Sync + std::fmt::Debug {
    /// `op` starts: its intent is journaled and its calls follow.
    fn started(&self, op: &Op);
    /// `op` has its final outcome; every op of the plan settles exactly once
    /// (skipped and not-started ones too, the latter when the run ends).
    fn settled(&self, op: &Op, outcome: &Outcome);
}

/// Executor options.
#[derive(Clone, Debug)]
pub struct ExecOptions {
    /// Most ops in flight at once (at least 1).
    pub concurrency: usize,
    /// Cancelled: no new op starts; in-flight ops finish and are journaled.
    pub cancel: CancellationToken,
    /// Told of each op as it starts and settles.
    pub observer: Option<std::sync::Arc<dyn ExecObserver>>,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            concurrency: 8,
            cancel: CancellationToken::new(),
            observer: None,
        }
    }
}

/// What happened to one op.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Done; `target_id` of a created (or found) object.
    Succeeded {
        /// Target id of the object the op created or found.
        target_id: Option<String>,
    },
    /// The target refused or failed.
    Failed {
        /// Transient, permanent or unknown outcome.
        class: ErrorClass,
        /// Why.
        message: String,
    },
    /// Not run because an op it depends on did not succeed.
    Skipped {
        /// The failing dependency.
        reason: String,
    },
    /// Not started (plan blocked or run cancelled).
    NotStarted,
}

/// Outcome of one op of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpResult {
    /// Op id in the plan.
    pub op: u32,
    /// What happened.
    pub outcome: Outcome,
}

/// Status of one object after the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectStatus {
    /// Kind.
    pub kind: Kind,
    /// Source id (`None` for an object known only on the target).
    pub source_id: Option<String>,
    /// Key, for people.
    pub name: String,
    /// PingOne's status word.
    pub status: SyncStatus,
    /// Why, when not a success.
    pub message: Option<String>,
    /// The source attribute at fault, when the worst problem names one.
    #[serde(default)]
    pub attribute: Option<String>,
}

/// Users (and admins) in PingOne's words.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserCounts {
    /// Accounts with an op or a problem.
    pub impacted: u64,
    /// Fully synced.
    pub success: u64,
    /// Not synced by policy (e.g. creation not allowed) or not started.
    pub unsynced: u64,
    /// Partly synced (e.g. updates not allowed).
    pub partial: u64,
    /// Failed.
    pub failed: u64,
}

/// Groups in PingOne's words; a group fails if any of its memberships fails.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCounts {
    /// Groups with an op or a problem.
    pub impacted: u64,
    /// Fully synced.
    pub success: u64,
    /// Failed (any op or membership).
    pub failed: u64,
}

/// The result of [`execute`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReport {
    /// The plan's hash.
    pub plan_hash: String,
    /// The plan was blocked by a safety limit: nothing ran.
    pub blocked: bool,
    /// The run was cancelled before every op started.
    pub cancelled: bool,
    /// One result per op, in plan order.
    pub results: Vec<OpResult>,
    /// Ops to retry on the next cycle (transient or unknown outcome).
    pub retry_later: u64,
    /// Per-object status of impacted objects, sorted.
    pub objects: Vec<ObjectStatus>,
    /// User counts.
    pub users: UserCounts,
    /// Group counts.
    pub groups: GroupCounts,
}

fn resolve(r: &TargetRef, created: &[Option<String>]) -> Option<String> {
    match r {
        TargetRef::Existing(s) => Some(s.clone()),
        TargetRef::Created(i) => created.get(*i as usize).cloned().flatten(),
    }
}

fn fail(class: ErrorClass, message: String) -> Outcome {
    Outcome::Failed { class, message }
}

/// Run a plan. One object's failure never stops the others; ops depending
/// on a failed op are skipped. A blocked plan runs nothing.
pub async fn execute<T: Target, J: Journal>(
    plan: &Plan,
    target: &T,
    journal: &J,
    opts: ExecOptions,
) -> RunReport {
    let n = plan.ops.len();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; n];
    let mut report = RunReport {
        plan_hash: plan.hash.clone(),
        ..RunReport::default()
    };
    let observer = opts.observer.as_deref();
    if !plan.blocked.is_empty() {
        report.blocked = true;
        report.results = (0..n as u32)
            .map(|op| OpResult {
                op,
                outcome: Outcome::NotStarted,
            })
            .collect();
        if let Some(o) = observer {
            for op in &plan.ops {
                o.settled(op, &Outcome::NotStarted);
            }
        }
        return report;
    }
    let mut waiting: Vec<usize> = vec![0; n];
    let mut dependents: Vec<Vec<u32>> = vec![Vec::new(); n];
    // Positions, not `op.id`, index everything: a plan read back from a file
    // must not be able to make the executor panic.
    for (i, op) in plan.ops.iter().enumerate() {
        for &d in &op.deps {
            if (d as usize) < i {
                waiting[i] += 1;
                dependents[d as usize].push(i as u32);
            }
        }
    }
    let mut ready: std::collections::BTreeSet<u32> = (0..n as u32)
        .filter(|i| waiting[*i as usize] == 0)
        .collect();
    let mut created: Vec<Option<String>> = vec![None; n];
    let mut inflight = FuturesUnordered::new();
    let conc = opts.concurrency.max(1);
    loop {
        while inflight.len() < conc && !opts.cancel.is_cancelled() {
            let Some(id) = ready.pop_first() else { break };
            let op = &plan.ops[id as usize];
            let tid = op.target.as_ref().map(|r| resolve(r, &created));
            let member = match &op.action {
                Action::AddMember { member, .. } | Action::RemoveMember { member, .. } => {
                    Some(resolve(member, &created))
                }
                _ => None,
            };
            if matches!(tid, Some(None)) || matches!(member, Some(None)) {
                let o = Outcome::Skipped {
                    reason: "a referenced object was not created".to_owned(),
                };
                settle(
                    id,
                    o,
                    &mut outcomes,
                    &dependents,
                    &mut waiting,
                    &mut ready,
                    plan,
                    observer,
                );
                continue;
            }
            if let Some(o) = observer {
                o.started(op);
            }
            inflight.push(run_op(
                &plan.rule,
                id,
                op,
                tid.flatten(),
                member.flatten(),
                target,
                journal,
            ));
        }
        let Some((id, outcome)) = inflight.next().await else {
            break;
        };
        if let Outcome::Succeeded { target_id: Some(t) } = &outcome {
            created[id as usize] = Some(t.clone());
        }
        settle(
            id,
            outcome,
            &mut outcomes,
            &dependents,
            &mut waiting,
            &mut ready,
            plan,
            observer,
        );
    }
    report.cancelled = outcomes.iter().any(Option::is_none);
    if let Some(o) = observer {
        for (i, _) in outcomes.iter().enumerate().filter(|(_, x)| x.is_none()) {
            o.settled(&plan.ops[i], &Outcome::NotStarted);
        }
    }
    report.results = outcomes
        .into_iter()
        .enumerate()
        .map(|(i, o)| OpResult {
            op: i as u32,
            outcome: o.unwrap_or(Outcome::NotStarted),
        })
        .collect();
    report.retry_later = report
        .results
        .iter()
        .filter(|r| {
            matches!(
                r.outcome,
                Outcome::Failed {
                    class: ErrorClass::Transient | ErrorClass::OutcomeUnknown,
                    ..
                }
            )
        })
        .count() as u64;
    summarise(plan, &mut report);
    for s in &report.objects {
        if let Err(e) = journal.object_status(&plan.rule, s).await {
            tracing::warn!(error = %e, object = %s.name, "could not record object status");
        }
    }
    report
}

#[allow(clippy::too_many_arguments)]
fn settle(
    id: u32,
    outcome: Outcome,
    outcomes: &mut [Option<Outcome>],
    dependents: &[Vec<u32>],
    waiting: &mut [usize],
    ready: &mut std::collections::BTreeSet<u32>,
    plan: &Plan,
    observer: Option<&dyn ExecObserver>,
) {
    let ok = matches!(outcome, Outcome::Succeeded { .. });
    if let Some(o) = observer {
        o.settled(&plan.ops[id as usize], &outcome);
    }
    outcomes[id as usize] = Some(outcome);
    if ok {
        for &d in &dependents[id as usize] {
            waiting[d as usize] -= 1;
            if waiting[d as usize] == 0 && outcomes[d as usize].is_none() {
                ready.insert(d);
            }
        }
        return;
    }
    // Skip every transitive dependent.
    let mut stack = vec![id];
    while let Some(f) = stack.pop() {
        for &d in &dependents[f as usize] {
            if outcomes[d as usize].is_none() {
                let op = &plan.ops[f as usize];
                let skipped = Outcome::Skipped {
                    reason: format!(
                        "depends on op {f} ({} {} {}) which did not succeed",
                        op.action.verb(),
                        op.kind.as_str(),
                        op.name
                    ),
                };
                if let Some(o) = observer {
                    o.settled(&plan.ops[d as usize], &skipped);
                }
                outcomes[d as usize] = Some(skipped);
                ready.remove(&d);
                stack.push(d);
            }
        }
    }
}

async fn run_op<T: Target, J: Journal>(
    rule: &str,
    idx: u32,
    op: &Op,
    tid: Option<String>,
    member: Option<String>,
    t: &T,
    j: &J,
) -> (u32, Outcome) {
    let link = |target_id: &str| {
        op.source_id
            .as_ref()
            .zip(op.fingerprint)
            .map(|(s, fp)| Link {
                kind: op.kind,
                source_id: s.clone(),
                target_id: target_id.to_owned(),
                fingerprint: fp,
                adopted: match op.action {
                    Action::Adopt { .. } => Some(true),
                    Action::Create { .. } => Some(false),
                    _ => None,
                },
            })
    };
    // Journal-only ops.
    match &op.action {
        Action::Adopt { .. } | Action::Relink => {
            let r = match link(tid.as_deref().unwrap_or("")) {
                Some(l) => j.upsert_link(rule, &l).await,
                None => Ok(()),
            };
            let o = match r {
                Ok(()) => Outcome::Succeeded { target_id: None },
                Err(e) => fail(ErrorClass::Transient, e.to_string()),
            };
            return (idx, o);
        }
        Action::Unlink => {
            let r = match &op.source_id {
                Some(s) => j.remove_link(rule, op.kind, s).await,
                None => Ok(()),
            };
            let o = match r {
                Ok(()) => Outcome::Succeeded { target_id: None },
                Err(e) => fail(ErrorClass::Transient, e.to_string()),
            };
            return (idx, o);
        }
        _ => {}
    }
    let intent = match j.intent(rule, op, tid.as_deref()).await {
        Ok(i) => i,
        Err(e) => {
            return (
                idx,
                fail(ErrorClass::Transient, format!("{e}; the op was not sent")),
            );
        }
    };
    let id = tid.as_deref().unwrap_or("");
    let res: TResult<Option<String>> = match &op.action {
        Action::Create {
            attrs,
            enabled,
            lookup_first,
        } => {
            let found = if *lookup_first {
                t.find_by_key(op.kind, &op.name).await
            } else {
                Ok(None)
            };
            match found {
                Ok(Some(f)) => Ok(Some(f.target_id)),
                Ok(None) => t.create(op.kind, &op.name, attrs, *enabled).await.map(Some),
                Err(e) => Err(e),
            }
        }
        Action::Update { changes } => t.update(op.kind, id, changes).await.map(|()| None),
        Action::Rename { to, .. } => t.rename(op.kind, id, to).await.map(|()| None),
        Action::Enable => t.set_enabled(op.kind, id, true).await.map(|()| None),
        Action::Disable => t.set_enabled(op.kind, id, false).await.map(|()| None),
        Action::Delete => t.delete(op.kind, id).await.map(|()| None),
        Action::AddPhone { number, phone_id } => {
            let pid = match phone_id {
                Some(p) => Ok(p.clone()),
                None => match t.find_phone(number).await {
                    Ok(Some(p)) => Ok(p),
                    Ok(None) => t.create_phone(number).await,
                    Err(e) => Err(e),
                },
            };
            match pid {
                Ok(p) => t.attach_phone(op.kind, id, &p).await.map(|()| None),
                Err(e) => Err(e),
            }
        }
        Action::RemovePhone {
            phone_id,
            delete_phone,
            ..
        } => {
            if *delete_phone {
                t.delete_phone(phone_id).await.map(|()| None)
            } else {
                t.detach_phone(op.kind, id, phone_id).await.map(|()| None)
            }
        }
        Action::AddMember { member_kind, .. } => t
            .add_member(id, *member_kind, member.as_deref().unwrap_or(""))
            .await
            .map(|()| None),
        Action::RemoveMember { member_kind, .. } => t
            .remove_member(id, *member_kind, member.as_deref().unwrap_or(""))
            .await
            .map(|()| None),
        Action::Enroll {
            email, valid_secs, ..
        } => t
            .enroll(op.kind, &op.name, email, *valid_secs)
            .await
            .map(|()| None),
        Action::Adopt { .. } | Action::Relink | Action::Unlink => Ok(None),
    };
    let outcome = match res {
        Ok(new_id) => {
            let object = new_id.clone().or(tid.clone());
            let new_link = object.as_deref().and_then(link);
            let change = match (&op.action, &op.source_id, &new_link) {
                (Action::Delete, Some(s), _) => LinkChange::Remove {
                    kind: op.kind,
                    source_id: s,
                },
                (Action::Delete, None, _) | (_, _, None) => LinkChange::Keep,
                (_, _, Some(l)) => LinkChange::Upsert(l),
            };
            let outcome = Outcome::Succeeded { target_id: new_id };
            if let Err(e) = j.finish(rule, intent, &outcome, change).await {
                tracing::warn!(error = %e, op = op.id, "outcome not recorded; the intent stays pending and the next plan finds the object by key");
            }
            outcome
        }
        Err(e) => {
            let outcome = fail(e.class, e.message);
            if let Err(e) = j.outcome(intent, &outcome).await {
                tracing::warn!(error = %e, op = op.id, "outcome not recorded; the intent stays pending");
            }
            outcome
        }
    };
    (idx, outcome)
}

fn summarise(plan: &Plan, report: &mut RunReport) {
    // (kind, source id or name) -> (name, source, worst status, first message)
    type Key = (Kind, String);
    type Why = (SyncStatus, Option<String>, Option<String>);
    let mut objs: BTreeMap<Key, (String, Option<String>, Why)> = BTreeMap::new();
    let mut note = |kind: Kind, src: Option<&String>, name: &str, why: Why| {
        let key = (
            kind,
            src.cloned().unwrap_or_else(|| format!("target:{name}")),
        );
        let e = objs.entry(key).or_insert_with(|| {
            (
                name.to_owned(),
                src.cloned(),
                (SyncStatus::Success, None, None),
            )
        });
        if why.0 > e.2.0 {
            e.2 = why;
        }
    };
    for p in &plan.problems {
        let why = (
            p.code.status(),
            Some(p.message.clone()),
            p.attribute.clone(),
        );
        note(p.kind, Some(&p.source_id), &p.name, why);
    }
    for r in &report.results {
        let op = &plan.ops[r.op as usize];
        // A membership op is the group's, but people look for the member.
        let what = match &op.action {
            Action::AddMember {
                member_kind,
                member_name,
                ..
            }
            | Action::RemoveMember {
                member_kind,
                member_name,
                ..
            } => format!(
                "{} of {} {member_name:?}",
                op.action.verb(),
                member_kind.as_str()
            ),
            other => other.verb().to_owned(),
        };
        let (st, msg) = match &r.outcome {
            Outcome::Succeeded { .. } => (SyncStatus::Success, None),
            Outcome::Failed { message, .. } => (
                SyncStatus::Failed,
                Some(format!("{what} failed: {message}")),
            ),
            Outcome::Skipped { reason } => (
                SyncStatus::Failed,
                Some(format!("{what} skipped: {reason}")),
            ),
            Outcome::NotStarted => (SyncStatus::Unsynced, Some(format!("{what} not started"))),
        };
        note(op.kind, op.source_id.as_ref(), &op.name, (st, msg, None));
    }
    for ((kind, _), (name, source_id, (status, message, attribute))) in objs {
        let counts = &mut report.users;
        if kind.is_account() {
            counts.impacted += 1;
            match status {
                SyncStatus::Success => counts.success += 1,
                SyncStatus::Unsynced => counts.unsynced += 1,
                SyncStatus::Partial => counts.partial += 1,
                SyncStatus::Failed => counts.failed += 1,
            }
        } else {
            report.groups.impacted += 1;
            if status == SyncStatus::Failed {
                report.groups.failed += 1;
            } else {
                report.groups.success += 1;
            }
        }
        report.objects.push(ObjectStatus {
            kind,
            source_id,
            name,
            status,
            message,
            attribute,
        });
    }
}
