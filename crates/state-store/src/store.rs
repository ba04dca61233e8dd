//! Opening the database (durability settings, the writer lock, migrations),
//! read-only access for status commands, integrity checks, scheduler state
//! and retention.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};

use crate::error::{Result, StoreError};
use crate::lock::WriterLock;
use crate::records::{PruneReport, UnixMillis};
use crate::schema::{self, SCHEMA_VERSION};

/// How to open a writable store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// How long a statement waits for a lock held by a reader or checkpoint
    /// before failing with "database is locked". Default 5 s.
    pub busy_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// The agent's state database.
///
/// Blocking: every call does file IO, so async code calls it through
/// `tokio::task::spawn_blocking` or owns it on a dedicated thread. It is
/// `Send` (it can move to that thread) but not `Sync`: writes take `&mut self`,
/// so share it behind a `Mutex` if several tasks need it.
#[derive(Debug)]
pub struct Store {
    pub(crate) conn: Connection,
    path: PathBuf,
    writable: bool,
    _lock: Option<WriterLock>,
}

/// Page cache per connection, in KiB (negative `cache_size` means KiB): a
/// ceiling, allocated as used; large enough that a 100k-result batch does not
/// spill uncommitted pages to the WAL and the link index of a big rule stays hot.
const CACHE_KIB: i64 = 256 * 1024;

/// Page size of a new database file, in bytes. 16 KiB measured best for a
/// 100k-result batch (8 KiB: +10 %, 4 KiB: +20 %); larger pages gained little.
const PAGE_SIZE: i64 = 16384;

/// WAL size past which a commit checkpoints by itself: a long cycle's WAL
/// stays this small (it restarts from its beginning), instead of growing
/// until `Store::checkpoint` after the cycle, every sync landing on a
/// growing file. Group commit made commits few, so this costs little.
const AUTO_CHECKPOINT_BYTES: i64 = 8 * 1024 * 1024;

/// The WAL file is cut back to this size when it restarts after a big batch.
const JOURNAL_SIZE_LIMIT: i64 = 16 * 1024 * 1024;

