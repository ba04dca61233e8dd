//! Executing a prepared plan through the journal, and recording the run,
//! the statuses and the metrics.

use super::counted::Counted;
use super::journal::{StoreJournal, store_kind};
use super::report::summarise;
use super::*;
use crate::config::Direction;
use crate::duo::DuoTarget;
use crate::pingone::PingOneTarget;
use crate::{AgentError, Outcome};
use reconcile_engine::{self as engine, Kind};
use state_store::{NewRun, ObjectKey, RunCounts, RunEnd, RunOutcome, StatusFilter, now_millis};
use std::collections::HashSet;
use std::sync::atomic::Ordering;

impl Agent {
    /// Execute a prepared plan (or record the failed preparation) and report.
    pub(super) async fn execute_prepared(
        &self,
        name: &str,
        prepared: Result<Prepared, AgentError>,
        opts: CycleOptions,
        started: std::time::Instant,
    ) -> Result<CycleReport, AgentError> {
        let CycleOptions {
            trigger,
            cancel,
            progress,
            ..
        } = opts;
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
        if matches!(rule, RuleRef::Configured(r) if r.direction() == Direction::Outbound)
            && !prepared.partial
        {
            let scope = state::StateWrite::scope(&name, &prepared.scope_ids);
            db.call(move |s| scope.apply(s)).await?;
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
        // Live progress and the operations counter move with each op.
        self.metrics.cycle_writing(&name, writes);
        let opts = engine::ExecOptions {
            concurrency: self.config.agent.concurrency,
            cancel,
            observer: Some(std::sync::Arc::new(crate::live::OpWatch {
                metrics: self.metrics.clone(),
                rule: name.clone(),
            })),
            ..engine::ExecOptions::default()
        };
        let (report, calls) = match &prepared.target {
            TargetSide::Duo => {
                let trash = prepared.rule.remove_action() != crate::config::RemoveAction::Purge;
                let t = Counted::new(
                    DuoTarget::new(self.duo.clone(), trash, &self.duo_bulk, plan),
                    progress.clone(),
                );
                let opts = engine::ExecOptions {
                    concurrency: self.duo_bulk.concurrency(opts.concurrency),
                    ..opts
                };
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
        tracing::debug!(rule = %name, pingone_pages = prepared.pingone_reads, writes = calls, "plan carried out");
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
        // A fast cycle saw only some objects and a blocked one changed nothing:
        // neither may forget the statuses of objects it did not look at.
        let keep_all = prepared.partial || report.blocked;
        let stale: Vec<ObjectKey> = if keep_all { Vec::new() } else { old }
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
                    o.status.as_str().to_owned(),
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
                let op = super::journal::store_op(&plan.ops[i].action);
                *counts.by_op.entry(op).or_default() += 1;
            }
        }
        journal::flush_statuses(&db, statuses, stale).await?;
        if !prepared.partial {
            // Recovery: what earlier (interrupted) runs left pending and this
            // full cycle settled is closed, so those runs can be pruned.
            let n4 = name.clone();
            let resolved = db
                .call(move |s| s.resolve_pending(&n4, run, now_millis()))
                .await?;
            if resolved > 0 {
                tracing::info!(rule = %name, resolved, "closed intents earlier runs left pending");
            }
        }
        if report.blocked || !prepared.partial {
            let destructive = || {
                plan.ops.iter().filter(|o| {
                    matches!(
                        o.action,
                        engine::Action::Disable
                            | engine::Action::Delete
                            | engine::Action::RemoveMember { .. }
                            | engine::Action::RemovePhone { .. }
                    )
                })
            };
            let blocked = report.blocked.then(|| state::Blocked {
                plan_hash: plan.hash.clone(),
                reasons: plan.blocked.iter().map(|b| b.reason.clone()).collect(),
                pending_destructive: destructive().count() as u64,
                examples: destructive()
                    .take(10)
                    .map(|o| format!("{} {} {}", o.action.verb(), o.kind.as_str(), o.name))
                    .collect(),
                at: now_millis(),
            });
            let write = state::StateWrite::blocked(&name, blocked.as_ref());
            db.call(move |s| write.apply(s)).await?;
            self.metrics.blocked(&name, report.blocked);
        }
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
            Outcome::Failing => RunOutcome::Failed,
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
        // The same trigger as the run row: a notification's cycles say so.
        self.metrics.cycle(
            &name,
            trigger.as_str(),
            started.elapsed().as_secs_f64(),
            // Only a full cycle proves the whole rule is in step.
            outcome == Outcome::InStep && !prepared.partial,
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

fn now_secs() -> f64 {
    now_millis() as f64 / 1000.0
}
