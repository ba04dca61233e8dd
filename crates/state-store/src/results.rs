//! Recording results: per-object status, the audit trail, link changes and
//! intent outcomes of a batch, all in one transaction; and reading them back.

use rusqlite::{CachedStatement, Row, Transaction, params};

use crate::error::Result;
use crate::records::{
    AuditEntry, ErrorInfo, ObjectKey, ObjectKind, ObjectStatus, Op, ResultBatch, RunId,
    StatusFilter, StatusUpdate, SyncStatus,
};
use crate::store::{Store, json_col, text_col};
use crate::{intents, links, secrets};

const STATUS_COLUMNS: &str = "rule, kind, source_id, display_name, status, error_code, \
     error_message, error_attribute, attempts, last_attempt, last_success, run_id";

impl Store {
    /// Writes a batch of results in ONE transaction: intent outcomes, link
    /// upserts and deletes, statuses and audit entries. Either all of it is on
    /// disk when this returns, or (on error or crash) none of it.
    pub fn record_results(&mut self, batch: &ResultBatch) -> Result<()> {
        self.record_results_observed(batch, &mut |_| {})
    }

    /// [`Store::record_results`], calling `on_row` with a running row count
    /// inside the open transaction (lets the crash test stop mid-batch).
    pub(crate) fn record_results_observed(
        &mut self,
        batch: &ResultBatch,
        on_row: &mut dyn FnMut(usize),
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let tx = self.write_tx("record_results")?;
        let mut rows = 0;
        for finished in &batch.intents {
            intents::finish(&tx, finished)?;
            rows += 1;
            on_row(rows);
        }
        // Each statement is prepared once per batch, not once per row.
        {
            let mut stmt = links::upsert_stmt(&tx)?;
            for link in &batch.link_upserts {
                links::upsert_one(&mut stmt, link)?;
                rows += 1;
                on_row(rows);
            }
        }
        links::delete(&tx, &batch.link_deletes)?;
        {
            let mut stmt = tx.prepare_cached(STATUS_UPSERT)?;
            for status in &batch.statuses {
                upsert_status(&mut stmt, status)?;
                rows += 1;
                on_row(rows);
            }
        }
        delete_statuses(&tx, &batch.status_deletes)?;
        {
            let mut stmt = tx.prepare_cached(AUDIT_INSERT)?;
            for entry in &batch.audit {
                insert_audit(&mut stmt, entry)?;
                rows += 1;
                on_row(rows);
            }
        }
        Ok(tx.commit()?)
    }

    /// Status of one object.
    pub fn get_status(&self, key: &ObjectKey) -> Result<Option<ObjectStatus>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {STATUS_COLUMNS} FROM object_status
             WHERE rule = ?1 AND kind = ?2 AND source_id = ?3"
        ))?;
        let mut rows = stmt.query(params![key.rule, key.kind.as_str(), key.source_id])?;
        rows.next()?.map(decode_status).transpose()
    }

    /// Statuses matching `filter`, ordered by rule, kind and source id.
    pub fn statuses(&self, filter: &StatusFilter) -> Result<Vec<ObjectStatus>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {STATUS_COLUMNS} FROM object_status
             WHERE (?1 IS NULL OR rule = ?1) AND (?2 IS NULL OR kind = ?2)
               AND (?3 = 0 OR status <> 'success')
             ORDER BY rule, kind, source_id LIMIT ?4"
        ))?;
        let limit = filter.limit.map_or(-1, i64::from);
        let mut rows = stmt.query(params![
            filter.rule,
            filter.kind.map(ObjectKind::as_str),
            filter.not_in_step,
            limit
        ])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(decode_status(row)?);
        }
        Ok(out)
    }

    /// How many objects of a rule are in each status (for the status page and metrics).
    pub fn status_counts(&self, rule: &str) -> Result<Vec<(ObjectKind, SyncStatus, u64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT kind, status, count(*) FROM object_status WHERE rule = ?1
             GROUP BY kind, status ORDER BY kind, status",
        )?;
        let mut rows = stmt.query([rule])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let n: i64 = row.get(2)?;
            out.push((
                text_col(row, 0, ObjectKind::parse)?,
                text_col(row, 1, SyncStatus::parse)?,
                u64::try_from(n).unwrap_or(0),
            ));
        }
        Ok(out)
    }

    /// The audit trail of one object, oldest first, at most `limit` latest entries.
    pub fn audit_for_object(&self, key: &ObjectKey, limit: u32) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT * FROM (
                SELECT id, run_id, rule, kind, source_id, op, before, after, at FROM audit
                WHERE rule = ?1 AND kind = ?2 AND source_id = ?3 ORDER BY id DESC LIMIT ?4
             ) ORDER BY id",
        )?;
        let mut rows = stmt.query(params![key.rule, key.kind.as_str(), key.source_id, limit])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(decode_audit(row)?);
        }
        Ok(out)
    }

    /// The audit trail of one run, in the order applied (for `revert`).
    pub fn audit_for_run(&self, run: RunId) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, run_id, rule, kind, source_id, op, before, after, at FROM audit
             WHERE run_id = ?1 ORDER BY id",
        )?;
        let mut rows = stmt.query([run.0])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(decode_audit(row)?);
        }
        Ok(out)
    }
}

