//! Recording results: per-object status, the audit trail, link changes and
//! intent outcomes of a batch, all in one transaction; and reading them back.

use std::ops::Range;

use rusqlite::{CachedStatement, Row, Transaction, params};

use crate::error::{Result, StoreError};
use crate::records::{
    AuditEntry, ErrorInfo, IntentId, Link, NewIntent, ObjectKey, ObjectKind, ObjectStatus, Op,
    ResultBatch, RunId, StatusFilter, StatusUpdate, SyncStatus,
};
use crate::store::{Store, json_col, json_into, text_col};
use crate::{intents, links, secrets};

const STATUS_COLUMNS: &str = "rule, kind, source_id, display_name, status, error_code, \
     error_message, error_attribute, attempts, last_attempt, last_success, run_id";

impl Store {
    /// Writes a batch of results in ONE transaction: intent outcomes, link
    /// upserts and deletes, statuses and audit entries. Either all of it is on
    /// disk when this returns, or (on error or crash) none of it.
    pub fn record_results(&mut self, batch: &ResultBatch) -> Result<()> {
        self.record_results_observed(batch, &[], &mut |_| {})
            .map(|_| ())
    }

    /// Group commit: a batch of results and the intents of the next writes
    /// to send, in ONE transaction (one disk sync). Returns the intents' ids
    /// in order. All of it is on disk when this returns, or none of it.
    pub fn commit_journal(
        &mut self,
        results: &ResultBatch,
        intents: &[NewIntent],
    ) -> Result<Vec<IntentId>> {
        self.record_results_observed(results, intents, &mut |_| {})
    }

    /// [`Store::record_results`], calling `on_row` with a running row count
    /// inside the open transaction (lets the crash test stop mid-batch).
    pub(crate) fn record_results_observed(
        &mut self,
        batch: &ResultBatch,
        intents: &[NewIntent],
        on_row: &mut dyn FnMut(usize),
    ) -> Result<Vec<IntentId>> {
        if batch.is_empty() && intents.is_empty() {
            return Ok(Vec::new());
        }
        // A foreign-key check is a seek in `runs` for every status and audit
        // row (about a microsecond each); a big batch checks its few run ids
        // once instead, with enforcement off for its transaction. The pragma
        // cannot change inside a transaction, and re-prepares statements, so
        // small batches keep the per-row checks.
        let bulk = batch.statuses.len() + batch.audit.len() >= BULK_ROWS;
        if bulk {
            self.conn.pragma_update(None, "foreign_keys", false)?;
        }
        let result = self.record_in_tx(batch, intents, bulk, on_row);
        if bulk {
            let restored = self.conn.pragma_update(None, "foreign_keys", true);
            let ids = result?;
            restored?;
            return Ok(ids);
        }
        result
    }

