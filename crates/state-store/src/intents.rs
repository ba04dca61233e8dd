//! The intent journal: each change is written (durably) before it is sent,
//! and its outcome after, so a crash in between is found on the next start.

use rusqlite::{Row, Transaction, params};

use crate::error::{Result, StoreError};
use crate::records::{
    ErrorInfo, FinishedIntent, Intent, IntentId, IntentOutcome, IntentState, NewIntent, ObjectKind,
    Op, RunId,
};
use crate::secrets;
use crate::store::{Store, json_col, text_col};

const COLUMNS: &str = "id, run_id, rule, kind, source_id, op, key, target_id, summary, state, \
                       error, created_at, finished_at";

impl Store {
    /// Journals one intent; it is on disk when this returns.
    pub fn begin_intent(&mut self, intent: &NewIntent) -> Result<IntentId> {
        let ids = self.begin_intents(std::slice::from_ref(intent))?;
        Ok(ids[0])
    }

    /// Journals several intents in one transaction (one disk sync); ids in order.
    pub fn begin_intents(&mut self, intents: &[NewIntent]) -> Result<Vec<IntentId>> {
        let tx = self.write_tx("begin_intent")?;
        let ids = insert(&tx, intents)?;
        tx.commit()?;
        Ok(ids)
    }

    /// Records an intent's outcome. Fails with [`StoreError::IntentNotPending`]
    /// if it was already finished or never begun.
    pub fn finish_intent(
        &mut self,
        id: IntentId,
        outcome: IntentOutcome,
        at: crate::UnixMillis,
    ) -> Result<()> {
        let tx = self.write_tx("finish_intent")?;
        finish(&tx, &FinishedIntent { id, outcome, at })?;
        Ok(tx.commit()?)
    }

    /// Recovery: closes (state `resolved`) the pending intents that runs of
    /// `rule` before `run` left behind and `run` settled, so those runs can
    /// be pruned. A create is settled once its object is linked, or a newer
    /// create of it is pending (that one carries the look-up by key); until
    /// then it stays pending. Any other op is settled by `run` itself, a full
    /// cycle that read the target afresh and planned what is still needed.
    /// Returns how many were closed.
    pub fn resolve_pending(
        &mut self,
        rule: &str,
        run: RunId,
        at: crate::UnixMillis,
    ) -> Result<u64> {
        let tx = self.write_tx("resolve_pending")?;
        let n = tx
            .prepare_cached(
                "UPDATE intents SET state = 'resolved', finished_at = ?3
                 WHERE state = 'pending' AND rule = ?1 AND run_id < ?2
                   AND (op <> 'create'
                        OR EXISTS (SELECT 1 FROM links l WHERE l.rule = intents.rule
                                   AND l.kind = intents.kind
                                   AND l.source_id = intents.source_id)
                        OR EXISTS (SELECT 1 FROM intents n WHERE n.state = 'pending'
                                   AND n.rule = intents.rule AND n.id > intents.id
                                   AND n.kind = intents.kind
                                   AND n.source_id = intents.source_id
                                   AND n.op = 'create'))",
            )?
            .execute(params![rule, run.0, at])?;
        tx.commit()?;
        Ok(n as u64)
    }

    /// The intents of a rule whose outcome is unknown, oldest first: after a
    /// crash, look each up on the target by its `key` before retrying.
    pub fn pending_intents(&self, rule: &str) -> Result<Vec<Intent>> {
        self.intents_where("state = 'pending' AND rule = ?1", rule)
    }

    /// One intent, by id.
    pub fn get_intent(&self, id: IntentId) -> Result<Option<Intent>> {
        Ok(self.intents_where("id = ?1", id.0)?.pop())
    }

    /// Every intent of a run, in journal order.
    pub fn intents_for_run(&self, run: RunId) -> Result<Vec<Intent>> {
        self.intents_where("run_id = ?1", run.0)
    }

    fn intents_where(&self, condition: &str, arg: impl rusqlite::ToSql) -> Result<Vec<Intent>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM intents WHERE {condition} ORDER BY id"
        ))?;
        let mut rows = stmt.query([arg])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(decode(row)?);
        }
        Ok(out)
    }
}

/// Inserts pending intents; their ids in order.
pub(crate) fn insert(tx: &Transaction<'_>, intents: &[NewIntent]) -> Result<Vec<IntentId>> {
    let mut ids = Vec::with_capacity(intents.len());
    let mut stmt = tx.prepare_cached(
        "INSERT INTO intents (run_id, rule, kind, source_id, op, key, target_id, summary,
                              state, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9)",
    )?;
    for i in intents {
        secrets::check(
            "intent summary",
            || format!("{}/{}/{}", i.rule, i.kind, i.source_id),
            &i.summary,
        )?;
        stmt.execute(params![
            i.run_id.0,
            i.rule,
            i.kind.as_str(),
            i.source_id,
            i.op.as_str(),
            i.key,
            i.target_id,
            i.summary.to_string(),
            i.created_at,
        ])?;
        ids.push(IntentId(tx.last_insert_rowid()));
    }
    Ok(ids)
}

pub(crate) fn finish(tx: &Transaction<'_>, f: &FinishedIntent) -> Result<()> {
    let n = match &f.outcome {
        IntentOutcome::Done { target_id } => tx
            .prepare_cached(
                "UPDATE intents SET state = 'done', target_id = coalesce(?2, target_id),
                        finished_at = ?3
                 WHERE id = ?1 AND state = 'pending'",
            )?
            .execute(params![f.id.0, target_id, f.at])?,
        IntentOutcome::Failed { error } => tx
            .prepare_cached(
                "UPDATE intents SET state = 'failed', error = ?2, finished_at = ?3
                 WHERE id = ?1 AND state = 'pending'",
            )?
            .execute(params![f.id.0, error_to_json(error), f.at])?,
    };
    if n == 0 {
        return Err(StoreError::IntentNotPending { id: f.id });
    }
    Ok(())
}

fn error_to_json(e: &ErrorInfo) -> String {
    serde_json::json!({ "code": e.code, "message": e.message, "attribute": e.attribute })
        .to_string()
}

fn decode(row: &Row<'_>) -> Result<Intent> {
    let error = match row.get::<_, Option<String>>(10)? {
        None => None,
        Some(text) => Some(
            serde_json::from_str(&text).map_err(|_| StoreError::Corrupt {
                table: "intents",
                column: "error",
                value: text,
            })?,
        ),
    };
    Ok(Intent {
        id: IntentId(row.get(0)?),
        run_id: RunId(row.get(1)?),
        rule: row.get(2)?,
        kind: text_col(row, 3, ObjectKind::parse)?,
        source_id: row.get(4)?,
        op: text_col(row, 5, Op::parse)?,
        key: row.get(6)?,
        target_id: row.get(7)?,
        summary: json_col("intents", "summary", row.get(8)?)?,
        state: text_col(row, 9, IntentState::parse)?,
        error,
        created_at: row.get(11)?,
        finished_at: row.get(12)?,
    })
}
