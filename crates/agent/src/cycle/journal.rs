//! The engine's `Journal` over the state store: group commit, each of the
//! engine's batches (outcomes with their link changes and audit entries, and
//! the intents of the next calls) one transaction; per-object statuses
//! gathered and written in one batch at the end of the run.

use crate::state::StateDb;
use reconcile_engine::{self as engine, Journal, JournalError};
use serde_json::{Value as Json, json};
use state_store::{
    AuditEntry, ErrorInfo, FinishedIntent, IntentId, IntentOutcome, Link, NewIntent, ObjectKey,
    ObjectKind, Op, Origin, ResultBatch, RunId, StatusUpdate, SyncStatus, now_millis,
};
use std::collections::HashMap;
use std::sync::Mutex;

/// Store kind of an engine kind.
pub fn store_kind(k: engine::Kind) -> ObjectKind {
    match k {
        engine::Kind::User => ObjectKind::User,
        engine::Kind::Admin => ObjectKind::Admin,
        engine::Kind::Group => ObjectKind::Group,
    }
}

/// Engine kind of a store kind (phones and memberships have none).
pub fn engine_kind(k: ObjectKind) -> Option<engine::Kind> {
    match k {
        ObjectKind::User => Some(engine::Kind::User),
        ObjectKind::Admin => Some(engine::Kind::Admin),
        ObjectKind::Group => Some(engine::Kind::Group),
        _ => None,
    }
}

pub(crate) fn store_op(a: &engine::Action) -> Op {
    use engine::Action as A;
    match a {
        A::Create { .. } => Op::Create,
        A::Rename { .. } | A::Update { .. } => Op::Update,
        A::Enable => Op::Enable,
        A::Disable => Op::Disable,
        A::Delete => Op::Delete,
        A::AddMember { .. } => Op::AddMember,
        A::RemoveMember { .. } => Op::RemoveMember,
        A::AddPhone { .. } => Op::AttachPhone,
        A::RemovePhone { .. } => Op::DetachPhone,
        A::Adopt { .. } | A::Relink => Op::Adopt,
        A::Unlink => Op::Unlink,
        A::Enroll { .. } => Op::Enroll,
    }
}

fn value_json(v: &Option<engine::Value>) -> Json {
    serde_json::to_value(v).unwrap_or(Json::Null)
}

/// What an op changed, for the audit trail: `(before, after)` of just the
/// attributes it touched (`null` where there was nothing).
fn audit_values(a: &engine::Action) -> (Json, Json) {
    use engine::Action as A;
    let attrs = |changes: &[engine::AttrChange], side: fn(&engine::AttrChange) -> Json| {
        Json::Object(changes.iter().map(|c| (c.attr.clone(), side(c))).collect())
    };
    match a {
        A::Create {
            attrs: a, enabled, ..
        } => {
            let mut after = attrs(a, |c| value_json(&c.after));
            if let Some(o) = after.as_object_mut() {
                o.insert("enabled".into(), json!(enabled));
            }
            (Json::Null, after)
        }
        A::Update { changes } => (
            attrs(changes, |c| value_json(&c.before)),
            attrs(changes, |c| value_json(&c.after)),
        ),
        A::Rename { from, to } => (json!({ "key": from }), json!({ "key": to })),
        A::Enable => (json!({ "enabled": false }), json!({ "enabled": true })),
        A::Disable => (json!({ "enabled": true }), json!({ "enabled": false })),
        A::AddPhone { number, .. } => (Json::Null, json!({ "phone": number })),
        A::RemovePhone { number, .. } => (json!({ "phone": number }), Json::Null),
        A::AddMember { member_name, .. } => (Json::Null, json!({ "member": member_name })),
        A::RemoveMember { member_name, .. } => (json!({ "member": member_name }), Json::Null),
        A::Enroll {
            email, reminder, ..
        } => (
            Json::Null,
            json!({ "enroll_email": email, "reminder": reminder }),
        ),
        A::Delete | A::Adopt { .. } | A::Relink | A::Unlink => (Json::Null, Json::Null),
    }
}