impl Store {
    /// Opens (creating if needed) the database at `path` for the agent.
    ///
    /// Takes the single-writer lock on `<path>.lock` first, so a second agent
    /// on the same file gets [`StoreError::Locked`]. Sets WAL mode with
    /// `synchronous=FULL` (a commit is on disk when this crate returns, even
    /// across a power cut), foreign keys and the busy timeout, then migrates
    /// the schema forward, refusing a file newer than this code.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<Self> {
        // The lock is taken on the resolved path: two names for one file
        // (a symlink) must not make two writers.
        let path = resolve(path.as_ref());
        let lock = WriterLock::acquire(&path)?;
        prepare_file(&path)?;
        let conn = Connection::open(&path).map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        Self::configure(conn, path, options, Some(lock))
    }

    /// An in-memory store (no file, no lock, not durable) for other crates' tests.
    pub fn open_in_memory() -> Result<Self> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        Self::configure(conn, path, Options::default(), None)
    }

    fn configure(
        mut conn: Connection,
        path: PathBuf,
        options: Options,
        lock: Option<WriterLock>,
    ) -> Result<Self> {
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        conn.busy_timeout(options.busy_timeout).map_err(open_err)?;
        // Only takes effect on a file not yet created: bigger pages mean fewer
        // B-tree splits and WAL frames for a large batch.
        conn.pragma_update(None, "page_size", PAGE_SIZE)
            .map_err(open_err)?;
        // The first statement that reads the file: "file is not a database" shows here.
        let _mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(open_err)?;
        // FULL: in WAL mode NORMAL may lose the last commits on power loss;
        // FULL syncs the WAL at every commit, which is what "journaled before
        // the call" needs. Batching keeps the cost to one sync per batch.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(open_err)?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB)
            .map_err(open_err)?;
        // Statement journals (kept for upserts in a multi-statement batch)
        // live in memory: a temp file cost a write syscall per touched page.
        // A checkpoint copies the WAL into the database and syncs it: by
        // `checkpoint` after each cycle, and automatically past a threshold.
        let page: i64 = conn
            .pragma_query_value(None, "page_size", |row| row.get(0))
            .map_err(open_err)?;
        conn.pragma_update(
            None,
            "wal_autocheckpoint",
            AUTO_CHECKPOINT_BYTES / page.max(512),
        )
        .map_err(open_err)?;
        conn.pragma_update(None, "temp_store", "MEMORY")
            .map_err(open_err)?;
        // Keep the WAL file from growing without bound after a big batch.
        conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)
            .map_err(open_err)?;
        conn.set_prepared_statement_cache_capacity(64);
        schema::migrate_to(&mut conn, &path, SCHEMA_VERSION)?;
        Ok(Self {
            conn,
            path,
            writable: true,
            _lock: lock,
        })
    }

    /// Opens an existing database for reading only (`p1duo status`, `explain`)
    /// while an agent may be writing to it. Takes no lock and never migrates:
    /// an outdated file gives [`StoreError::SchemaOutdated`], a newer one
    /// [`StoreError::SchemaTooNew`]. Write calls return [`StoreError::ReadOnly`].
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_owned();
        if !path.exists() {
            return Err(StoreError::NotFound { path });
        }
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        conn.busy_timeout(Options::default().busy_timeout)
            .map_err(open_err)?;
        conn.pragma_update(None, "query_only", true)
            .map_err(open_err)?;
        let found = schema::version(&conn).map_err(open_err)?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                path,
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found < SCHEMA_VERSION {
            return Err(StoreError::SchemaOutdated {
                path,
                found,
                expected: SCHEMA_VERSION,
            });
        }
        Ok(Self {
            conn,
            path,
            writable: false,
            _lock: None,
        })
    }

    /// The database file this store was opened on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// False for a store from [`Store::open_read_only`].
    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// The file's schema version (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64> {
        Ok(schema::version(&self.conn)?)
    }

    /// Copies what the WAL holds into the database file and syncs it, so the
    /// WAL starts over (a passive checkpoint: it never waits for readers, and
    /// what a reader still needs is left for next time). Call it when idle,
    /// e.g. after a sync cycle; returns the WAL's frames and how many of them
    /// are now in the database.
    pub fn checkpoint(&mut self) -> Result<(u64, u64)> {
        if !self.writable {
            return Err(StoreError::ReadOnly {
                operation: "checkpoint",
            });
        }
        let (log, done): (i64, i64) =
            self.conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                    Ok((row.get(1)?, row.get(2)?))
                })?;
        Ok((
            u64::try_from(log).unwrap_or(0),
            u64::try_from(done).unwrap_or(0),
        ))
    }

    /// Runs SQLite's `integrity_check` and `foreign_key_check`; returns the
    /// problems found, empty when the database is sound.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let line: String = row.get(0)?;
            if line != "ok" {
                problems.push(line);
            }
        }
        let mut stmt = self.conn.prepare("PRAGMA foreign_key_check")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let table: String = row.get(0)?;
            let rowid: Option<i64> = row.get(1)?;
            let parent: String = row.get(2)?;
            problems.push(format!(
                "row {} of {table} refers to a missing row of {parent}",
                rowid.map_or_else(|| "?".to_owned(), |r| r.to_string())
            ));
        }
        Ok(problems)
    }

    /// Begins an IMMEDIATE write transaction, or refuses on a read-only store.
    pub(crate) fn write_tx(&mut self, operation: &'static str) -> Result<Transaction<'_>> {
        if !self.writable {
            return Err(StoreError::ReadOnly { operation });
        }
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }

    /// Reads a scheduler value (e.g. the time of the last full sync).
    pub fn kv_get(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM kv WHERE key = ?1")?
            .query_row([key], |row| row.get(0))
            .optional()?)
    }

    /// Writes a scheduler value durably. Values are plain state, never secrets.
    pub fn kv_set(&mut self, key: &str, value: &str) -> Result<()> {
        let tx = self.write_tx("kv_set")?;
        tx.prepare_cached(
            "INSERT INTO kv (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )?
        .execute([key, value])?;
        Ok(tx.commit()?)
    }

    /// Removes a scheduler value; true if it existed.
    pub fn kv_delete(&mut self, key: &str) -> Result<bool> {
        let tx = self.write_tx("kv_delete")?;
        let n = tx
            .prepare_cached("DELETE FROM kv WHERE key = ?1")?
            .execute([key])?;
        tx.commit()?;
        Ok(n > 0)
    }

    /// Retention: removes audit entries older than `older_than`, and finished
    /// runs that started before it together with their intents. Runs that
    /// still have pending intents are kept: those are needed to recover.
    /// Links, statuses and scheduler state are current state and never pruned.
    pub fn prune(&mut self, older_than: UnixMillis) -> Result<PruneReport> {
        let tx = self.write_tx("prune")?;
        let prunable = "SELECT id FROM runs r WHERE r.started < ?1 AND r.ended IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM intents i WHERE i.run_id = r.id AND i.state = 'pending')";
        let audit = tx.execute("DELETE FROM audit WHERE at < ?1", params![older_than])?;
        let intents = tx.execute(
            &format!("DELETE FROM intents WHERE run_id IN ({prunable})"),
            params![older_than],
        )?;
        let runs = tx.execute(
            &format!("DELETE FROM runs WHERE id IN ({prunable})"),
            params![older_than],
        )?;
        tx.commit()?;
        Ok(PruneReport {
            runs: runs as u64,
            intents: intents as u64,
            audit: audit as u64,
        })
    }
}

