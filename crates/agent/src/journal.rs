//! The engine's `Journal` over the state store: every intent durable before its
//! call, every outcome and link written when known, per-object statuses
//! gathered and written in one batch at the end of the run.

use crate::state::StateDb;
use reconcile_engine::{self as engine, Journal, JournalError};
use state_store::{
    ErrorInfo, IntentId, IntentOutcome, Link, NewIntent, ObjectKey, ObjectKind, Op, Origin,
    ResultBatch, RunId, StatusUpdate, SyncStatus, now_millis,
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

fn store_op(a: &engine::Action) -> Op {
    use engine::Action as A;
    match a {
        A::Create { .. } => Op::Create,
        A::Rename { .. } | A::Update { .. } => Op::Update,
        A::Enable => Op::Enable,
        A::Disable => Op::Disable,
        A::Delete => Op::Delete,
        A::AddPhone { .. } | A::AddMember { .. } => Op::AddMember,
        A::RemovePhone { .. } | A::RemoveMember { .. } => Op::RemoveMember,
        A::Adopt | A::Relink => Op::Adopt,
        A::Unlink => Op::Unlink,
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

/// Pull the attribute a message is about out of mapping's `attribute "x"` wording.
pub fn attribute_of(message: &str) -> Option<String> {
    let rest = message.split("attribute \"").nth(1)?;
    Some(rest.split('"').next()?.to_owned())
}

/// One run's journal.
pub struct StoreJournal {
    db: StateDb,
    run: RunId,
    /// Last applied attribute values per (kind, source id), stored with links.
    attrs: HashMap<(engine::Kind, String), serde_json::Value>,
    /// Origin per (kind, source id): from this plan's ops or the existing links.
    origins: HashMap<(engine::Kind, String), Origin>,
    statuses: Mutex<Vec<StatusUpdate>>,
}

impl StoreJournal {
    /// A journal for run `run`.
    pub fn new(
        db: StateDb,
        run: RunId,
        attrs: HashMap<(engine::Kind, String), serde_json::Value>,
        origins: HashMap<(engine::Kind, String), Origin>,
    ) -> Self {
        StoreJournal {
            db,
            run,
            attrs,
            origins,
            statuses: Mutex::new(Vec::new()),
        }
    }

    /// The statuses gathered during the run.
    pub fn take_statuses(&self) -> Vec<StatusUpdate> {
        std::mem::take(&mut *self.statuses.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

fn jerr(e: crate::AgentError) -> JournalError {
    JournalError(e.to_string())
}

impl Journal for StoreJournal {
    async fn intent(
        &self,
        rule: &str,
        op: &engine::Op,
        target_id: Option<&str>,
    ) -> Result<engine::IntentId, JournalError> {
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
            created_at: now_millis(),
        };
        let id = self
            .db
            .call(move |s| s.begin_intent(&intent))
            .await
            .map_err(jerr)?;
        Ok(engine::IntentId(u64::try_from(id.0).unwrap_or_default()))
    }

    async fn outcome(
        &self,
        intent: engine::IntentId,
        outcome: &engine::Outcome,
    ) -> Result<(), JournalError> {
        let outcome = match outcome {
            engine::Outcome::Succeeded { target_id } => IntentOutcome::Done {
                target_id: target_id.clone(),
            },
            engine::Outcome::Failed {
                class: engine::ErrorClass::OutcomeUnknown,
                ..
            } => return Ok(()),
            engine::Outcome::Failed { message, class } => IntentOutcome::Failed {
                error: ErrorInfo {
                    code: match class {
                        engine::ErrorClass::Transient => "transient".into(),
                        _ => "rejected".into(),
                    },
                    message: message.clone(),
                    attribute: attribute_of(message),
                },
            },
            engine::Outcome::Skipped { reason } => IntentOutcome::Failed {
                error: ErrorInfo {
                    code: "skipped".into(),
                    message: reason.clone(),
                    attribute: None,
                },
            },
            engine::Outcome::NotStarted => return Ok(()),
        };
        let id = IntentId(i64::try_from(intent.0).unwrap_or_default());
        self.db
            .call(move |s| s.finish_intent(id, outcome, now_millis()))
            .await
            .map_err(jerr)
    }

    async fn upsert_link(&self, rule: &str, link: &engine::Link) -> Result<(), JournalError> {
        let key = (link.kind, link.source_id.clone());
        let now = now_millis();
        let l = Link {
            rule: rule.to_owned(),
            kind: store_kind(link.kind),
            source_id: link.source_id.clone(),
            target_id: link.target_id.clone(),
            attrs: self
                .attrs
                .get(&key)
                .cloned()
                .unwrap_or(serde_json::Value::Null),
            fingerprint: link.fingerprint,
            origin: self.origins.get(&key).copied().unwrap_or(Origin::Source),
            first_synced: now,
            last_synced: now,
        };
        self.db
            .call(move |s| s.upsert_links(&[l]))
            .await
            .map_err(jerr)
    }

    async fn remove_link(
        &self,
        rule: &str,
        kind: engine::Kind,
        source_id: &str,
    ) -> Result<(), JournalError> {
        let key = ObjectKey::new(rule, store_kind(kind), source_id);
        self.db
            .call(move |s| s.delete_links(&[key]).map(|_| ()))
            .await
            .map_err(jerr)
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
                code: format!("{:?}", st.status).to_lowercase(),
                message: m.clone(),
                attribute: attribute_of(m),
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