fn status(s: engine::SyncStatus) -> SyncStatus {
    match s {
        engine::SyncStatus::Success => SyncStatus::Success,
        engine::SyncStatus::Unsynced => SyncStatus::Unsynced,
        engine::SyncStatus::Partial => SyncStatus::Partial,
        engine::SyncStatus::Failed => SyncStatus::Failed,
    }
}

/// One run's journal.
pub struct StoreJournal {
    db: StateDb,
    run: RunId,
    /// Last applied attribute values per (kind, source id), stored with links.
    attrs: HashMap<(engine::Kind, String), String>,
    /// Origin per (kind, source id): from this plan's ops or the existing links.
    origins: HashMap<(engine::Kind, String), Origin>,
    statuses: Mutex<Vec<StatusUpdate>>,
    /// The audit entry of each intent in flight, written with its success.
    audit: Mutex<HashMap<engine::IntentId, AuditEntry>>,
}

impl StoreJournal {
    /// A journal for run `run`.
    pub fn new(
        db: StateDb,
        run: RunId,
        attrs: HashMap<(engine::Kind, String), String>,
        origins: HashMap<(engine::Kind, String), Origin>,
    ) -> Self {
        StoreJournal {
            db,
            run,
            attrs,
            origins,
            statuses: Mutex::new(Vec::new()),
            audit: Mutex::new(HashMap::new()),
        }
    }

    /// The stored form of an engine link, with its attributes and origin.
    fn store_link(&self, rule: &str, link: &engine::Link) -> Link {
        let key = (link.kind, link.source_id.clone());
        let now = now_millis();
        Link {
            rule: rule.to_owned(),
            kind: store_kind(link.kind),
            source_id: link.source_id.clone(),
            target_id: link.target_id.clone(),
            attrs: self
                .attrs
                .get(&key)
                .and_then(|text| serde_json::from_str(text).ok())
                .unwrap_or(Json::Null),
            fingerprint: link.fingerprint,
            origin: match link.adopted {
                Some(true) => Origin::Adopted,
                Some(false) => Origin::Source,
                None => self.origins.get(&key).copied().unwrap_or(Origin::Source),
            },
            first_synced: now,
            last_synced: now,
        }
    }

