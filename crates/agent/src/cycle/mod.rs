//! One sync cycle of one rule: read both sides in parallel, map, plan, and
//! (for `sync`/`run`) execute with the journal, then record statuses and the run.

mod changed;
pub(crate) mod counted;
mod execute;
pub(crate) mod inbound;
pub(crate) mod journal;
pub(crate) mod outbound;
mod policy;
mod prepare;
pub(crate) mod records;
pub(crate) mod report;
pub(crate) mod state;

use crate::AgentError;
use crate::config::{Config, Direction, RemoveAction, Rule};
use crate::duo::{self};
use crate::metrics::Metrics;
use crate::pingone::{self};
use crate::state::StateDb;
use duo_client::DuoClient;
use indicatif::ProgressBar;
use pingone_client::PingOneClient;
pub(crate) use policy::policy;
pub(crate) use prepare::{Echo, Preparation, Selection};
use reconcile_engine::{Kind, Plan};
use records::Inputs;
pub use report::{CycleReport, Summary};

pub use state::RuleMemo;
use state::StateWrite;
use state_store::{Origin, Trigger};
use std::collections::HashMap;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// How one cycle runs.
#[derive(Debug, Clone)]
pub struct CycleOptions {
    /// What started it (recorded with the run).
    pub trigger: Trigger,
    /// Carry out a plan beyond the safety limits (the operator's consent).
    pub allow_destructive: bool,
    /// Stops starting new writes; those in flight finish and are journaled.
    pub cancel: CancellationToken,
    /// A progress bar to move, on a terminal.
    pub progress: Option<ProgressBar>,
}

