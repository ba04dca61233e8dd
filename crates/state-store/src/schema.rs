//! The schema as forward-only migrations on `PRAGMA user_version`.
//!
//! Migration `i` (0-based) turns version `i` into version `i + 1`. Each runs
//! in its own IMMEDIATE transaction together with the version bump, so a crash
//! mid-migration leaves the previous version intact. Never edit a published
//! migration: append a new one. `docs/state-store.md` describes the result.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Result, StoreError};

/// The migrations, oldest first.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: links and scheduler state.
    "CREATE TABLE links (
        rule         TEXT    NOT NULL,
        kind         TEXT    NOT NULL,
        source_id    TEXT    NOT NULL,
        target_id    TEXT    NOT NULL,
        attrs        TEXT    NOT NULL,
        fingerprint  INTEGER NOT NULL,
        first_synced INTEGER NOT NULL,
        last_synced  INTEGER NOT NULL,
        PRIMARY KEY (rule, kind, source_id)
    );
    CREATE INDEX links_by_target ON links (rule, kind, target_id);
    CREATE TABLE kv (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;",
    // 2: runs and the intent journal.
    "CREATE TABLE runs (
        id        INTEGER PRIMARY KEY,
        rule      TEXT    NOT NULL,
        trigger   TEXT    NOT NULL,
        started   INTEGER NOT NULL,
        ended     INTEGER,
        outcome   TEXT,
        counts    TEXT    NOT NULL DEFAULT '{}',
        plan_hash TEXT
    );
    CREATE INDEX runs_by_rule ON runs (rule, started);
    CREATE TABLE intents (
        id          INTEGER PRIMARY KEY,
        run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        rule        TEXT    NOT NULL,
        kind        TEXT    NOT NULL,
        source_id   TEXT    NOT NULL,
        op          TEXT    NOT NULL,
        key         TEXT    NOT NULL,
        target_id   TEXT,
        summary     TEXT    NOT NULL,
        state       TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'done', 'failed')),
        error       TEXT,
        created_at  INTEGER NOT NULL,
        finished_at INTEGER
    );
    CREATE INDEX intents_pending ON intents (rule, id) WHERE state = 'pending';
    CREATE INDEX intents_by_run ON intents (run_id);",
    // 3: per-object status, the audit trail, and which side created a linked object.
    "ALTER TABLE links ADD COLUMN origin TEXT NOT NULL DEFAULT 'source';
    CREATE TABLE object_status (
        rule            TEXT    NOT NULL,
        kind            TEXT    NOT NULL,
        source_id       TEXT    NOT NULL,
        display_name    TEXT    NOT NULL,
        status          TEXT    NOT NULL
                        CHECK (status IN ('success', 'unsynced', 'partial', 'failed')),
        error_code      TEXT,
        error_message   TEXT,
        error_attribute TEXT,
        attempts        INTEGER NOT NULL DEFAULT 0,
        last_attempt    INTEGER NOT NULL,
        last_success    INTEGER,
        run_id          INTEGER REFERENCES runs (id) ON DELETE SET NULL,
        PRIMARY KEY (rule, kind, source_id)
    );
    CREATE INDEX object_status_not_in_step ON object_status (rule, status) WHERE status <> 'success';
    CREATE INDEX object_status_by_run ON object_status (run_id);
    CREATE TABLE audit (
        id        INTEGER PRIMARY KEY,
        run_id    INTEGER REFERENCES runs (id) ON DELETE SET NULL,
        rule      TEXT    NOT NULL,
        kind      TEXT    NOT NULL,
        source_id TEXT    NOT NULL,
        op        TEXT    NOT NULL,
        before    TEXT    NOT NULL,
        after     TEXT    NOT NULL,
        at        INTEGER NOT NULL
    );
    CREATE INDEX audit_by_time ON audit (at);
    CREATE INDEX audit_by_object ON audit (rule, kind, source_id, id);
    CREATE INDEX audit_by_run ON audit (run_id);",
];

/// The schema version this code reads and writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Reads `PRAGMA user_version`.
pub(crate) fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Brings the database up to `target` (normally [`SCHEMA_VERSION`]).
pub(crate) fn migrate_to(conn: &mut Connection, path: &Path, target: i64) -> Result<()> {
    let current = version(conn).map_err(|source| StoreError::Open {
        path: path.to_owned(),
        source,
    })?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            path: path.to_owned(),
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    for version in (current + 1)..=target {
        let mut step = || -> rusqlite::Result<()> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Re-read under the write lock: another opener may have migrated already.
            let now = self::version(&tx)?;
            if now < version {
                let index = usize::try_from(version - 1).unwrap_or(usize::MAX);
                tx.execute_batch(MIGRATIONS[index])?;
                tx.pragma_update(None, "user_version", version)?;
            }
            tx.commit()
        };
        step().map_err(|source| StoreError::Migration {
            path: path.to_owned(),
            version,
            source,
        })?;
    }
    Ok(())
}
