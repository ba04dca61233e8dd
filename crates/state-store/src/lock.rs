//! The single-writer lock: an OS advisory lock on `<db>.lock`, held for the
//! life of a writable [`crate::Store`]. The OS drops it when the holder exits
//! or is killed, so a crash never leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};

/// A held writer lock; released on drop (or when the process dies).
#[derive(Debug)]
pub(crate) struct WriterLock {
    _file: File,
}

/// The lock file that guards `db`: the same path with `.lock` appended.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl WriterLock {
    /// Takes the lock for `db`, or says who to stop.
    pub(crate) fn acquire(db: &Path) -> Result<Self> {
        let lock = lock_path(db);
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&lock).map_err(|source| StoreError::LockIo {
            lock: lock.clone(),
            source,
        })?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(StoreError::Locked {
                path: db.to_owned(),
                lock,
            }),
            Err(TryLockError::Error(source)) => Err(StoreError::LockIo { lock, source }),
        }
    }
}