// Attempts count consecutive non-successes; a success resets them and the error.
const STATUS_UPSERT: &str =
    "INSERT INTO object_status (rule, kind, source_id, display_name, status, error_code,
                error_message, error_attribute, attempts, last_attempt, last_success, run_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,
                 CASE WHEN ?5 = 'success' THEN 0 ELSE 1 END,
                 ?9, CASE WHEN ?5 = 'success' THEN ?9 END, ?10)
         ON CONFLICT (rule, kind, source_id) DO UPDATE SET
            display_name = excluded.display_name, status = excluded.status,
            error_code = excluded.error_code, error_message = excluded.error_message,
            error_attribute = excluded.error_attribute,
            attempts = CASE WHEN excluded.status = 'success' THEN 0
                            ELSE object_status.attempts + 1 END,
            last_attempt = excluded.last_attempt,
            last_success = coalesce(excluded.last_success, object_status.last_success),
            run_id = excluded.run_id";

const AUDIT_INSERT: &str =
    "INSERT INTO audit (run_id, rule, kind, source_id, op, before, after, at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

fn upsert_status(stmt: &mut CachedStatement<'_>, s: &StatusUpdate) -> Result<()> {
    let error = s.error.as_ref();
    stmt.execute(params![
        s.key.rule,
        s.key.kind.as_str(),
        s.key.source_id,
        s.display_name,
        s.status.as_str(),
        error.map(|e| &e.code),
        error.map(|e| &e.message),
        error.and_then(|e| e.attribute.as_ref()),
        s.at,
        s.run_id.map(|r| r.0),
    ])?;
    Ok(())
}

fn delete_statuses(tx: &Transaction<'_>, keys: &[ObjectKey]) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "DELETE FROM object_status WHERE rule = ?1 AND kind = ?2 AND source_id = ?3",
    )?;
    for key in keys {
        stmt.execute(params![key.rule, key.kind.as_str(), key.source_id])?;
    }
    Ok(())
}

fn insert_audit(stmt: &mut CachedStatement<'_>, a: &AuditEntry) -> Result<()> {
    secrets::check("audit entry", || a.key.to_string(), &a.before)?;
    secrets::check("audit entry", || a.key.to_string(), &a.after)?;
    stmt.execute(params![
        a.run_id.map(|r| r.0),
        a.key.rule,
        a.key.kind.as_str(),
        a.key.source_id,
        a.op.as_str(),
        a.before.to_string(),
        a.after.to_string(),
        a.at,
    ])?;
    Ok(())
}

fn decode_status(row: &Row<'_>) -> Result<ObjectStatus> {
    let code: Option<String> = row.get(5)?;
    let last_error = code.map(|code| -> rusqlite::Result<ErrorInfo> {
        Ok(ErrorInfo {
            code,
            message: row.get::<_, Option<String>>(6)?.unwrap_or_default(),
            attribute: row.get(7)?,
        })
    });
    Ok(ObjectStatus {
        key: ObjectKey {
            rule: row.get(0)?,
            kind: text_col(row, 1, ObjectKind::parse)?,
            source_id: row.get(2)?,
        },
        display_name: row.get(3)?,
        status: text_col(row, 4, SyncStatus::parse)?,
        last_error: last_error.transpose()?,
        attempts: row.get(8)?,
        last_attempt: row.get(9)?,
        last_success: row.get(10)?,
        run_id: row.get::<_, Option<i64>>(11)?.map(RunId),
    })
}

fn decode_audit(row: &Row<'_>) -> Result<AuditEntry> {
    Ok(AuditEntry {
        run_id: row.get::<_, Option<i64>>(1)?.map(RunId),
        key: ObjectKey {
            rule: row.get(2)?,
            kind: text_col(row, 3, ObjectKind::parse)?,
            source_id: row.get(4)?,
        },
        op: text_col(row, 5, Op::parse)?,
        before: json_col("audit", "before", row.get(6)?)?,
        after: json_col("audit", "after", row.get(7)?)?,
        at: row.get(8)?,
    })
}