    fn record_in_tx(
        &mut self,
        batch: &ResultBatch,
        intents: &[NewIntent],
        bulk: bool,
        on_row: &mut dyn FnMut(usize),
    ) -> Result<Vec<IntentId>> {
        let tx = self.write_tx("record_results")?;
        if bulk {
            runs_exist(&tx, batch)?;
        }
        std::thread::scope(|scope| -> Result<()> {
            // A big batch turns its JSON into text (and checks it for secrets)
            // on another core while this one writes intents and statuses.
            let pending = bulk.then(|| scope.spawn(|| BatchJson::of(batch)));
            let mut rows = 0;
            for finished in &batch.intents {
                intents::finish(&tx, finished)?;
                rows += 1;
                on_row(rows);
            }
            // Each statement is prepared once per batch, not once per row.
            {
                let mut stmt = tx.prepare_cached(STATUS_UPSERT)?;
                let mut prev = None;
                for i in in_key_order(&batch.statuses, status_key) {
                    upsert_status(&mut stmt, &batch.statuses[i], prev)?;
                    prev = Some(&batch.statuses[i]);
                    rows += 1;
                    on_row(rows);
                }
            }
            delete_statuses(&tx, &batch.status_deletes)?;
            let json = match pending {
                Some(worker) => worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?,
                None => BatchJson::of(batch)?,
            };
            {
                let mut stmt = links::upsert_stmt(&tx)?;
                let mut prev = None;
                for i in in_key_order(&batch.link_upserts, link_key) {
                    let (link, attrs) = (&batch.link_upserts[i], &json.links[i]);
                    links::upsert_one(&mut stmt, link, json.text(attrs), prev)?;
                    prev = Some(link);
                    rows += 1;
                    on_row(rows);
                }
            }
            links::delete(&tx, &batch.link_deletes)?;
            {
                let mut stmt = tx.prepare_cached(AUDIT_INSERT)?;
                let mut prev = None;
                for (entry, (before, after)) in batch.audit.iter().zip(&json.audit) {
                    let texts = (json.text(before), json.text(after));
                    insert_audit(&mut stmt, entry, texts, prev)?;
                    prev = Some((entry, texts));
                    rows += 1;
                    on_row(rows);
                }
            }
            Ok(())
        })?;
        if bulk {
            // Foreign keys are off: check the intents' runs as `runs_exist` does.
            let mut stmt = tx.prepare_cached("SELECT 1 FROM runs WHERE id = ?1")?;
            let mut seen = std::collections::BTreeSet::new();
            for i in intents {
                if seen.insert(i.run_id.0) && !stmt.exists([i.run_id.0])? {
                    return Err(StoreError::UnknownRun {
                        record: "intent",
                        object: format!("{}/{}/{}", i.rule, i.kind, i.source_id),
                        run: i.run_id.0,
                    });
                }
            }
        }
        let ids = intents::insert(&tx, intents)?;
        tx.commit()?;
        Ok(ids)
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

/// The rows in the order of their keys, a later write to the same key still
/// later: B-tree inserts in key order touch each page once instead of at
/// random. Sorted by source id first (it tells rows apart in a byte or two;
/// rule and kind are the same all through a typical batch).
fn in_key_order<T>(rows: &[T], key: fn(&T) -> (&str, &str, ObjectKind)) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_unstable_by(|&a, &b| key(&rows[a]).cmp(&key(&rows[b])).then(a.cmp(&b)));
    order
}

fn status_key(s: &StatusUpdate) -> (&str, &str, ObjectKind) {
    (&s.key.source_id, &s.key.rule, s.key.kind)
}

fn link_key(l: &Link) -> (&str, &str, ObjectKind) {
    (&l.source_id, &l.rule, l.kind)
}

/// Batches with at least this many status and audit rows check their run ids
/// once rather than per row.
const BULK_ROWS: usize = 256;

/// What the foreign keys on `run_id` would check, once per distinct run.
fn runs_exist(tx: &Transaction<'_>, batch: &ResultBatch) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    let named = batch
        .statuses
        .iter()
        .map(|s| ("status", s.run_id, &s.key))
        .chain(
            batch
                .audit
                .iter()
                .map(|a| ("audit entry", a.run_id, &a.key)),
        );
    let mut stmt = tx.prepare_cached("SELECT 1 FROM runs WHERE id = ?1")?;
    for (record, run, key) in named {
        let Some(run) = run else { continue };
        if seen.insert(run.0) && !stmt.exists([run.0])? {
            return Err(StoreError::UnknownRun {
                record,
                object: key.to_string(),
                run: run.0,
            });
        }
    }
    Ok(())
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

/// Upserts one status; `prev` is the row the statement ran with last in this
/// batch, whose unchanged parameters are not bound again.
fn upsert_status(
    stmt: &mut CachedStatement<'_>,
    s: &StatusUpdate,
    prev: Option<&StatusUpdate>,
) -> Result<()> {
    let error = s.error.as_ref();
    let same = |f: &dyn Fn(&StatusUpdate) -> bool| prev.is_some_and(f);
    let p_err = prev.and_then(|p| p.error.as_ref());
    if !same(&|p| p.key.rule == s.key.rule) {
        stmt.raw_bind_parameter(1, &s.key.rule)?;
    }
    if !same(&|p| p.key.kind == s.key.kind) {
        stmt.raw_bind_parameter(2, s.key.kind.as_str())?;
    }
    stmt.raw_bind_parameter(3, &s.key.source_id)?;
    stmt.raw_bind_parameter(4, &s.display_name)?;
    if !same(&|p| p.status == s.status) {
        stmt.raw_bind_parameter(5, s.status.as_str())?;
    }
    if prev.is_none() || p_err != error {
        stmt.raw_bind_parameter(6, error.map(|e| &e.code))?;
        stmt.raw_bind_parameter(7, error.map(|e| &e.message))?;
        stmt.raw_bind_parameter(8, error.and_then(|e| e.attribute.as_ref()))?;
    }
    if !same(&|p| p.at == s.at) {
        stmt.raw_bind_parameter(9, s.at)?;
    }
    if !same(&|p| p.run_id == s.run_id) {
        stmt.raw_bind_parameter(10, s.run_id.map(|r| r.0))?;
    }
    stmt.raw_execute()?;
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

/// Inserts one audit row with its `(before, after)` JSON texts; parameters
/// the previous row of the batch shares are not bound again.
fn insert_audit<'a>(
    stmt: &mut CachedStatement<'_>,
    a: &AuditEntry,
    (before, after): (&'a str, &'a str),
    prev: Option<(&AuditEntry, (&'a str, &'a str))>,
) -> Result<()> {
    let same = |f: &dyn Fn(&AuditEntry) -> bool| prev.is_some_and(|(p, _)| f(p));
    if !same(&|p| p.run_id == a.run_id) {
        stmt.raw_bind_parameter(1, a.run_id.map(|r| r.0))?;
    }
    if !same(&|p| p.key.rule == a.key.rule) {
        stmt.raw_bind_parameter(2, &a.key.rule)?;
    }
    if !same(&|p| p.key.kind == a.key.kind) {
        stmt.raw_bind_parameter(3, a.key.kind.as_str())?;
    }
    stmt.raw_bind_parameter(4, &a.key.source_id)?;
    if !same(&|p| p.op == a.op) {
        stmt.raw_bind_parameter(5, a.op.as_str())?;
    }
    if prev.is_none_or(|(_, (b, _))| b != before) {
        stmt.raw_bind_parameter(6, before)?;
    }
    stmt.raw_bind_parameter(7, after)?;
    if !same(&|p| p.at == a.at) {
        stmt.raw_bind_parameter(8, a.at)?;
    }
    stmt.raw_execute()?;
    Ok(())
}

/// The JSON text of a batch's link attributes and audit values, checked for
/// secrets: one buffer, sliced by offsets (no String per value).
struct BatchJson {
    buf: Vec<u8>,
    links: Vec<Range<usize>>,
    audit: Vec<(Range<usize>, Range<usize>)>,
}

impl BatchJson {
    fn of(batch: &ResultBatch) -> Result<BatchJson> {
        let mut out = BatchJson {
            buf: Vec::with_capacity(128 * (batch.link_upserts.len() + batch.audit.len())),
            links: Vec::with_capacity(batch.link_upserts.len()),
            audit: Vec::with_capacity(batch.audit.len()),
        };
        for link in &batch.link_upserts {
            secrets::check("link attributes", || link.key().to_string(), &link.attrs)?;
            let attrs = out.push(&link.attrs);
            out.links.push(attrs);
        }
        for a in &batch.audit {
            secrets::check("audit entry", || a.key.to_string(), &a.before)?;
            secrets::check("audit entry", || a.key.to_string(), &a.after)?;
            let before = out.push(&a.before);
            let after = out.push(&a.after);
            out.audit.push((before, after));
        }
        Ok(out)
    }

    fn push(&mut self, value: &serde_json::Value) -> Range<usize> {
        let start = self.buf.len();
        json_into(&mut self.buf, value);
        start..self.buf.len()
    }

    fn text(&self, range: &Range<usize>) -> &str {
        // serde_json writes UTF-8; the check is a formality that cannot fail.
        self.buf
            .get(range.clone())
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("null")
    }
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
