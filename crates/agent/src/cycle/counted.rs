//! A `Target` wrapper that counts calls and moves the progress bar.

use indicatif::ProgressBar;
use reconcile_engine::{AttrChange, Found, Kind, TResult, Target};
use std::sync::atomic::{AtomicU64, Ordering};

/// A `Target` that counts calls and moves a progress bar.
pub(crate) struct Counted<T> {
    inner: T,
    pub(crate) calls: AtomicU64,
    bar: Option<ProgressBar>,
}

impl<T> Counted<T> {
    pub(crate) fn new(inner: T, bar: Option<ProgressBar>) -> Self {
        Counted {
            inner,
            calls: AtomicU64::new(0),
            bar,
        }
    }
    fn tick(&self, done: bool) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if done && let Some(b) = &self.bar {
            b.inc(1);
        }
    }
}

impl<T: Target + Send> Target for Counted<T> {
    async fn create(
        &self,
        kind: Kind,
        key: &str,
        attrs: &[AttrChange],
        enabled: bool,
    ) -> TResult<String> {
        self.tick(true);
        self.inner.create(kind, key, attrs, enabled).await
    }
    async fn update(&self, kind: Kind, id: &str, changes: &[AttrChange]) -> TResult<()> {
        self.tick(true);
        self.inner.update(kind, id, changes).await
    }
    async fn rename(&self, kind: Kind, id: &str, new_key: &str) -> TResult<()> {
        self.tick(true);
        self.inner.rename(kind, id, new_key).await
    }
    async fn set_enabled(&self, kind: Kind, id: &str, enabled: bool) -> TResult<()> {
        self.tick(true);
        self.inner.set_enabled(kind, id, enabled).await
    }
    async fn delete(&self, kind: Kind, id: &str) -> TResult<()> {
        self.tick(true);
        self.inner.delete(kind, id).await
    }
    async fn enroll(&self, kind: Kind, key: &str, email: &str, valid_secs: u64) -> TResult<()> {
        self.tick(true);
        self.inner.enroll(kind, key, email, valid_secs).await
    }
    async fn add_member(&self, g: &str, k: Kind, m: &str) -> TResult<()> {
        self.tick(true);
        self.inner.add_member(g, k, m).await
    }
    async fn remove_member(&self, g: &str, k: Kind, m: &str) -> TResult<()> {
        self.tick(true);
        self.inner.remove_member(g, k, m).await
    }
    async fn find_phone(&self, n: &str) -> TResult<Option<String>> {
        self.tick(false);
        self.inner.find_phone(n).await
    }
    async fn create_phone(&self, n: &str) -> TResult<String> {
        self.tick(false);
        self.inner.create_phone(n).await
    }
    async fn attach_phone(&self, k: Kind, a: &str, p: &str) -> TResult<()> {
        self.tick(true);
        self.inner.attach_phone(k, a, p).await
    }
    async fn detach_phone(&self, k: Kind, a: &str, p: &str) -> TResult<()> {
        self.tick(true);
        self.inner.detach_phone(k, a, p).await
    }
    async fn delete_phone(&self, p: &str) -> TResult<()> {
        self.tick(false);
        self.inner.delete_phone(p).await
    }
    async fn find_by_key(&self, k: Kind, key: &str) -> TResult<Option<Found>> {
        self.tick(false);
        self.inner.find_by_key(k, key).await
    }
}
