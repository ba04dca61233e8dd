//! One sync cycle of one rule: read both sides in parallel, map, plan, and
//! (for `sync`/`run`) execute with the journal, then record statuses and the run.

pub(crate) mod fast;
pub(crate) mod inbound;
pub(crate) mod journal;
pub(crate) mod outbound;
pub(crate) mod records;

use crate::config::{Config, Direction, RemoveAction, Rule};
use crate::duo::{self, DuoTarget};
use crate::metrics::Metrics;
use crate::pingone::{self, PingOneTarget};
use crate::state::StateDb;
use crate::{AgentError, Outcome};
use duo_client::DuoClient;
use indicatif::ProgressBar;
use journal::{StoreJournal, engine_kind, store_kind};
use pingone_client::PingOneClient;
use reconcile_engine::{
    self as engine, AttrChange, Found, Kind, Limit, Limits, Plan, Policy, TResult, Target,
};
use records::{Foreign, Inputs};
use serde::{Deserialize, Serialize};
use state_store::{
    NewRun, ObjectKey, Origin, RunCounts, RunEnd, RunOutcome, StatusFilter, Trigger, now_millis,
};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio_util::sync::CancellationToken;

/// What the state database remembers of a rule, so a rule removed from the
/// config can still be deprovisioned the way it was configured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleMemo {
    pub direction: Direction,
    pub deprovision_on_rule_deletion: bool,
    pub remove_action: RemoveAction,
    pub target_population: Option<String>,
}

fn memo_key(rule: &str) -> String {
    format!("rule/{rule}")
}

/// The PingOne user ids last seen in an outbound rule's scope.
fn scope_key(rule: &str) -> String {
    format!("scope/{rule}")
}

/// What each scope and push entry of an outbound rule last resolved to.
fn resolved_key(rule: &str) -> String {
    format!("resolved/{rule}")
}

/// How many memberships of pushed groups an outbound rule had at its last full
/// cycle (the fast path's floor for the membership-removal percentage).
pub(crate) fn memberships_key(rule: &str) -> String {
    format!("memberships/{rule}")
}

/// The last [`crate::pingone::PingOneSnapshot::resolved`] of a rule.
pub(crate) fn resolved_before(
    s: &state_store::Store,
    rule: &str,
) -> state_store::Result<std::collections::BTreeMap<String, String>> {
    Ok(s.kv_get(&resolved_key(rule))?
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default())
}

/// A rule to plan: one in the config, or one only the database remembers.
#[derive(Debug, Clone)]
pub enum RuleRef {
    Configured(Box<Rule>),
    Deleted { name: String, memo: RuleMemo },
}

impl RuleRef {
    pub fn name(&self) -> &str {
        match self {
            RuleRef::Configured(r) => &r.name,
            RuleRef::Deleted { name, .. } => name,
        }
    }
    pub fn direction(&self) -> Direction {
        match self {
            RuleRef::Configured(r) => r.direction,
            RuleRef::Deleted { memo, .. } => memo.direction,
        }
    }
}

/// A plan with what is needed to run and report it.
pub struct Prepared {
    pub rule: RuleRef,
    pub plan: Plan,
    pub inputs: Inputs,
    /// Accounts and groups in the rule's scope (PingOne's "impacted").
    pub in_scope_accounts: u64,
    pub in_scope_groups: u64,
    /// Outbound: the PingOne user ids in scope (remembered for the inbound rules).
    pub scope_ids: Vec<String>,
    /// A fast cycle over some users only: scope and stale statuses are left alone.
    pub partial: bool,
    /// PingOne pages read for the snapshot (for the metrics).
    pub pingone_reads: u64,
    pub(crate) target: TargetSide,
    pub(crate) origins: HashMap<(Kind, String), Origin>,
    /// Small state to remember once the cycle runs (a plan does not write).
    pub(crate) kv_writes: Vec<(String, String)>,
}

pub(crate) enum TargetSide {
    Duo,
    PingOne { population_id: String },
}

/// The sync summary in PingOne's words.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub users_impacted: u64,
    pub users_success: u64,
    pub users_unsynced: u64,
    pub users_partial: u64,
    pub users_failed: u64,
    pub groups_impacted: u64,
    pub groups_success: u64,
    pub groups_failed: u64,
}

/// What one cycle did.
#[derive(Debug, Clone, Serialize)]
pub struct CycleReport {
    pub rule: String,
    pub direction: Direction,
    pub plan_hash: String,
    pub blocked: Vec<String>,
    pub ops: usize,
    pub writes: u64,
    pub summary: Summary,
    pub outcome: Outcome,
    /// Objects not in step after the cycle: (kind, name, status, message).
    pub problems: Vec<(String, String, String, String)>,
    /// Linked objects held because their source failed (nothing destructive done).
    pub held: u64,
    /// Failure causes shared by several objects: (kind, count, cause).
    pub common_failures: Vec<(String, u64, String)>,
}

