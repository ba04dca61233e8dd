//! The async executor: runs a `Plan` against a `Target` with bounded
//! concurrency in dependency order, journaling intent before and outcome
//! after every call, and summarises the run in PingOne's status words.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use futures::future::OptionFuture;
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

/// What a settled op does to its object's link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkChange {
    /// Nothing to record.
    Keep,
    /// Create or replace the link.
    Upsert(Link),
    /// Forget the link of `(kind, source_id)`.
    Remove {
        /// Kind of the object.
        kind: Kind,
        /// Its source id.
        source_id: String,
    },
}

/// An op whose outcome is known, to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settled {
    /// Its intent; `None` for a journal-only op (adopt, relink, unlink).
    pub intent: Option<IntentId>,
    /// What happened. A `Failed { class: OutcomeUnknown }` leaves the intent pending.
    pub outcome: Outcome,
    /// The link change a success made (always `Keep` otherwise).
    pub link: LinkChange,
}

/// An op about to be sent: its intent is journaled first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned<'p> {
    /// The op.
    pub op: &'p Op,
    /// Its target object, resolved (`None` for a create).
    pub target_id: Option<String>,
}

/// One durable write of the journal: outcomes of settled ops and the intents
/// of the next ops to send (group commit: many ops, one disk sync).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Commit<'p> {
    /// Outcomes, each success with its link change.
    pub settled: Vec<Settled>,
    /// Intents, in the order their ids are returned.
    pub intents: Vec<Planned<'p>>,
}

impl Commit<'_> {
    fn len(&self) -> usize {
        self.settled.len() + self.intents.len()
    }
}

/// Durable record of what the executor does. Implemented by the agent over
/// the state store.
pub trait Journal: Sync {
    /// Make `batch` durable in ONE write and return the ids of its intents,
    /// in order: all of it is durable when this returns `Ok`, none of it
    /// after an error. A success and its link change must land together (the
    /// agent's journal adds an audit entry), so that after a crash an object
    /// is either linked with its history or has a pending intent. The
    /// executor sends an op only once its intent is durable.
    fn commit(
        &self,
        rule: &str,
        batch: &Commit<'_>,
    ) -> impl Future<Output = Result<Vec<IntentId>, JournalError>> + Send;
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
    /// Intents journaled ahead but not sent stay pending: the next run
    /// resolves them by key like any pending intent.
    pub cancel: CancellationToken,
    /// Most intents journaled ahead of the sends, in one commit (0: eight
    /// times the concurrency, between 64 and 2,048). A crash leaves at most
    /// this many unsent intents pending.
    pub window: usize,
    /// Longest a known outcome waits in memory before it is committed (when
    /// no commit of intents carries it sooner).
    pub flush_after: Duration,
    /// Told of each op as it starts and settles.
    pub observer: Option<std::sync::Arc<dyn ExecObserver>>,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            concurrency: 8,
            cancel: CancellationToken::new(),
            window: 0,
            flush_after: Duration::from_millis(25),
            observer: None,
        }
    }
}

