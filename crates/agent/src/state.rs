//! The state database as the async agent uses it: one `Store` behind a mutex,
//! every call on tokio's blocking pool so no SQLite IO stalls the runtime.

use crate::AgentError;
use state_store::{Options, Store, StoreError};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A shared handle on the (single-writer) state database.
#[derive(Clone)]
pub struct StateDb {
    inner: Arc<Mutex<Store>>,
}

impl std::fmt::Debug for StateDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateDb")
    }
}

pub(crate) fn store_err(e: StoreError) -> AgentError {
    match e {
        StoreError::Locked { .. } => AgentError::StateLocked(e.to_string()),
        e => AgentError::State(e.to_string()),
    }
}

impl StateDb {
    /// Open (creating) the database for writing; fails if another agent holds it.
    pub async fn open(path: &Path) -> Result<StateDb, AgentError> {
        let path = path.to_path_buf();
        let store = tokio::task::spawn_blocking(move || Store::open(&path, Options::default()))
            .await
            .map_err(|e| AgentError::Other(format!("state database task failed: {e}")))?
            .map_err(store_err)?;
        Ok(StateDb::from_store(store))
    }

    /// Open an existing database read-only (for `status`, `explain`, `plan`);
    /// `Ok(None)` when there is none yet.
    pub async fn open_read_only(path: &Path) -> Result<Option<StateDb>, AgentError> {
        if !path.exists() {
            return Ok(None);
        }
        let path = path.to_path_buf();
        let store = tokio::task::spawn_blocking(move || Store::open_read_only(&path))
            .await
            .map_err(|e| AgentError::Other(format!("state database task failed: {e}")))?
            .map_err(store_err)?;
        Ok(Some(StateDb::from_store(store)))
    }

    /// Wrap an already open store (tests use an in-memory one).
    pub fn from_store(store: Store) -> StateDb {
        StateDb {
            inner: Arc::new(Mutex::new(store)),
        }
    }

    /// Run `f` on the store on the blocking pool.
    pub async fn call<R, F>(&self, f: F) -> Result<R, AgentError>
    where
        F: FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut store = inner.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut store)
        })
        .await
        .map_err(|e| AgentError::Other(format!("state database task failed: {e}")))?
        .map_err(store_err)
    }
}
