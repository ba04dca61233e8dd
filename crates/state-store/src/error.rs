//! The one error type of the store: each variant names the file, record or
//! field involved and says what to do about it.

use std::path::PathBuf;

use crate::records::IntentId;

/// Everything that can go wrong in the state store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database file could not be opened or is not a SQLite database.
    #[error(
        "cannot open the state database {path}: {source}; check the path, its permissions and that it is a p1duo state database"
    )]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A read-only open of a database that does not exist yet.
    #[error(
        "there is no state database at {path}; start the agent once to create it, or check `state.path` in the config"
    )]
    NotFound {
        /// The database file.
        path: PathBuf,
    },
    /// Another process holds the single-writer lock.
    #[error(
        "the state database {path} is in use by another p1duo agent (lock file {lock} is held); stop that agent first, or use a read-only command such as `p1duo status`"
    )]
    Locked {
        /// The database file.
        path: PathBuf,
        /// The lock file next to it.
        lock: PathBuf,
    },
    /// The lock file could not be created or locked.
    #[error("cannot create or lock {lock}: {source}; check that its directory is writable")]
    LockIo {
        /// The lock file.
        lock: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The database was written by a newer p1duo.
    #[error(
        "the state database {path} has schema version {found}, newer than this p1duo supports ({supported}); run the newer p1duo that wrote it, or restore a backup"
    )]
    SchemaTooNew {
        /// The database file.
        path: PathBuf,
        /// `PRAGMA user_version` of the file.
        found: i64,
        /// The newest version this code knows.
        supported: i64,
    },
    /// A read-only open of a database that still needs migrating.
    #[error(
        "the state database {path} has schema version {found} but this p1duo uses {expected}; start the agent once (it migrates the database) before using read-only commands"
    )]
    SchemaOutdated {
        /// The database file.
        path: PathBuf,
        /// `PRAGMA user_version` of the file.
        found: i64,
        /// The version this code uses.
        expected: i64,
    },
    /// A migration step failed; the database stays at the previous version.
    #[error(
        "migrating the state database {path} to schema version {version} failed: {source}; the database was left at version {}",
        version - 1
    )]
    Migration {
        /// The database file.
        path: PathBuf,
        /// The version the failed step would have produced.
        version: i64,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A write through a store opened with [`crate::Store::open_read_only`].
    #[error(
        "the state database was opened read-only (for status or explain); {operation} needs the agent's writable store"
    )]
    ReadOnly {
        /// The refused operation.
        operation: &'static str,
    },
    /// An intent was finished twice, or does not exist.
    #[error(
        "intent {id} is not pending (it was already finished, or was never begun); an intent is finished exactly once"
    )]
    IntentNotPending {
        /// The intent.
        id: IntentId,
    },
    /// A batch named a run that does not exist.
    #[error(
        "{record} of {object} names run {run}, which is not in the state database; start the run with `start_run` first"
    )]
    UnknownRun {
        /// Which kind of record (status, audit entry).
        record: &'static str,
        /// The object it belongs to (rule/kind/source id).
        object: String,
        /// The missing run.
        run: i64,
    },
    /// A record carried a field whose name marks it as a secret.
    #[error(
        "{record} of {object} has a field `{field}` that looks like a secret; secrets are never stored: drop it from the attributes given to the store"
    )]
    SecretField {
        /// Which kind of record (link attributes, audit, intent summary).
        record: &'static str,
        /// The object it belongs to (rule/kind/source id).
        object: String,
        /// The offending field name.
        field: String,
    },
    /// A stored value could not be decoded (hand-edited or damaged file).
    #[error(
        "the state database holds an unreadable value in {table}.{column}: {value:?}; run `p1duo check`, and restore a backup if it reports damage"
    )]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// The value as found (never a secret: secrets are never stored).
        value: String,
    },
    /// An existing, empty file where the database should be.
    #[error(
        "{path} is an empty file, not a p1duo state database; it was not re-initialised: restore the database from a backup, or delete the file if a first start was interrupted"
    )]
    EmptyFile {
        /// The database file.
        path: PathBuf,
    },
    /// The database file could not be created.
    #[error(
        "cannot create the state database {path}: {source}; check that its directory exists and is writable"
    )]
    Create {
        /// The database file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Any other SQLite failure (disk full, I/O error, busy beyond the timeout).
    #[error("state database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Shorthand used throughout the crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
