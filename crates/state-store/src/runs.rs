//! Runs: one row per sync of a rule, with its outcome and counts.

use rusqlite::{Row, params};

use crate::error::{Result, StoreError};
use crate::records::{NewRun, Run, RunEnd, RunId, RunOutcome, Trigger, UnixMillis};
use crate::store::{Store, text_col};

const COLUMNS: &str = "id, rule, trigger, started, ended, outcome, counts, plan_hash";

impl Store {
    /// Records the start of a run.
    pub fn start_run(&mut self, run: &NewRun) -> Result<RunId> {
        let tx = self.write_tx("start_run")?;
        tx.prepare_cached(
            "INSERT INTO runs (rule, trigger, started, plan_hash) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            run.rule,
            run.trigger.as_str(),
            run.started,
            run.plan_hash
        ])?;
        let id = RunId(tx.last_insert_rowid());
        tx.commit()?;
        Ok(id)
    }

    /// Records the end of a run; returns false if no such run exists.
    pub fn finish_run(&mut self, id: RunId, end: &RunEnd) -> Result<bool> {
        let counts = serde_json::to_string(&end.counts).map_err(|_| StoreError::Corrupt {
            table: "runs",
            column: "counts",
            value: format!("{:?}", end.counts),
        })?;
        let tx = self.write_tx("finish_run")?;
        let n = tx
            .prepare_cached(
                "UPDATE runs SET ended = ?2, outcome = ?3, counts = ?4,
                        plan_hash = coalesce(?5, plan_hash)
                 WHERE id = ?1",
            )?
            .execute(params![
                id.0,
                end.ended,
                end.outcome.as_str(),
                counts,
                end.plan_hash
            ])?;
        tx.commit()?;
        Ok(n > 0)
    }

    /// Marks runs left open by a process that died as
    /// [`RunOutcome::Interrupted`], ending at `at`; call once at start-up.
    pub fn close_interrupted_runs(&mut self, at: UnixMillis) -> Result<Vec<RunId>> {
        let tx = self.write_tx("close_interrupted_runs")?;
        let ids = tx
            .prepare_cached(
                "UPDATE runs SET ended = ?1, outcome = 'interrupted'
                 WHERE ended IS NULL RETURNING id",
            )?
            .query_map([at], |row| row.get(0).map(RunId))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        tx.commit()?;
        Ok(ids)
    }

    /// One run.
    pub fn get_run(&self, id: RunId) -> Result<Option<Run>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM runs WHERE id = ?1"))?;
        let mut rows = stmt.query([id.0])?;
        rows.next()?.map(decode).transpose()
    }

    /// The latest runs, newest first, of one rule or of all.
    pub fn recent_runs(&self, rule: Option<&str>, limit: u32) -> Result<Vec<Run>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM runs WHERE ?1 IS NULL OR rule = ?1
             ORDER BY started DESC, id DESC LIMIT ?2"
        ))?;
        let mut rows = stmt.query(params![rule, limit])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(decode(row)?);
        }
        Ok(out)
    }
}

fn decode(row: &Row<'_>) -> Result<Run> {
    let counts: String = row.get(6)?;
    let counts = serde_json::from_str(&counts).map_err(|_| StoreError::Corrupt {
        table: "runs",
        column: "counts",
        value: counts,
    })?;
    let outcome = match row.get_ref(5)?.as_str_or_null() {
        Ok(None) => None,
        _ => Some(text_col(row, 5, RunOutcome::parse)?),
    };
    Ok(Run {
        id: RunId(row.get(0)?),
        rule: row.get(1)?,
        trigger: text_col(row, 2, Trigger::parse)?,
        started: row.get(3)?,
        ended: row.get(4)?,
        outcome,
        counts,
        plan_hash: row.get(7)?,
    })
}
