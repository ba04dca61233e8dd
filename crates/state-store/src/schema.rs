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
    // 4: links and statuses keyed by their primary key alone (WITHOUT ROWID):
    // one B-tree per table instead of a rowid table plus a key index, so a
    // batch writes half the pages and `links_for_rule` reads the table in key
    // order without a lookup per row. Rebuilt, keeping every row.
    "CREATE TABLE links_v4 (
        rule         TEXT    NOT NULL,
        kind         TEXT    NOT NULL,
        source_id    TEXT    NOT NULL,
        target_id    TEXT    NOT NULL,
        attrs        TEXT    NOT NULL,
        fingerprint  INTEGER NOT NULL,
        first_synced INTEGER NOT NULL,
        last_synced  INTEGER NOT NULL,
        origin       TEXT    NOT NULL DEFAULT 'source',
        PRIMARY KEY (rule, kind, source_id)
    ) WITHOUT ROWID;
    INSERT INTO links_v4 (rule, kind, source_id, target_id, attrs, fingerprint,
                          first_synced, last_synced, origin)
        SELECT rule, kind, source_id, target_id, attrs, fingerprint,
               first_synced, last_synced, origin FROM links;
    DROP TABLE links;
    ALTER TABLE links_v4 RENAME TO links;
    CREATE INDEX links_by_target ON links (rule, kind, target_id);
    CREATE TABLE object_status_v4 (
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
    ) WITHOUT ROWID;
    INSERT INTO object_status_v4 SELECT rule, kind, source_id, display_name, status,
        error_code, error_message, error_attribute, attempts, last_attempt, last_success,
        run_id FROM object_status;
    DROP TABLE object_status;
    ALTER TABLE object_status_v4 RENAME TO object_status;
    CREATE INDEX object_status_not_in_step ON object_status (rule, status)
        WHERE status <> 'success';
    -- Every batch paid for this index; only the daily `prune` used it, and
    -- that scan of the audit table is cheap by comparison.
    DROP INDEX audit_by_time;",
    // 5: the CHECKs written as OR chains: SQLite evaluates `x IN (a, b, c)`
    // in a CHECK by building a temporary index for every row written (about
    // 1.4 µs a row: 140 ms of a 100k-result batch). Statuses keyed, and the
    // lookup indexes led, by the id column: an insert's descent compares one
    // field instead of three (statuses are read by key or scanned whole;
    // links keep their rule-first key for `links_for_rule`). Rebuilt,
    // keeping every row.
    "CREATE TABLE object_status_v5 (
        rule            TEXT    NOT NULL,
        kind            TEXT    NOT NULL,
        source_id       TEXT    NOT NULL,
        display_name    TEXT    NOT NULL,
        status          TEXT    NOT NULL
                        CHECK (status = 'success' OR status = 'unsynced'
                               OR status = 'partial' OR status = 'failed'),
        error_code      TEXT,
        error_message   TEXT,
        error_attribute TEXT,
        attempts        INTEGER NOT NULL DEFAULT 0,
        last_attempt    INTEGER NOT NULL,
        last_success    INTEGER,
        run_id          INTEGER REFERENCES runs (id) ON DELETE SET NULL,
        PRIMARY KEY (source_id, rule, kind)
    ) WITHOUT ROWID;
    INSERT INTO object_status_v5 SELECT rule, kind, source_id, display_name, status,
        error_code, error_message, error_attribute, attempts, last_attempt, last_success,
        run_id FROM object_status;
    DROP TABLE object_status;
    ALTER TABLE object_status_v5 RENAME TO object_status;
    CREATE INDEX object_status_not_in_step ON object_status (rule, status)
        WHERE status <> 'success';
    CREATE TABLE intents_v5 (
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
                    CHECK (state = 'pending' OR state = 'done' OR state = 'failed'),
        error       TEXT,
        created_at  INTEGER NOT NULL,
        finished_at INTEGER
    );
    INSERT INTO intents_v5 (id, run_id, rule, kind, source_id, op, key, target_id, summary,
                            state, error, created_at, finished_at)
        SELECT id, run_id, rule, kind, source_id, op, key, target_id, summary,
               state, error, created_at, finished_at FROM intents;
    DROP TABLE intents;
    ALTER TABLE intents_v5 RENAME TO intents;
    CREATE INDEX intents_pending ON intents (rule, id) WHERE state = 'pending';
    CREATE INDEX intents_by_run ON intents (run_id);
    -- Lookup indexes lead with the column that tells rows apart: an insert
    -- compares one field per step of its descent instead of three.
    DROP INDEX links_by_target;
    CREATE INDEX links_by_target ON links (target_id, rule, kind);
    DROP INDEX audit_by_object;
    CREATE INDEX audit_by_object ON audit (source_id, rule, kind, id);",
    // 6: phone attaches and detaches get ops of their own (journaled as
    // `add_member`/`remove_member` of an account before: a membership is a
    // group's); intents gain the state `resolved` (a pending intent a later
    // run settled); runs.trigger gets a CHECK, with the new `notification`.
    // `runs` is rebuilt with foreign keys off (`migrate_to`), so its
    // children keep their rows.
    "CREATE TABLE intents_v6 (
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
                    CHECK (state = 'pending' OR state = 'done' OR state = 'failed'
                           OR state = 'resolved'),
        error       TEXT,
        created_at  INTEGER NOT NULL,
        finished_at INTEGER
    );
    INSERT INTO intents_v6 (id, run_id, rule, kind, source_id, op, key, target_id, summary,
                            state, error, created_at, finished_at)
        SELECT id, run_id, rule, kind, source_id,
               CASE WHEN kind IN ('user', 'admin') AND op = 'add_member' THEN 'attach_phone'
                    WHEN kind IN ('user', 'admin') AND op = 'remove_member' THEN 'detach_phone'
                    ELSE op END,
               key, target_id, summary, state, error, created_at, finished_at FROM intents;
    DROP TABLE intents;
    ALTER TABLE intents_v6 RENAME TO intents;
    CREATE INDEX intents_pending ON intents (rule, id) WHERE state = 'pending';
    CREATE INDEX intents_by_run ON intents (run_id);
    UPDATE audit SET op = CASE op WHEN 'add_member' THEN 'attach_phone' ELSE 'detach_phone' END
        WHERE kind IN ('user', 'admin') AND op IN ('add_member', 'remove_member');
    CREATE TABLE runs_v6 (
        id        INTEGER PRIMARY KEY,
        rule      TEXT    NOT NULL,
        trigger   TEXT    NOT NULL
                  CHECK (trigger = 'schedule' OR trigger = 'manual' OR trigger = 'startup'
                         OR trigger = 'resync' OR trigger = 'notification'),
        started   INTEGER NOT NULL,
        ended     INTEGER,
        outcome   TEXT,
        counts    TEXT    NOT NULL DEFAULT '{}',
        plan_hash TEXT
    );
    INSERT INTO runs_v6 SELECT id, rule, trigger, started, ended, outcome, counts, plan_hash
        FROM runs;
    DROP TABLE runs;
    ALTER TABLE runs_v6 RENAME TO runs;
    CREATE INDEX runs_by_rule ON runs (rule, started);",
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
    if current >= target {
        return Ok(());
    }
    // A table rebuild drops the old table: with foreign keys on, dropping
    // `runs` would delete every intent. Off during migrations (the pragma
    // cannot change inside a transaction), checked before each commit.
    let fk: bool = conn
        .pragma_query_value(None, "foreign_keys", |row| row.get(0))
        .unwrap_or(true);
    let open_err = |source| StoreError::Open {
        path: path.to_owned(),
        source,
    };
    conn.pragma_update(None, "foreign_keys", false)
        .map_err(open_err)?;
    let result = migrate_steps(conn, path, current, target);
    conn.pragma_update(None, "foreign_keys", fk)
        .map_err(open_err)?;
    result
}