    /// The statuses gathered during the run.
    pub fn take_statuses(&self) -> Vec<StatusUpdate> {
        std::mem::take(&mut *self.statuses.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl StoreJournal {
    /// The stored intent of a planned op, and its audit entry for later.
    fn new_intent(&self, rule: &str, p: &engine::Planned<'_>, at: i64) -> (NewIntent, AuditEntry) {
        let op = p.op;
        let target_id = p.target_id.as_deref();
        let intent = NewIntent {
            run_id: self.run,
            rule: rule.to_owned(),
            kind: store_kind(op.kind),
            source_id: op
                .source_id
                .clone()
                .unwrap_or_else(|| format!("target:{}", target_id.unwrap_or(&op.name))),
            op: store_op(&op.action),
            key: op.name.clone(),
            target_id: target_id.map(str::to_owned),
            // The plan holds attribute values only, never secrets.
            summary: serde_json::to_value(&op.action).unwrap_or_default(),
            created_at: at,
        };
        let (before, after) = audit_values(&op.action);
        let entry = AuditEntry {
            run_id: Some(self.run),
            key: ObjectKey::new(rule, intent.kind, intent.source_id.clone()),
            op: intent.op,
            before,
            after,
            at: 0,
        };
        (intent, entry)
    }

    /// One settled op into the batch: its outcome, with a success's link
    /// change and audit entry. An unknown outcome leaves the intent pending.
    fn settle_into(&self, rule: &str, s: &engine::Settled, at: i64, batch: &mut ResultBatch) {
        let id = s
            .intent
            .map(|i| IntentId(i64::try_from(i.0).unwrap_or_default()));
        let outcome = match &s.outcome {
            engine::Outcome::Succeeded { target_id } => IntentOutcome::Done {
                target_id: target_id.clone(),
            },
            engine::Outcome::Failed {
                class: engine::ErrorClass::OutcomeUnknown,
                ..
            }
            | engine::Outcome::NotStarted => return,
            engine::Outcome::Failed { message, class } => IntentOutcome::Failed {
                error: ErrorInfo {
                    code: match class {
                        engine::ErrorClass::Transient => "transient".into(),
                        _ => "rejected".into(),
                    },
                    message: message.clone(),
                    attribute: None,
                },
            },
            engine::Outcome::Skipped { reason } => IntentOutcome::Failed {
                error: ErrorInfo {
                    code: "skipped".into(),
                    message: reason.clone(),
                    attribute: None,
                },
            },
        };
        let done = matches!(outcome, IntentOutcome::Done { .. });
        let entry = s.intent.and_then(|i| {
            self.audit
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&i)
        });
        if let Some(id) = id {
            batch.intents.push(FinishedIntent { id, outcome, at });
        }
        if !done {
            return;
        }
        match &s.link {
            engine::LinkChange::Keep => {}
            engine::LinkChange::Upsert(l) => batch.link_upserts.push(self.store_link(rule, l)),
            engine::LinkChange::Remove { kind, source_id } => batch
                .link_deletes
                .push(ObjectKey::new(rule, store_kind(*kind), source_id)),
        }
        if let Some(mut entry) = entry {
            entry.at = at;
            batch.audit.push(entry);
        }
    }
}

fn jerr(e: crate::AgentError) -> JournalError {
    JournalError(e.to_string())
}

impl Journal for StoreJournal {
    /// Outcomes (each success with its link change and audit entry) and the
    /// next intents, in one transaction: one disk sync for the lot.
    async fn commit(
        &self,
        rule: &str,
        batch: &engine::Commit<'_>,
    ) -> Result<Vec<engine::IntentId>, JournalError> {
        let at = now_millis();
        let mut results = ResultBatch::default();
        for s in &batch.settled {
            self.settle_into(rule, s, at, &mut results);
        }
        let (intents, entries): (Vec<NewIntent>, Vec<AuditEntry>) = batch
            .intents
            .iter()
            .map(|p| self.new_intent(rule, p, at))
            .unzip();
        let ids = self
            .db
            .call(move |s| s.commit_journal(&results, &intents))
            .await
            .map_err(jerr)?;
        let ids: Vec<engine::IntentId> = ids
            .into_iter()
            .map(|id| engine::IntentId(u64::try_from(id.0).unwrap_or_default()))
            .collect();
        let mut audit = self.audit.lock().unwrap_or_else(|p| p.into_inner());
        for (id, entry) in ids.iter().zip(entries) {
            audit.insert(*id, entry);
        }
        Ok(ids)
    }

    async fn object_status(
        &self,
        rule: &str,
        st: &engine::ObjectStatus,
    ) -> Result<(), JournalError> {
        let source_id = st
            .source_id
            .clone()
            .unwrap_or_else(|| format!("target:{}", st.name));
        let error = st
            .message
            .as_ref()
            .filter(|_| st.status != engine::SyncStatus::Success)
            .map(|m| ErrorInfo {
                code: st.status.as_str().to_owned(),
                message: m.clone(),
                attribute: st.attribute.clone(),
            });
        self.statuses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(StatusUpdate {
                key: ObjectKey::new(rule, store_kind(st.kind), source_id),
                display_name: st.name.clone(),
                status: status(st.status),
                error,
                run_id: Some(self.run),
                at: now_millis(),
            });
        Ok(())
    }
}

/// Write the gathered statuses (and forget `stale` ones) in one transaction.
pub async fn flush_statuses(
    db: &StateDb,
    statuses: Vec<StatusUpdate>,
    stale: Vec<ObjectKey>,
) -> Result<(), crate::AgentError> {
    let batch = ResultBatch {
        statuses,
        status_deletes: stale,
        ..ResultBatch::default()
    };
    if batch.is_empty() {
        return Ok(());
    }
    db.call(move |s| s.record_results(&batch)).await
}