impl CycleOptions {
    /// Within the limits, without a progress bar.
    pub fn new(trigger: Trigger, cancel: CancellationToken) -> CycleOptions {
        CycleOptions {
            trigger,
            allow_destructive: false,
            cancel,
            progress: None,
        }
    }
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
    /// What deprovisioning does (a removed rule: as remembered).
    pub fn remove_action(&self) -> RemoveAction {
        match self {
            RuleRef::Configured(r) => r.actions.remove_action,
            RuleRef::Deleted { memo, .. } => memo.remove_action,
        }
    }
    pub fn direction(&self) -> Direction {
        match self {
            RuleRef::Configured(r) => r.direction(),
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
    /// Source user id → in scope or not, and the condition that decided
    /// (the users read one by one, and the linked users that left the scope).
    pub verdicts: std::collections::BTreeMap<String, (String, mapping::scope::Verdict)>,
    /// PingOne pages read for the snapshot (for the metrics).
    pub pingone_reads: u64,
    pub(crate) target: TargetSide,
    pub(crate) origins: HashMap<(Kind, String), Origin>,
    /// The rule's state to remember once the cycle runs (a plan does not write).
    pub(crate) writes: Vec<state::StateWrite>,
}

pub(crate) enum TargetSide {
    Duo,
    PingOne { population_id: String },
}

/// The agent's clients, database and metrics: everything a cycle needs.
pub struct Agent {
    pub config: Arc<Config>,
    pub duo: DuoClient,
    pub p1: PingOneClient,
    pub db: Option<StateDb>,
    pub metrics: Arc<Metrics>,
    /// What Duo's bulk endpoints may do for the rest of this run (sizes, fallback).
    pub duo_bulk: Arc<duo::BulkState>,
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
        // The clients tell the metrics of each request, wait and 429 as it happens.
        let watch = |side| {
            Arc::new(crate::live::ApiWatch {
                metrics: metrics.clone(),
                side,
            })
        };
        Ok(Agent {
            duo: duo::duo_counted(&config, Arc::default(), Some(watch("duo")))?,
            p1: pingone::pingone_observed(&config, Some(watch("pingone")))?,
            duo_bulk: Arc::new(duo::BulkState::new(config.duo.bulk)),
            config,
            db,
            metrics,
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
            let n = name.clone();
            // Unreadable: an error. Never recorded (a database older than
            // memos): the cautious default, which deprovisions nothing.
            let memo = db.call(move |s| state::memo(s, &n)).await?;
            let memo = memo.unwrap_or(RuleMemo {
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
            .map(|r| (r.name.clone(), r.direction()))
            .collect()
    }

    /// Plan and execute one rule, recording the run.
    pub async fn cycle(
        &self,
        rule: &RuleRef,
        opts: CycleOptions,
    ) -> Result<CycleReport, AgentError> {
        let _one_at_a_time = self.cycle_lock.lock().await;
        self.cycle_locked(rule, opts).await
    }

    /// [`Agent::cycle`] with the cycle lock held.
    async fn cycle_locked(
        &self,
        rule: &RuleRef,
        opts: CycleOptions,
    ) -> Result<CycleReport, AgentError> {
        let db = self
            .db
            .clone()
            .ok_or_else(|| AgentError::State("sync needs the state database".into()))?;
        let started = std::time::Instant::now();
        let name = rule.name().to_owned();
        let _running = self.metrics.cycle_running(&name, opts.trigger.as_str());
        if let RuleRef::Configured(r) = rule {
            let memo = StateWrite::memo(
                &name,
                &RuleMemo {
                    direction: r.direction(),
                    deprovision_on_rule_deletion: r.actions.deprovision_on_rule_deletion,
                    remove_action: r.actions.remove_action,
                    target_population: r.target_population().map(str::to_owned),
                },
            );
            db.call(move |s| memo.apply(s)).await?;
        }
        let mut prepared = self.prepare(rule, opts.allow_destructive).await;
        if let Ok(p) = &mut prepared
            && !p.plan.blocked.is_empty()
        {
            self.apply_approval(&db, &name, &mut p.plan).await?;
        }
        if let Ok(p) = &prepared
            && !p.writes.is_empty()
        {
            let writes = p.writes.clone();
            db.call(move |s| writes.iter().try_for_each(|w| w.apply(s)))
                .await?;
        }
        self.execute_prepared(&name, prepared, opts, started).await
    }

    /// A blocked plan the operator approved (`p1duo approve`, bound to its
    /// hash) runs; an approval of another plan is dropped, saying why.
    async fn apply_approval(
        &self,
        db: &StateDb,
        name: &str,
        plan: &mut Plan,
    ) -> Result<(), AgentError> {
        let n = name.to_owned();
        let Some(approved) = db.call(move |s| state::approval(s, &n)).await? else {
            return Ok(());
        };
        if approved == plan.hash {
            tracing::warn!(rule = name, plan = %approved, "carrying out the approved blocked plan");
            plan.blocked.clear();
        } else {
            tracing::warn!(rule = name, approved = %approved, plan = %plan.hash, "the approved plan is stale (something changed since it was reviewed); approval dropped: review and approve the new plan");
        }
        let clear = StateWrite::approval(name, None);
        db.call(move |s| clear.apply(s)).await
    }

    /// A fast cycle of an outbound rule for just the users and groups that
    /// change notifications named; a full cycle when only that can handle
    /// them. The periodic full cycle remains the safety net.
    pub async fn fast_cycle(
        &self,
        rule: &Rule,
        changes: &crate::run::Changes,
        cancel: CancellationToken,
    ) -> Result<CycleReport, AgentError> {
        let _one_at_a_time = self.cycle_lock.lock().await;
        let started = std::time::Instant::now();
        let _running = self.metrics.cycle_running(&rule.name, "notification");
        let rref = RuleRef::Configured(Box::new(rule.clone()));
        let prepared = match self
            .prepare_selected(&rref, Selection::Changes(changes), false)
            .await
        {
            Ok(Preparation::Ready(p)) => Ok(*p),
            Ok(Preparation::NeedsFull(why)) => {
                tracing::info!(rule = %rule.name, reason = %why, "running a full cycle for the change notifications");
                return self
                    .cycle_locked(&rref, CycleOptions::new(Trigger::Notification, cancel))
                    .await;
            }
            Err(e) => Err(e),
        };
        self.execute_prepared(
            &rule.name,
            prepared,
            CycleOptions::new(Trigger::Notification, cancel),
            started,
        )
        .await
    }

    /// One source user of one rule, now (`p1duo sync --user`): read on both
    /// sides by itself, planned with only its links (the rule's percentage
    /// limits still apply), carried out through the journal. Returns the
    /// plan as prepared (with the scope verdict) and the cycle's report.
    pub(crate) async fn sync_one(
        &self,
        rule: &Rule,
        source_id: &str,
        allow_destructive: bool,
    ) -> Result<(Plan, Option<(String, mapping::scope::Verdict)>, CycleReport), AgentError> {
        let _one_at_a_time = self.cycle_lock.lock().await;
        let started = std::time::Instant::now();
        let rref = RuleRef::Configured(Box::new(rule.clone()));
        let one = crate::run::Changes {
            users: [source_id.to_owned()].into(),
            ..Default::default()
        };
        let p = match self
            .prepare_selected(&rref, Selection::Changes(&one), allow_destructive)
            .await?
        {
            Preparation::Ready(p) => *p,
            Preparation::NeedsFull(why) => return Err(AgentError::Other(why)),
        };
        let (plan, verdict) = (p.plan.clone(), p.verdicts.get(source_id).cloned());
        let opts = CycleOptions {
            trigger: Trigger::Manual,
            allow_destructive,
            cancel: CancellationToken::new(),
            progress: None,
        };
        let report = self
            .execute_prepared(&rule.name, Ok(p), opts, started)
            .await?;
        Ok((plan, verdict, report))
    }
}