fn migrate_steps(conn: &mut Connection, path: &Path, current: i64, target: i64) -> Result<()> {
    for version in (current + 1)..=target {
        let mut step = || -> rusqlite::Result<()> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Re-read under the write lock: another opener may have migrated already.
            let now = self::version(&tx)?;
            if now < version {
                let index = usize::try_from(version - 1).unwrap_or(usize::MAX);
                tx.execute_batch(MIGRATIONS[index])?;
                let broken = tx
                    .prepare("PRAGMA foreign_key_check")?
                    .query([])?
                    .next()?
                    .is_some();
                if broken {
                    return Err(rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
                        Some("the migration would break a foreign key".into()),
                    ));
                }
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

#[cfg(test)]
mod tests {
    use rusqlite::{Connection, params};

    use super::{SCHEMA_VERSION, migrate_to};
    use crate::{
        IntentId, IntentState, ObjectKey, ObjectKind, Op, Options, Origin, RunId, Store,
        StoreError, SyncStatus,
    };

    /// The schema as SQLite reports it, for comparing two files.
    fn schema_of(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
            .expect("prepare");
        stmt.query_map([], |r| {
            Ok(format!(
                "{} {} {}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?.unwrap_or_default()
            ))
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
    }

    /// Writes rows that exist at `version`, the way that version's code did.
    fn fill(conn: &Connection, version: i64) {
        if version >= 1 {
            conn.execute(
                "INSERT INTO links (rule, kind, source_id, target_id, attrs, fingerprint,
                                    first_synced, last_synced)
                 VALUES ('r', 'user', 'p1', 'D1', '{\"username\":\"ann\"}', -1, 10, 20)",
                [],
            )
            .expect("link");
            conn.execute(
                "INSERT INTO kv (key, value) VALUES ('last_full_sync', '99')",
                [],
            )
            .expect("kv");
        }
        if version >= 2 {
            conn.execute(
                "INSERT INTO runs (id, rule, trigger, started) VALUES (7, 'r', 'schedule', 5)",
                [],
            )
            .expect("run");
            conn.execute(
                "INSERT INTO intents (id, run_id, rule, kind, source_id, op, key, summary,
                                      created_at)
                 VALUES (3, 7, 'r', 'user', 'p2', 'create', 'bob', '{}', 6)",
                [],
            )
            .expect("intent");
            // A phone attach and a membership, both journaled as add_member before v6.
            conn.execute(
                "INSERT INTO intents (id, run_id, rule, kind, source_id, op, key, summary, state,
                                      created_at)
                 VALUES (4, 7, 'r', 'user', 'p2', 'add_member', 'bob', '{}', 'done', 6),
                        (5, 7, 'r', 'group', 'g1', 'add_member', 'eng', '{}', 'done', 6),
                        (6, 7, 'r', 'admin', 'a1', 'remove_member', 'ann', '{}', 'done', 6)",
                [],
            )
            .expect("intents");
        }
        if version >= 3 {
            conn.execute(
                "INSERT INTO audit (run_id, rule, kind, source_id, op, before, after, at)
                 VALUES (7, 'r', 'user', 'p2', 'add_member', 'null', '{\"phone\":\"+1555\"}', 8),
                        (7, 'r', 'group', 'g1', 'add_member', 'null', '{\"member\":\"bob\"}', 8)",
                [],
            )
            .expect("audit");
            conn.execute(
                "INSERT INTO object_status (rule, kind, source_id, display_name, status,
                                            error_code, error_message, attempts, last_attempt,
                                            run_id)
                 VALUES ('r', 'user', 'p2', 'bob', 'failed', 'E1', 'no', 2, 30, 7)",
                [],
            )
            .expect("status");
        }
    }

    #[test]
    fn every_earlier_version_migrates_to_the_current_schema_keeping_its_data() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fresh_path = dir.path().join("fresh.db");
        drop(Store::open(&fresh_path, Options::default()).expect("fresh"));
        let fresh = schema_of(&Connection::open(&fresh_path).expect("open fresh"));

        // Version 0 is an empty file, which is refused (`tests/api.rs`): a
        // new database is created by `Store::open` itself.
        for from in 1..SCHEMA_VERSION {
            let path = dir.path().join(format!("v{from}.db"));
            {
                let mut conn = Connection::open(&path).expect("open");
                migrate_to(&mut conn, &path, from).expect("build the old version");
                assert_eq!(super::version(&conn).expect("version"), from);
                fill(&conn, from);
            }
            let store = Store::open(&path, Options::default()).expect("migrate");
            assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
            assert_eq!(
                schema_of(&store.conn),
                fresh,
                "schema after migrating from {from}"
            );
            assert!(store.integrity_check().expect("check").is_empty());
            if from >= 1 {
                let link = store
                    .get_link(&ObjectKey::new("r", ObjectKind::User, "p1"))
                    .expect("get")
                    .expect("the link survives");
                assert_eq!(link.target_id, "D1");
                assert_eq!(link.fingerprint, u64::MAX);
                assert_eq!(
                    link.origin,
                    Origin::Source,
                    "links before v3 were made by us"
                );
                assert_eq!(
                    store.kv_get("last_full_sync").expect("kv").as_deref(),
                    Some("99")
                );
            }
            if from >= 2 {
                let pending = store.pending_intents("r").expect("pending");
                assert_eq!(pending.len(), 1);
                assert_eq!(pending[0].id, IntentId(3));
                assert_eq!(pending[0].state, IntentState::Pending);
                let op = |id| {
                    store
                        .get_intent(IntentId(id))
                        .expect("get")
                        .expect("kept")
                        .op
                };
                assert_eq!(
                    (op(4), op(5), op(6)),
                    (Op::AttachPhone, Op::AddMember, Op::DetachPhone),
                    "phone ops named as such from {from}"
                );
                let run = store
                    .get_run(RunId(7))
                    .expect("get")
                    .expect("the run survives");
                assert_eq!(run.trigger, crate::Trigger::Schedule);
                assert_eq!(store.intents_for_run(RunId(7)).expect("intents").len(), 4);
            }
            if from >= 3 {
                let ops = |source: &str, kind| {
                    store
                        .audit_for_object(&ObjectKey::new("r", kind, source), 10)
                        .expect("audit")
                        .iter()
                        .map(|a| a.op)
                        .collect::<Vec<_>>()
                };
                assert_eq!(ops("p2", ObjectKind::User), [Op::AttachPhone]);
                assert_eq!(ops("g1", ObjectKind::Group), [Op::AddMember]);
            }
            if from >= 3 {
                let status = store
                    .get_status(&ObjectKey::new("r", ObjectKind::User, "p2"))
                    .expect("get")
                    .expect("the status survives");
                assert_eq!(status.status, SyncStatus::Failed);
                assert_eq!(status.attempts, 2);
                assert_eq!(status.run_id, Some(RunId(7)));
            }
        }
    }

    #[test]
    fn a_newer_database_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("new.db");
        {
            let conn = Connection::open(&path).expect("open");
            conn.execute("CREATE TABLE future (x)", []).expect("table");
            conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
                .expect("version");
        }
        let err = Store::open(&path, Options::default()).expect_err("newer schema");
        assert!(
            matches!(err, StoreError::SchemaTooNew { found, .. } if found == SCHEMA_VERSION + 1)
        );
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(
            text.contains(&format!("version {}", SCHEMA_VERSION + 1)),
            "{text}"
        );
        let err = Store::open_read_only(&path).expect_err("newer schema, read-only");
        assert!(matches!(err, StoreError::SchemaTooNew { .. }), "{err:?}");

        let conn = Connection::open(&path).expect("reopen");
        assert_eq!(super::version(&conn).expect("version"), SCHEMA_VERSION + 1);
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'links'",
                params![],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(tables, 0, "no migration ran on the newer file");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_named_in_the_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, b"this is not sqlite, just some text long enough to matter ......................................................................").expect("write");
        let err = Store::open(&path, Options::default()).expect_err("not a database");
        assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
        assert!(err.to_string().contains("notes.txt"), "{err}");
    }
}