impl ExecOptions {
    fn window(&self) -> usize {
        match self.window {
            0 => (8 * self.concurrency.max(1)).clamp(64, 2048),
            w => w,
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
///
/// Group commit: the intents of a window of ready ops are made durable in one
/// commit before any of them is sent, ahead of the sends; outcomes wait in
/// memory and ride along with the next commit, which starts when the window
/// runs low, when [`ExecOptions::window`] outcomes wait, when the oldest has
/// waited [`ExecOptions::flush_after`], or when nothing else is left to do.
/// One commit is in progress at a time, so outcomes gather while one syncs.
pub async fn execute<T: Target, J: Journal>(
    plan: &Plan,
    target: &T,
    journal: &J,
    opts: ExecOptions,
) -> RunReport {
    let n = plan.ops.len();
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
    let mut g = Graph::new(plan, observer);
    let conc = opts.concurrency.max(1);
    let window = opts.window().max(1);
    // A timer needs tokio's clock; without a runtime, outcomes are committed
    // as soon as nothing else can progress.
    let has_clock = tokio::runtime::Handle::try_current().is_ok();
    // Journaled, not yet sent: (op, intent, target id, member id).
    let mut queue: VecDeque<(u32, IntentId, Option<String>, Option<String>)> = VecDeque::new();
    let mut buffer: Vec<Settled> = Vec::new();
    let mut oldest: Option<tokio::time::Instant> = None;
    let mut inflight = FuturesUnordered::new();
    let mut commits = FuturesUnordered::new();
    loop {
        let cancelled = opts.cancel.is_cancelled();
        while inflight.len() < conc && !cancelled {
            let Some((id, intent, tid, member)) = queue.pop_front() else {
                break;
            };
            let op = &plan.ops[id as usize];
            if let Some(o) = observer {
                o.started(op);
            }
            inflight.push(async move {
                let res = call(op, tid.as_deref(), member.as_deref(), target).await;
                (id, intent, tid, res)
            });
        }
        if commits.is_empty() {
            let want_intents = !cancelled && !g.ready.is_empty() && queue.len() <= window / 2;
            let idle = inflight.is_empty() && (queue.is_empty() || cancelled) && !want_intents;
            let due = !buffer.is_empty()
                && (buffer.len() >= window
                    || idle
                    || !has_clock
                    || oldest.is_some_and(|t| t.elapsed() >= opts.flush_after));
            if want_intents || due {
                let mut batch = Commit {
                    settled: std::mem::take(&mut buffer),
                    intents: Vec::new(),
                };
                oldest = None;
                let mut meta = Vec::new();
                while !cancelled && meta.len() < window - queue.len().min(window - 1) {
                    let Some(id) = g.ready.pop_first() else { break };
                    match g.start(id) {
                        Start::Skip(o) => g.settle(id, o),
                        Start::JournalOnly(link) => {
                            if let Some(o) = observer {
                                o.started(&plan.ops[id as usize]);
                            }
                            batch.settled.push(Settled {
                                intent: None,
                                outcome: Outcome::Succeeded { target_id: None },
                                link,
                            });
                            g.settle(id, Outcome::Succeeded { target_id: None });
                        }
                        Start::Send { tid, member } => {
                            batch.intents.push(Planned {
                                op: &plan.ops[id as usize],
                                target_id: tid.clone(),
                            });
                            meta.push((id, tid, member));
                        }
                    }
                }
                if !batch.settled.is_empty() || !batch.intents.is_empty() {
                    let rule = plan.rule.as_str();
                    commits.push(async move { (meta, commit(journal, rule, batch).await) });
                }
                continue;
            }
        }
        if inflight.is_empty() && commits.is_empty() {
            if cancelled || (queue.is_empty() && g.ready.is_empty()) {
                break;
            }
            // Ready ops wait for the window to run low: only the sends can do that.
            continue;
        }
        let deadline = oldest
            .filter(|_| has_clock && commits.is_empty())
            .map(|t| tokio::time::sleep_until(t + opts.flush_after));
        tokio::select! {
            Some((id, intent, tid, res)) = inflight.next(), if !inflight.is_empty() => {
                let (outcome, link) = g.finished(id, tid, res);
                if oldest.is_none() && has_clock {
                    oldest = Some(tokio::time::Instant::now());
                }
                buffer.push(Settled { intent: Some(intent), outcome: outcome.clone(), link });
                g.settle(id, outcome);
            }
            Some((meta, ids)) = commits.next(), if !commits.is_empty() => {
                for ((id, tid, member), r) in meta.into_iter().zip(ids) {
                    match r {
                        Ok(intent) => queue.push_back((id, intent, tid, member)),
                        Err(e) => {
                            // Taken up and failed before any call: started, so
                            // every failure an observer sees was started.
                            if let Some(o) = observer {
                                o.started(&plan.ops[id as usize]);
                            }
                            g.settle(
                                id,
                                fail(ErrorClass::Transient, format!("{e}; the op was not sent")),
                            );
                        }
                    }
                }
            }
            Some(()) = OptionFuture::from(deadline) => {}
        }
    }
    let outcomes = g.outcomes;
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

/// Commit a batch; if it fails, commit its parts one by one, so one bad row
/// (say, a secret-named attribute) fails only its own op. Returns the
/// intents' ids in order.
async fn commit<J: Journal>(
    j: &J,
    rule: &str,
    batch: Commit<'_>,
) -> Vec<Result<IntentId, JournalError>> {
    let n = batch.intents.len();
    let err = match j.commit(rule, &batch).await {
        Ok(ids) if ids.len() == n => return ids.into_iter().map(Ok).collect(),
        Ok(ids) => JournalError(format!(
            "journal returned {} ids for {n} intents",
            ids.len()
        )),
        Err(e) => e,
    };
    if batch.len() == 1 {
        if batch.settled.is_empty() {
            return vec![Err(err)];
        }
        tracing::warn!(error = %err, "outcome not recorded; the intent stays pending and the next plan finds the object by key");
        return Vec::new();
    }
    let Commit { settled, intents } = batch;
    for s in settled {
        let one = Commit {
            settled: vec![s],
            intents: Vec::new(),
        };
        if let Err(e) = j.commit(rule, &one).await {
            tracing::warn!(error = %e, "outcome not recorded; the intent stays pending and the next plan finds the object by key");
        }
    }
    let mut out = Vec::with_capacity(n);
    for p in intents {
        let one = Commit {
            settled: Vec::new(),
            intents: vec![p],
        };
        out.push(j.commit(rule, &one).await.and_then(|ids| {
            ids.into_iter()
                .next()
                .ok_or_else(|| JournalError("journal returned no id".into()))
        }));
    }
    out
}

/// The dependency graph of a plan as it executes.
struct Graph<'p> {
    plan: &'p Plan,
    observer: Option<&'p dyn ExecObserver>,
    outcomes: Vec<Option<Outcome>>,
    waiting: Vec<usize>,
    dependents: Vec<Vec<u32>>,
    ready: BTreeSet<u32>,
    created: Vec<Option<String>>,
}

/// What starting a ready op takes.
enum Start {
    /// Not run (a referenced object was not created).
    Skip(Outcome),
    /// Only a link change, recorded with the next commit.
    JournalOnly(LinkChange),
    /// A target call, after its intent.
    Send {
        tid: Option<String>,
        member: Option<String>,
    },
}

impl<'p> Graph<'p> {
    fn new(plan: &'p Plan, observer: Option<&'p dyn ExecObserver>) -> Self {
        let n = plan.ops.len();
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
        let ready = (0..n as u32)
            .filter(|i| waiting[*i as usize] == 0)
            .collect();
        Graph {
            plan,
            observer,
            outcomes: vec![None; n],
            waiting,
            dependents,
            ready,
            created: vec![None; n],
        }
    }

    /// The link an op leaves behind on `target_id`, when it has a source.
    fn link(&self, op: &Op, target_id: &str) -> Option<Link> {
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
    }

    fn start(&self, id: u32) -> Start {
        let op = &self.plan.ops[id as usize];
        let tid = op.target.as_ref().map(|r| resolve(r, &self.created));
        let member = match &op.action {
            Action::AddMember { member, .. } | Action::RemoveMember { member, .. } => {
                Some(resolve(member, &self.created))
            }
            _ => None,
        };
        if matches!(tid, Some(None)) || matches!(member, Some(None)) {
            return Start::Skip(Outcome::Skipped {
                reason: "a referenced object was not created".to_owned(),
            });
        }
        let tid = tid.flatten();
        match &op.action {
            Action::Adopt { .. } | Action::Relink => Start::JournalOnly(
                self.link(op, tid.as_deref().unwrap_or(""))
                    .map_or(LinkChange::Keep, LinkChange::Upsert),
            ),
            Action::Unlink => Start::JournalOnly(match &op.source_id {
                Some(s) => LinkChange::Remove {
                    kind: op.kind,
                    source_id: s.clone(),
                },
                None => LinkChange::Keep,
            }),
            _ => Start::Send {
                tid,
                member: member.flatten(),
            },
        }
    }

    /// The outcome of a call, and the link change a success makes.
    fn finished(
        &mut self,
        id: u32,
        tid: Option<String>,
        res: TResult<Option<String>>,
    ) -> (Outcome, LinkChange) {
        let op = &self.plan.ops[id as usize];
        match res {
            Ok(new_id) => {
                if let Some(t) = &new_id {
                    self.created[id as usize] = Some(t.clone());
                }
                let object = new_id.as_deref().or(tid.as_deref());
                let change = match (&op.action, &op.source_id) {
                    (Action::Delete, Some(s)) => LinkChange::Remove {
                        kind: op.kind,
                        source_id: s.clone(),
                    },
                    (Action::Delete, None) => LinkChange::Keep,
                    _ => object
                        .and_then(|o| self.link(op, o))
                        .map_or(LinkChange::Keep, LinkChange::Upsert),
                };
                (Outcome::Succeeded { target_id: new_id }, change)
            }
            Err(e) => (fail(e.class, e.message), LinkChange::Keep),
        }
    }

    fn settle(&mut self, id: u32, outcome: Outcome) {
        let ok = matches!(outcome, Outcome::Succeeded { .. });
        if let Some(o) = self.observer {
            o.settled(&self.plan.ops[id as usize], &outcome);
        }
        self.outcomes[id as usize] = Some(outcome);
        if ok {
            for &d in &self.dependents[id as usize] {
                self.waiting[d as usize] -= 1;
                if self.waiting[d as usize] == 0 && self.outcomes[d as usize].is_none() {
                    self.ready.insert(d);
                }
            }
            return;
        }
        // Skip every transitive dependent.
        let mut stack = vec![id];
        while let Some(f) = stack.pop() {
            for &d in &self.dependents[f as usize] {
                if self.outcomes[d as usize].is_none() {
                    let op = &self.plan.ops[f as usize];
                    let skipped = Outcome::Skipped {
                        reason: format!(
                            "depends on op {f} ({} {} {}) which did not succeed",
                            op.action.verb(),
                            op.kind.as_str(),
                            op.name
                        ),
                    };
                    if let Some(o) = self.observer {
                        o.settled(&self.plan.ops[d as usize], &skipped);
                    }
                    self.outcomes[d as usize] = Some(skipped);
                    self.ready.remove(&d);
                    stack.push(d);
                }
            }
        }
    }
}

/// The target call of one op (its intent is durable already).
async fn call<T: Target>(
    op: &Op,
    tid: Option<&str>,
    member: Option<&str>,
    t: &T,
) -> TResult<Option<String>> {
    let id = tid.unwrap_or("");
    match &op.action {
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
            .add_member(id, *member_kind, member.unwrap_or(""))
            .await
            .map(|()| None),
        Action::RemoveMember { member_kind, .. } => t
            .remove_member(id, *member_kind, member.unwrap_or(""))
            .await
            .map(|()| None),
        Action::Enroll {
            email, valid_secs, ..
        } => t
            .enroll(op.kind, &op.name, email, *valid_secs)
            .await
            .map(|()| None),
        Action::Adopt { .. } | Action::Relink | Action::Unlink => Ok(None),
    }
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