/// Appends `value` as compact JSON to `buf` and returns the appended text.
/// One buffer serves a whole batch, instead of a fresh String per value.
pub(crate) fn json_into<'b>(buf: &'b mut Vec<u8>, value: &serde_json::Value) -> &'b str {
    let start = buf.len();
    // Writing a Value to a Vec cannot fail: its keys are strings.
    let _ = serde_json::to_writer(&mut *buf, value);
    std::str::from_utf8(&buf[start..]).unwrap_or("null")
}

/// Decodes a JSON column.
pub(crate) fn json_col(
    table: &'static str,
    column: &'static str,
    text: String,
) -> Result<serde_json::Value> {
    serde_json::from_str(&text).map_err(|_| StoreError::Corrupt {
        table,
        column,
        value: text,
    })
}

/// Decodes a JSON column in place, copying the text only for the error.
pub(crate) fn json_ref(
    row: &rusqlite::Row<'_>,
    idx: usize,
    table: &'static str,
    column: &'static str,
) -> Result<serde_json::Value> {
    let value = row.get_ref(idx)?;
    let text = value.as_str().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, value.data_type(), Box::new(e))
    })?;
    serde_json::from_str(text).map_err(|_| StoreError::Corrupt {
        table,
        column,
        value: text.to_owned(),
    })
}

/// `u64` fingerprints are stored bit-for-bit in SQLite's signed INTEGER.
pub(crate) fn fp_to_sql(fp: u64) -> i64 {
    i64::from_ne_bytes(fp.to_ne_bytes())
}

/// Inverse of [`fp_to_sql`].
pub(crate) fn fp_from_sql(v: i64) -> u64 {
    u64::from_ne_bytes(v.to_ne_bytes())
}

/// Decodes a text column with `parse` without copying it.
pub(crate) fn text_col<T>(
    row: &rusqlite::Row<'_>,
    idx: usize,
    parse: fn(&str) -> Result<T>,
) -> Result<T> {
    let value = row.get_ref(idx)?;
    let text = value.as_str().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, value.data_type(), Box::new(e))
    })?;
    parse(text)
}

/// The path with symlinks resolved (of the file, or of its directory when
/// the file does not exist yet); as given when neither resolves.
fn resolve(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            std::fs::canonicalize(dir).map_or_else(|_| path.to_owned(), |d| d.join(name))
        }
        _ => path.to_owned(),
    }
}

/// A new database is created readable by its owner only (it holds names,
/// emails and phone numbers; SQLite gives its WAL and shared-memory files the
/// same mode). An existing empty file is refused, never silently
/// re-initialised: it is not a state database.
fn prepare_file(path: &Path) -> Result<()> {
    use std::fs::OpenOptions;
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() == 0 => Err(StoreError::EmptyFile {
            path: path.to_owned(),
        }),
        Ok(_) => Ok(()),
        Err(_) => {
            let mut o = OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            match o.open(path) {
                Ok(_) => Ok(()),
                // Created by someone else meanwhile: SQLite opens it as it is.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
                Err(source) => Err(StoreError::Create {
                    path: path.to_owned(),
                    source,
                }),
            }
        }
    }
}