/// The agent's clients, database and metrics: everything a cycle needs.
pub struct Agent {
    pub config: Arc<Config>,
    pub duo: DuoClient,
    pub p1: PingOneClient,
    pub db: Option<StateDb>,
    pub metrics: Arc<Metrics>,
    /// Duo requests and 429s since the last cycle.
    pub duo_calls: Arc<duo::CallCounts>,
    /// The PingOne client's cumulative 429 count at the last cycle's end.
    p1_throttled_seen: std::sync::atomic::AtomicU64,
    /// One cycle at a time across rules: outbound and inbound rules watch each
    /// other's links to avoid echoes, so they must not interleave.
    cycle_lock: tokio::sync::Mutex<()>,
}

impl Agent {
    /// Build the clients (nothing is contacted yet).
    pub fn new(
        config: Arc<Config>,
        db: Option<StateDb>,
        metrics: Arc<Metrics>,
    ) -> Result<Agent, AgentError> {
        let duo_calls = Arc::new(duo::CallCounts::default());
        Ok(Agent {
            duo: duo::duo_counted(&config, duo_calls.clone())?,
            duo_calls,
            p1: pingone::pingone(&config)?,
            config,
            db,
            metrics,
            p1_throttled_seen: std::sync::atomic::AtomicU64::new(0),
            cycle_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// The configured rules (one, or every enabled one) followed by the rules
    /// only the database remembers (removed from the config).
    pub async fn rules(&self, only: Option<&str>) -> Result<Vec<RuleRef>, AgentError> {
        let mut out: Vec<RuleRef> = self
            .config
            .select_rules(only)
            .map_err(AgentError::Usage)?
            .into_iter()
            .map(|r| RuleRef::Configured(Box::new(r.clone())))
            .collect();
        // Outbound first: inbound then sees the links outbound just wrote.
        out.sort_by_key(|r| r.direction() == Direction::Inbound);
        if only.is_some() {
            return Ok(out);
        }
        let Some(db) = &self.db else { return Ok(out) };
        let stored = db.call(|s| s.link_rules()).await?;
        for name in stored {
            if self.config.rules.iter().any(|r| r.name == name) {
                continue;
            }
            let key = memo_key(&name);
            let memo = db.call(move |s| s.kv_get(&key)).await?;
            let memo = memo
                .and_then(|m| serde_json::from_str::<RuleMemo>(&m).ok())
                .unwrap_or(RuleMemo {
                    direction: Direction::Outbound,
                    deprovision_on_rule_deletion: false,
                    remove_action: RemoveAction::Disable,
                    target_population: None,
                });
            out.push(RuleRef::Deleted { name, memo });
        }
        Ok(out)
    }

    /// Every configured rule's name and direction, in configuration order
    /// (the order that decides which rule owns a shared object).
    pub(crate) fn rule_directions(&self) -> Vec<(String, Direction)> {
        self.config
            .rules
            .iter()
            .map(|r| (r.name.clone(), r.direction))
            .collect()
    }

    /// Read, map and plan one rule. Writes nothing.
    pub async fn prepare(
        &self,
        rule: &RuleRef,
        allow_destructive: bool,
    ) -> Result<Prepared, AgentError> {
        let name = rule.name().to_owned();
        let direction = rule.direction();
        // Links of this rule, pending creates, and the other direction's targets (no echo).
        let (links, pending, excluded, pushed, foreign) = match &self.db {
            None => (
                Vec::new(),
                Vec::new(),
                HashSet::new(),
                Default::default(),
                Foreign::default(),
            ),
            Some(db) => {
                let all = self.rule_directions();
                let others: Vec<String> = self
                    .config
                    .rules
                    .iter()
                    .filter(|r| r.direction != direction && r.name != name)
                    .map(|r| r.name.clone())
                    .collect();
                let n = name.clone();
                let inbound = direction == Direction::Inbound;
                db.call(move |s| {
                    let links = s.link_heads(&n)?;
                    let pending = s.pending_intents(&n)?;
                    let pushed = resolved_before(s, &n)?;
                    let foreign = Foreign::read(s, &all, &n, direction, &links)?;
                    let mut excluded = HashSet::new();
                    for o in &others {
                        for l in s.link_heads(o)? {
                            excluded.insert(l.target_id);
                            if inbound {
                                excluded.insert(format!("p1:{}", l.source_id));
                            }
                        }
                        if inbound && let Some(ids) = s.kv_get(&scope_key(o))? {
                            for id in serde_json::from_str::<Vec<String>>(&ids).unwrap_or_default()
                            {
                                excluded.insert(format!("p1:{id}"));
                            }
                        }
                    }
                    Ok((links, pending, excluded, pushed, foreign))
                })
                .await?
            }
        };
        let manages_admins = match rule {
            RuleRef::Configured(r) => r.mapping.spec().0.contains_key("userType"),
            RuleRef::Deleted { .. } => links
                .iter()
                .any(|l| l.kind == state_store::ObjectKind::Admin),
        } || links
            .iter()
            .any(|l| l.kind == state_store::ObjectKind::Admin);

        let scope_ids;
        let mut pingone_reads = 0;
        let mut kv_writes = Vec::new();
        let (mut inputs, target, in_scope_accounts, in_scope_groups) = match (rule, direction) {
            (RuleRef::Configured(r), Direction::Outbound) => {
                let (p1s, duos) = tokio::try_join!(
                    pingone::read_pingone(&self.p1, r, &pushed),
                    duo::read_duo(&self.duo, manages_admins)
                )?;
                let inputs = outbound::build(r, &p1s, &duos, &excluded, manages_admins, &foreign)?;
                let accounts = p1s
                    .users
                    .iter()
                    .filter(|(id, _, _)| !excluded.contains(id))
                    .count() as u64;
                pingone_reads = p1s.calls;
                if p1s.resolved != pushed {
                    let memo = serde_json::to_string(&p1s.resolved).unwrap_or_default();
                    kv_writes.push((resolved_key(&name), memo));
                }
                let memberships: usize = p1s.members.values().map(Vec::len).sum();
                kv_writes.push((memberships_key(&name), memberships.to_string()));
                scope_ids = p1s
                    .users
                    .iter()
                    .filter(|(id, _, _)| !excluded.contains(id))
                    .map(|(id, _, _)| id.clone())
                    .collect();
                (inputs, TargetSide::Duo, accounts, p1s.groups.len() as u64)
            }
            (RuleRef::Configured(r), Direction::Inbound) => {
                scope_ids = Vec::new();
                let (duos, p1u) = tokio::try_join!(
                    duo::read_duo(&self.duo, false),
                    pingone::read_inbound(&self.p1, r)
                )?;
                let owned: HashSet<String> = excluded
                    .iter()
                    .filter_map(|e| e.strip_prefix("p1:"))
                    .map(str::to_owned)
                    .collect();
                let inputs = inbound::build(r, &duos, &p1u, &excluded, &owned, &foreign)?;
                let accounts = duos
                    .users
                    .iter()
                    .filter(|u| !excluded.contains(&u.user_id))
                    .count() as u64;
                (
                    inputs,
                    TargetSide::PingOne {
                        population_id: p1u.population_id,
                    },
                    accounts,
                    0,
                )
            }
            (RuleRef::Deleted { memo, .. }, Direction::Outbound) => {
                scope_ids = Vec::new();
                let duos = duo::read_duo(&self.duo, manages_admins).await?;
                let stub = stub_rule(&name, memo);
                let inputs = outbound::build(
                    &stub,
                    &Default::default(),
                    &duos,
                    &excluded,
                    manages_admins,
                    &foreign,
                )?;
                (inputs, TargetSide::Duo, 0, 0)
            }
            (RuleRef::Deleted { memo, .. }, Direction::Inbound) => {
                scope_ids = Vec::new();
                let stub = stub_rule(&name, memo);
                let users: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(
                    self.p1.list_users(&Default::default()),
                )
                .await
                .map_err(|e| AgentError::PingOne(format!("listing users: {e}")))?
                .into_iter()
                .flat_map(|p| p.items)
                .collect();
                let p1u = pingone::PingOneUsers {
                    users,
                    population_id: String::new(),
                };
                let inputs = inbound::build(
                    &stub,
                    &Default::default(),
                    &p1u,
                    &excluded,
                    &HashSet::new(),
                    &foreign,
                )?;
                (
                    inputs,
                    TargetSide::PingOne {
                        population_id: String::new(),
                    },
                    0,
                    0,
                )
            }
        };
        let mut origins = HashMap::new();
        for l in &links {
            if let Some(k) = engine_kind(l.kind) {
                inputs
                    .links
                    .push_origin(
                        k,
                        &l.source_id,
                        &l.target_id,
                        l.fingerprint,
                        l.origin == Origin::Adopted,
                    )
                    .map_err(|_| AgentError::Other("too many links".into()))?;
                origins.insert((k, l.source_id.clone()), l.origin);
                inputs
                    .names
                    .entry(l.source_id.clone())
                    .or_insert_with(|| l.source_id.clone());
            }
        }
        for p in pending {
            if p.op == state_store::Op::Create
                && let Some(kind) = engine_kind(p.kind)
            {
                inputs.pending.push(engine::PendingIntent {
                    kind,
                    source_id: p.source_id,
                    key: p.key,
                });
            }
        }
        let policy = policy(rule, allow_destructive);
        let mut plan = engine::plan(&engine::Inputs {
            rule: &name,
            rule_deleted: matches!(rule, RuleRef::Deleted { .. }),
            schema: &inputs.schema,
            desired: &inputs.desired,
            observed: &inputs.observed,
            links: &inputs.links,
            pending: &inputs.pending,
            policy: &policy,
        });
        records::name_key_clashes(&mut plan, &inputs.names);
        for op in &plan.ops {
            if let Some(src) = &op.source_id {
                match op.action {
                    engine::Action::Create { .. } => {
                        origins.insert((op.kind, src.clone()), Origin::Source);
                    }
                    engine::Action::Adopt { .. } => {
                        origins.insert((op.kind, src.clone()), Origin::Adopted);
                    }
                    _ => {}
                }
            }
        }
        Ok(Prepared {
            rule: rule.clone(),
            plan,
            inputs,
            in_scope_accounts,
            in_scope_groups,
            scope_ids,
            partial: false,
            pingone_reads,
            target,
            origins,
            kv_writes,
        })
    }

    /// Plan and execute one rule, recording the run. `progress` draws a bar.
    pub async fn cycle(
        &self,
        rule: &RuleRef,
        trigger: Trigger,
        allow_destructive: bool,
        cancel: CancellationToken,
        progress: Option<ProgressBar>,
    ) -> Result<CycleReport, AgentError> {
        let _one_at_a_time = self.cycle_lock.lock().await;
        self.cycle_locked(rule, trigger, allow_destructive, cancel, progress)
            .await
    }

    /// [`Agent::cycle`] with the cycle lock held.
    async fn cycle_locked(
        &self,
        rule: &RuleRef,
        trigger: Trigger,
        allow_destructive: bool,
        cancel: CancellationToken,
        progress: Option<ProgressBar>,
    ) -> Result<CycleReport, AgentError> {
        let db = self
            .db
            .clone()
            .ok_or_else(|| AgentError::State("sync needs the state database".into()))?;
        let started = std::time::Instant::now();
        let name = rule.name().to_owned();
        if let RuleRef::Configured(r) = rule {
            let memo = serde_json::to_string(&RuleMemo {
                direction: r.direction,
                deprovision_on_rule_deletion: r.actions.deprovision_on_rule_deletion,
                remove_action: r.actions.remove_action,
                target_population: r.target_population.clone(),
            })
            .unwrap_or_default();
            let key = memo_key(&name);
            db.call(move |s| s.kv_set(&key, &memo)).await?;
        }
        let prepared = self.prepare(rule, allow_destructive).await;
        if let Ok(p) = &prepared
            && !p.kv_writes.is_empty()
        {
            let writes = p.kv_writes.clone();
            db.call(move |s| {
                writes
                    .iter()
                    .try_for_each(|(key, value)| s.kv_set(key, value))
            })
            .await?;
        }
        self.execute_prepared(&name, prepared, trigger, cancel, progress, started)
            .await
    }

    /// A fast cycle of an outbound rule for just the users and groups that
    /// change notifications named; a full cycle when only that can handle
    /// them. The periodic full cycle remains the safety net.
    pub async fn fast_cycle(
        &self,
        rule: &Rule,
        changes: &fast::Changes,
        cancel: CancellationToken,
    ) -> Result<CycleReport, AgentError> {
        let _one_at_a_time = self.cycle_lock.lock().await;
        let started = std::time::Instant::now();
        let prepared = match fast::prepare_changes(self, rule, changes).await {
            Ok(fast::FastPlan::Ready(p)) => Ok(*p),
            Ok(fast::FastPlan::NeedsFull(why)) => {
                tracing::info!(rule = %rule.name, reason = %why, "running a full cycle for the change notifications");
                let rref = RuleRef::Configured(Box::new(rule.clone()));
                return self
                    .cycle_locked(&rref, Trigger::Schedule, false, cancel, None)
                    .await;
            }
            Err(e) => Err(e),
        };
        self.execute_prepared(
            &rule.name,
            prepared,
            Trigger::Schedule,
            cancel,
            None,
            started,
        )
        .await
    }

    /// Execute a prepared plan (or record the failed preparation) and report.
    async fn execute_prepared(
        &self,
        name: &str,
        prepared: Result<Prepared, AgentError>,
        trigger: Trigger,
        cancel: CancellationToken,
        progress: Option<ProgressBar>,
        started: std::time::Instant,
    ) -> Result<CycleReport, AgentError> {
        let name = name.to_owned();
        let db = self
            .db
            .clone()
            .ok_or_else(|| AgentError::State("sync needs the state database".into()))?;
        let prepared = match prepared {
            Ok(p) => p,
            Err(e) => {
                // A run that could not read its snapshot is recorded as failed.
                let n = name.clone();
                let _ = db
                    .call(move |s| {
                        let id = s.start_run(&NewRun {
                            rule: n,
                            trigger,
                            started: now_millis(),
                            plan_hash: None,
                        })?;
                        s.finish_run(
                            id,
                            &RunEnd {
                                ended: now_millis(),
                                outcome: RunOutcome::Failed,
                                counts: RunCounts::default(),
                                plan_hash: None,
                            },
                        )
                    })
                    .await;
                self.metrics.cycle(
                    &name,
                    trigger.as_str(),
                    started.elapsed().as_secs_f64(),
                    false,
                    now_secs(),
                );
                return Err(e);
            }
        };
        let rule = &prepared.rule;
        if matches!(rule, RuleRef::Configured(r) if r.direction == Direction::Outbound)
            && !prepared.partial
        {
            let ids = serde_json::to_string(&prepared.scope_ids).unwrap_or_default();
            let key = scope_key(&name);
            db.call(move |s| s.kv_set(&key, &ids)).await?;
        }
        let plan = &prepared.plan;
        let (n2, hash) = (name.clone(), plan.hash.clone());
        let run = db
            .call(move |s| {
                s.start_run(&NewRun {
                    rule: n2,
                    trigger,
                    started: now_millis(),
                    plan_hash: Some(hash),
                })
            })
            .await?;
        // The journal needs the values of the objects it will link, not all.
        let touched: HashSet<(Kind, &str)> = plan
            .ops
            .iter()
            .filter_map(|o| o.source_id.as_deref().map(|s| (o.kind, s)))
            .collect();
        let attrs = prepared
            .inputs
            .attrs_json
            .iter()
            .filter(|((k, id), _)| touched.contains(&(*k, id.as_str())))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let journal = StoreJournal::new(db.clone(), run, attrs, prepared.origins.clone());
        let writes = plan
            .ops
            .iter()
            .filter(|o| !o.action.is_journal_only())
            .count() as u64;
        if let Some(pb) = &progress {
            pb.set_length(writes);
            pb.set_message(name.clone());
        }
        let opts = engine::ExecOptions {
            concurrency: self.config.agent.concurrency,
            cancel,
        };
        let (report, calls) = match &prepared.target {
            TargetSide::Duo => {
                let t = Counted::new(
                    DuoTarget {
                        duo: self.duo.clone(),
                    },
                    progress.clone(),
                );
                let r = engine::execute(plan, &t, &journal, opts).await;
                (r, t.calls.load(Ordering::Relaxed))
            }
            TargetSide::PingOne { population_id } => {
                let t = Counted::new(
                    PingOneTarget {
                        p1: self.p1.clone(),
                        population_id: population_id.clone(),
                    },
                    progress.clone(),
                );
                let r = engine::execute(plan, &t, &journal, opts).await;
                (r, t.calls.load(Ordering::Relaxed))
            }
        };
        if let Some(pb) = &progress {
            pb.finish_and_clear();
        }
        // Duo: every request and 429 seen by the transport (reads and writes);
        // PingOne: the pages read for the snapshot and the writes made.
        let (duo_calls, duo_429) = self.duo_calls.take();
        self.metrics.api("duo", duo_calls, duo_429);
        let p1_writes = if matches!(prepared.target, TargetSide::Duo) {
            0
        } else {
            calls
        };
        // The client's 429 count is cumulative; the metric takes what is new since the last cycle.
        let p1_429 = self.p1.throttled_responses();
        let p1_new_429 = p1_429.saturating_sub(
            self.p1_throttled_seen
                .swap(p1_429, std::sync::atomic::Ordering::Relaxed),
        );
        self.metrics
            .api("pingone", prepared.pingone_reads + p1_writes, p1_new_429);
        for (i, r) in report.results.iter().enumerate() {
            let op = &plan.ops[i];
            let result = match r.outcome {
                engine::Outcome::Succeeded { .. } => "success",
                engine::Outcome::Failed { .. } => "failed",
                engine::Outcome::Skipped { .. } => "skipped",
                engine::Outcome::NotStarted => "not_started",
            };
            self.metrics
                .op(&name, op.kind.as_str(), op.action.verb(), result);
        }
        // Statuses: this run's, and forget those of objects that left the rule.
        let statuses = journal.take_statuses();
        let mut keep: HashSet<(state_store::ObjectKind, String)> = statuses
            .iter()
            .map(|s| (s.key.kind, s.key.source_id.clone()))
            .collect();
        for (kind, id) in prepared.inputs.attrs_json.keys() {
            keep.insert((store_kind(*kind), id.clone()));
        }
        let n3 = name.clone();
        let old = db
            .call(move |s| {
                s.statuses(&StatusFilter {
                    rule: Some(n3),
                    kind: None,
                    not_in_step: true,
                    limit: None,
                })
            })
            .await?;
        let stale: Vec<ObjectKey> = if prepared.partial { Vec::new() } else { old }
            .into_iter()
            .filter(|o| !keep.contains(&(o.key.kind, o.key.source_id.clone())))
            .map(|o| o.key)
            .collect();
        let summary = summarise(&prepared, &report);
        let problems: Vec<_> = report
            .objects
            .iter()
            .filter(|o| o.status != engine::SyncStatus::Success)
            .map(|o| {
                let name = o
                    .source_id
                    .as_ref()
                    .and_then(|id| prepared.inputs.names.get(id))
                    .unwrap_or(&o.name);
                (
                    o.kind.as_str().to_owned(),
                    name.clone(),
                    format!("{:?}", o.status).to_lowercase(),
                    o.message.clone().unwrap_or_default(),
                )
            })
            .collect();
        let mut counts = RunCounts::default();
        for s in &statuses {
            *counts.by_status.entry(s.status).or_default() += 1;
        }
        for (i, r) in report.results.iter().enumerate() {
            if matches!(r.outcome, engine::Outcome::Succeeded { .. }) {
                let op = journal_op(&plan.ops[i].action);
                *counts.by_op.entry(op).or_default() += 1;
            }
        }
        journal::flush_statuses(&db, statuses, stale).await?;
        let outcome = if report.blocked {
            Outcome::Blocked
        } else if summary.users_failed > 0
            || summary.groups_failed > 0
            || report.retry_later > 0
            || report.cancelled
        {
            // A cancelled run left ops not started: not in step.
            Outcome::SomeFailed
        } else {
            Outcome::InStep
        };
        let run_outcome = match outcome {
            _ if report.cancelled => RunOutcome::Aborted,
            Outcome::InStep => RunOutcome::Succeeded,
            Outcome::SomeFailed => RunOutcome::PartiallyFailed,
            Outcome::Blocked => RunOutcome::Aborted,
        };
        db.call(move |s| {
            s.finish_run(
                run,
                &RunEnd {
                    ended: now_millis(),
                    outcome: run_outcome,
                    counts,
                    plan_hash: None,
                },
            )
            .map(|_| ())
        })
        .await?;
        // The cycle's writes move from the WAL into the database now, while
        // nothing waits, rather than inside some later commit.
        if let Err(e) = db.call(|s| s.checkpoint()).await {
            tracing::warn!(rule = %name, error = %e, "state database checkpoint failed; SQLite retries it later");
        }
        self.metrics.cycle(
            &name,
            trigger.as_str(),
            started.elapsed().as_secs_f64(),
            outcome == Outcome::InStep,
            now_secs(),
        );
        Ok(CycleReport {
            rule: name,
            direction: rule.direction(),
            plan_hash: plan.hash.clone(),
            blocked: plan.blocked.iter().map(|b| b.reason.clone()).collect(),
            ops: plan.ops.len(),
            writes: calls,
            summary,
            outcome,
            problems,
            held: plan.summary.held,
            common_failures: plan
                .common_failures
                .iter()
                .map(|c| (c.kind.as_str().to_owned(), c.count, c.cause.clone()))
                .collect(),
        })
    }
}

fn journal_op(a: &engine::Action) -> state_store::Op {
    use engine::Action as A;
    use state_store::Op;
    match a {
        A::Create { .. } => Op::Create,
        A::Rename { .. } | A::Update { .. } => Op::Update,
        A::Enable => Op::Enable,
        A::Disable => Op::Disable,
        A::Delete => Op::Delete,
        A::AddPhone { .. } | A::AddMember { .. } => Op::AddMember,
        A::RemovePhone { .. } | A::RemoveMember { .. } => Op::RemoveMember,
        A::Adopt { .. } | A::Relink => Op::Adopt,
        A::Unlink => Op::Unlink,
    }
}

fn now_secs() -> f64 {
    now_millis() as f64 / 1000.0
}

/// A rule stub for a rule removed from the config.
fn stub_rule(name: &str, memo: &RuleMemo) -> Rule {
    let mapping = match memo.direction {
        Direction::Outbound => mapping::Mapping::default_outbound(),
        Direction::Inbound => mapping::Mapping::default_inbound(),
    };
    Rule {
        name: name.to_owned(),
        direction: memo.direction,
        enabled: false,
        scope_populations: vec![],
        scope_groups: vec![],
        actions: crate::config::Actions {
            deprovision: true,
            remove_action: memo.remove_action,
            deprovision_on_rule_deletion: memo.deprovision_on_rule_deletion,
            ..Default::default()
        },
        push_groups: vec![],
        mapping,
        target_population: memo.target_population.clone(),
        safety: Default::default(),
        adopt: Default::default(),
    }
}

fn limit(count: u64, pct: Option<f64>, floor: u64) -> Limit {
    Limit {
        max_count: Some(count),
        max_percent: pct.map(|p| p.round().clamp(0.0, 100.0) as u32),
        floor,
    }
}

/// The engine policy of a rule.
pub fn policy(rule: &RuleRef, allow_destructive: bool) -> Policy {
    let (a, s, adopt) = match rule {
        RuleRef::Configured(r) => (r.actions, r.safety, r.adopt.clone()),
        RuleRef::Deleted { name, memo } => {
            let r = stub_rule(name, memo);
            (r.actions, r.safety, r.adopt)
        }
    };
    let deletes = limit(s.max_deletes, s.max_delete_percent, s.percent_floor);
    let disables = limit(s.max_disables, s.max_disable_percent, s.percent_floor);
    Policy {
        create: a.create,
        update: a.update,
        disable: a.disable,
        deprovision: a.deprovision,
        remove_action: match a.remove_action {
            RemoveAction::Delete => engine::RemoveAction::Delete,
            RemoveAction::Disable => engine::RemoveAction::Disable,
        },
        deprovision_on_rule_deletion: a.deprovision_on_rule_deletion,
        phone_cleanup: if a.remove_unused_phones {
            engine::PhoneCleanup::RemoveUnused
        } else {
            engine::PhoneCleanup::Keep
        },
        group_push: rule.direction() == Direction::Outbound,
        key_compare: engine::KeyCompare::CaseInsensitive,
        limits: Limits {
            user_delete: deletes,
            user_disable: disables,
            admin_delete: deletes,
            admin_disable: disables,
            group_delete: deletes,
            membership_removal: limit(
                s.max_membership_removals,
                s.max_membership_removal_percent,
                s.percent_floor.saturating_mul(4),
            ),
        },
        allow_destructive,
        empty_source_guard: Some(10),
        managed_floor: Default::default(),
        adoption: engine::Adoption {
            accounts: adopt.accounts,
            groups: adopt.groups,
            exact_key: adopt.exact_key,
            confirm_users: adopt.confirm,
            confirm_admins: adopt.confirm_admins,
        },
        shrink_guard_percent: s
            .min_source_percent
            .map(|p| p.round().clamp(0.0, 100.0) as u32),
    }
}

/// PingOne's sync summary: impacted = in the rule's scope.
fn summarise(p: &Prepared, r: &engine::RunReport) -> Summary {
    let mut s = Summary {
        users_impacted: p.in_scope_accounts,
        groups_impacted: p.in_scope_groups,
        ..Summary::default()
    };
    let mut not_ok_groups = 0;
    for o in &r.objects {
        if o.kind.is_account() {
            match o.status {
                engine::SyncStatus::Success => {}
                engine::SyncStatus::Unsynced => s.users_unsynced += 1,
                engine::SyncStatus::Partial => s.users_partial += 1,
                engine::SyncStatus::Failed => s.users_failed += 1,
            }
        } else if o.status == engine::SyncStatus::Failed {
            s.groups_failed += 1;
            not_ok_groups += 1;
        }
    }
    // Objects leaving the scope are impacted too (they were deprovisioned).
    let leaving = r.objects.iter().filter(|o| o.kind.is_account()).count() as u64;
    s.users_impacted = s.users_impacted.max(leaving);
    s.users_success = s
        .users_impacted
        .saturating_sub(s.users_unsynced + s.users_partial + s.users_failed);
    s.groups_impacted = s
        .groups_impacted
        .max(r.objects.iter().filter(|o| !o.kind.is_account()).count() as u64);
    s.groups_success = s.groups_impacted.saturating_sub(not_ok_groups);
    s
}

/// A `Target` that counts calls and moves a progress bar.
struct Counted<T> {
    inner: T,
    calls: AtomicU64,
    bar: Option<ProgressBar>,
}

impl<T> Counted<T> {
    fn new(inner: T, bar: Option<ProgressBar>) -> Self {
        Counted {
            inner,
            calls: AtomicU64::new(0),
            bar,
        }
    }
    fn tick(&self, done: bool) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if done && let Some(b) = &self.bar {
            b.inc(1);
        }
    }
}

impl<T: Target + Send> Target for Counted<T> {
    async fn create(
        &self,
        kind: Kind,
        key: &str,
        attrs: &[AttrChange],
        enabled: bool,
    ) -> TResult<String> {
        self.tick(true);
        self.inner.create(kind, key, attrs, enabled).await
    }
    async fn update(&self, kind: Kind, id: &str, changes: &[AttrChange]) -> TResult<()> {
        self.tick(true);
        self.inner.update(kind, id, changes).await
    }
    async fn rename(&self, kind: Kind, id: &str, new_key: &str) -> TResult<()> {
        self.tick(true);
        self.inner.rename(kind, id, new_key).await
    }
    async fn set_enabled(&self, kind: Kind, id: &str, enabled: bool) -> TResult<()> {
        self.tick(true);
        self.inner.set_enabled(kind, id, enabled).await
    }
    async fn delete(&self, kind: Kind, id: &str) -> TResult<()> {
        self.tick(true);
        self.inner.delete(kind, id).await
    }
    async fn add_member(&self, g: &str, k: Kind, m: &str) -> TResult<()> {
        self.tick(true);
        self.inner.add_member(g, k, m).await
    }
    async fn remove_member(&self, g: &str, k: Kind, m: &str) -> TResult<()> {
        self.tick(true);
        self.inner.remove_member(g, k, m).await
    }
    async fn find_phone(&self, n: &str) -> TResult<Option<String>> {
        self.tick(false);
        self.inner.find_phone(n).await
    }
    async fn create_phone(&self, n: &str) -> TResult<String> {
        self.tick(false);
        self.inner.create_phone(n).await
    }
    async fn attach_phone(&self, k: Kind, a: &str, p: &str) -> TResult<()> {
        self.tick(true);
        self.inner.attach_phone(k, a, p).await
    }
    async fn detach_phone(&self, k: Kind, a: &str, p: &str) -> TResult<()> {
        self.tick(true);
        self.inner.detach_phone(k, a, p).await
    }
    async fn delete_phone(&self, p: &str) -> TResult<()> {
        self.tick(false);
        self.inner.delete_phone(p).await
    }
    async fn find_by_key(&self, k: Kind, key: &str) -> TResult<Option<Found>> {
        self.tick(false);
        self.inner.find_by_key(k, key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_follows_the_rule_actions_and_safety_limits() {
        let env = |n: &str| n.starts_with("P1DUO_").then(|| "s3cr3t".to_owned());
        let text = crate::config::EXAMPLE
            .replace("remove_action = \"disable\"", "remove_action = \"delete\"")
            .replace("deprovision = false", "deprovision = true")
            .replace("max_deletes = 50", "max_deletes = 7");
        let c = Config::from_str_at(&text, std::path::Path::new("/x/p1duo.toml"), &env).unwrap();
        let out = policy(&RuleRef::Configured(Box::new(c.rules[0].clone())), false);
        assert!(out.create && out.update && out.disable && out.deprovision && out.group_push);
        assert_eq!(out.remove_action, engine::RemoveAction::Delete);
        assert_eq!(
            out.limits.user_delete,
            Limit {
                max_count: Some(7),
                max_percent: Some(10),
                floor: 5,
            }
        );
        assert_eq!(out.limits.user_disable.max_count, Some(100));
        assert!(!out.allow_destructive);
        let inb = policy(&RuleRef::Configured(Box::new(c.rules[1].clone())), true);
        assert!(!inb.deprovision, "deprovision is off unless configured");
        assert!(!inb.group_push, "inbound rules never push groups");
        assert!(inb.allow_destructive);
        // A removed rule is deprovisioned the way it was configured.
        let memo = RuleMemo {
            direction: Direction::Outbound,
            deprovision_on_rule_deletion: true,
            remove_action: RemoveAction::Delete,
            target_population: None,
        };
        let gone = policy(
            &RuleRef::Deleted {
                name: "old".into(),
                memo,
            },
            false,
        );
        assert!(gone.deprovision_on_rule_deletion && gone.deprovision);
        assert_eq!(gone.remove_action, engine::RemoveAction::Delete);
    }
}
