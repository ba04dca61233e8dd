//! Duo's bulk endpoints under the engine's one-call-per-object `Target`: concurrent user
//! creates are gathered into `users/bulk_create` calls, user modifies, deletes and group
//! memberships into `/admin/v1/bulk` calls, user lookups into `username_list` reads. The
//! engine still journals every object as its own intent and gets its own outcome; only the
//! wire is shared.
//!
//! A batch forms while its call waits for its place under the rate limit (plus a short
//! linger), so it fills exactly when Duo's limit is what holds the writes back. Batch sizes
//! start at `[duo] bulk` (100 users, 50 operations) and halve on a refusal for size; a 404
//! (Duo without the endpoints) turns bulk off for the rest of the run, said once in the log.
//! A failed batch is retried as single calls, so one bad record never fails its neighbours; a
//! batch whose outcome is unknown is resolved per object by username, like a single create.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use duo_client::{
    BulkOperation, DuoClient, DuoError, EndpointClass, ErrorClass as DuoClass, LOOKUP_MAX, NewUser,
    Slot, User,
};
use futures::future::{BoxFuture, FutureExt as _, join_all};
use reconcile_engine::{ErrorClass, Found, TargetError};
use tokio::sync::{mpsc, oneshot};

use crate::config::DuoBulk;
use crate::error::VendorError as _;

/// Once a batch has its place and is not full, it waits for more objects while they keep
/// coming (each journaled first, so they trickle in): until a gap this long...
const LINGER_GAP: Duration = Duration::from_millis(10);
/// ...or this long in all.
const LINGER_MAX: Duration = Duration::from_millis(100);

/// What bulk may do for the rest of this run: shared by every cycle of one agent.
#[derive(Debug)]
pub struct BulkState {
    enabled: bool,
    users: AtomicUsize,
    operations: AtomicUsize,
    unavailable: AtomicBool,
}

#[derive(Clone, Copy, Debug)]
enum Size {
    Users,
    Operations,
}

impl BulkState {
    /// From `[duo] bulk` (`None`: off).
    pub fn new(config: Option<DuoBulk>) -> Self {
        let b = config.unwrap_or_default();
        BulkState {
            enabled: config.is_some(),
            users: AtomicUsize::new(b.users.max(1)),
            operations: AtomicUsize::new(b.operations.max(1)),
            unavailable: AtomicBool::new(false),
        }
    }

    /// Whether `[duo] bulk` is on (batchers run; they fall back to single calls themselves).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether writes go through the bulk endpoints now.
    pub fn active(&self) -> bool {
        self.enabled && !self.unavailable.load(Ordering::Relaxed)
    }

    /// Ops in flight a cycle needs so that batches can fill: two full user batches (one
    /// sending, one forming), at least the configured concurrency.
    pub fn concurrency(&self, configured: usize) -> usize {
        if self.active() {
            configured.max(2 * self.size(Size::Users))
        } else {
            configured
        }
    }

    fn size(&self, s: Size) -> usize {
        match s {
            Size::Users => self.users.load(Ordering::Relaxed),
            Size::Operations => self.operations.load(Ordering::Relaxed),
        }
    }

    /// A batch of `refused` was refused for its size: later batches take half of it.
    fn halve(&self, s: Size, refused: usize) -> usize {
        let half = (refused / 2).max(1);
        let slot = match s {
            Size::Users => &self.users,
            Size::Operations => &self.operations,
        };
        let before = slot.fetch_min(half, Ordering::Relaxed);
        if before > half {
            tracing::info!(
                batch = ?s,
                refused,
                now = half,
                "Duo refused a bulk call for its size; smaller batches from now on"
            );
        }
        half
    }

    fn mark_unavailable(&self, call: &str) {
        if !self.unavailable.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                call,
                "Duo does not know its bulk endpoints (404): single calls for the rest of this run"
            );
        }
    }
}

/// A failure as the engine wants it, and whether it was Duo's 404 (a delete of something
/// gone is a success).
#[derive(Debug)]
pub struct Failed {
    pub error: TargetError,
    pub not_found: bool,
}

impl Failed {
    pub(crate) fn of(e: &DuoError) -> Self {
        Failed {
            error: TargetError {
                class: e.engine_class(),
                message: e.to_string(),
            },
            not_found: e.is_not_found(),
        }
    }
}

type Reply<T> = oneshot::Sender<Result<T, Failed>>;
type Queue<R, T> = mpsc::UnboundedSender<(R, Reply<T>)>;

#[derive(Clone)]
struct Ctx {
    duo: DuoClient,
    state: Arc<BulkState>,
}

/// One cycle's batchers (their tasks end when this is dropped).
pub struct Batches {
    creates: Queue<NewUser, String>,
    operations: Queue<BulkOperation, Option<User>>,
    lookups: Queue<String, Option<Found>>,
}

fn closed() -> Failed {
    Failed {
        error: TargetError {
            class: ErrorClass::Transient,
            message: "the Duo batcher stopped before answering".into(),
        },
        not_found: false,
    }
}

async fn ask<R, T>(q: &Queue<R, T>, r: R) -> Result<T, Failed> {
    let (tx, rx) = oneshot::channel();
    if q.send((r, tx)).is_err() {
        return Err(closed());
    }
    rx.await.unwrap_or_else(|_| Err(closed()))
}

impl Batches {
    /// Starts the batchers of one cycle.
    pub fn start(duo: DuoClient, state: Arc<BulkState>) -> Self {
        let ctx = Ctx { duo, state };
        Batches {
            creates: dispatcher(
                ctx.clone(),
                Some(EndpointClass::Bulk),
                |s| s.size(Size::Users),
                |c, b, s| send_creates(c, b, s).boxed(),
            ),
            operations: dispatcher(
                ctx.clone(),
                Some(EndpointClass::Bulk),
                |s| s.size(Size::Operations),
                |c, b, s| send_operations(c, b, s).boxed(),
            ),
            lookups: dispatcher(
                ctx,
                None,
                |_| LOOKUP_MAX,
                |c, b, _| send_lookups(c, b).boxed(),
            ),
        }
    }

    /// Creates a user in the next `bulk_create`; its id.
    pub async fn create(&self, user: NewUser) -> Result<String, Failed> {
        ask(&self.creates, user).await
    }

    /// Runs one operation in the next `/admin/v1/bulk`; the user for a modify.
    pub async fn operation(&self, op: BulkOperation) -> Result<Option<User>, Failed> {
        ask(&self.operations, op).await
    }

    /// Looks a username (or alias) up in the next `username_list` read.
    pub async fn lookup(&self, username: &str) -> Result<Option<Found>, Failed> {
        ask(&self.lookups, username.to_owned()).await
    }
}

type Send<R, T> = fn(Ctx, Vec<(R, Reply<T>)>, Option<Slot>) -> BoxFuture<'static, ()>;

/// One batcher: gathers requests while the batch's call waits for its place under the rate
/// limit (`class`; `None`: it paces itself) and a short linger, then sends them together.
fn dispatcher<R: std::marker::Send + 'static, T: std::marker::Send + 'static>(
    ctx: Ctx,
    class: Option<EndpointClass>,
    size: fn(&BulkState) -> usize,
    send: Send<R, T>,
) -> Queue<R, T> {
    let (tx, mut rx) = mpsc::unbounded_channel::<(R, Reply<T>)>();
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            let slot = match class {
                Some(c) if ctx.state.active() => Some(ctx.duo.reserve(c).await),
                _ => None,
            };
            let max = size(&ctx.state).max(1);
            let fill = |rx: &mut mpsc::UnboundedReceiver<_>, batch: &mut Vec<_>| {
                while batch.len() < max {
                    match rx.try_recv() {
                        Ok(r) => batch.push(r),
                        Err(_) => break,
                    }
                }
            };
            fill(&mut rx, &mut batch);
            let until = tokio::time::Instant::now() + LINGER_MAX;
            while batch.len() < max && tokio::time::Instant::now() < until {
                let before = batch.len();
                tokio::time::sleep(LINGER_GAP).await;
                fill(&mut rx, &mut batch);
                if batch.len() == before {
                    break;
                }
            }
            tokio::spawn(send(ctx.clone(), batch, slot));
        }
    });
    tx
}

/// Splits a refused batch in chunks of `size`.
fn chunks<X>(mut batch: Vec<X>, size: usize) -> Vec<Vec<X>> {
    let mut out = Vec::new();
    while batch.len() > size {
        let rest = batch.split_off(size);
        out.push(batch);
        batch = rest;
    }
    out.push(batch);
    out
}

fn send_creates(
    ctx: Ctx,
    batch: Vec<(NewUser, Reply<String>)>,
    slot: Option<Slot>,
) -> BoxFuture<'static, ()> {
    async move {
        if !ctx.state.active() {
            return single_creates(ctx, batch).await;
        }
        let users: Vec<NewUser> = batch.iter().map(|(u, _)| u.clone()).collect();
        match ctx.duo.bulk_create_users(&users, slot).await {
            Ok(created) => {
                let mut ids: HashMap<String, String> = created
                    .into_iter()
                    .map(|u| (u.username.to_lowercase(), u.user_id))
                    .collect();
                let mut left = Vec::new();
                for (u, reply) in batch {
                    match ids.remove(&u.username.to_lowercase()) {
                        Some(id) => {
                            let _ = reply.send(Ok(id));
                        }
                        // A partial Duo left it out: it gets its own call and its own answer.
                        None => left.push((u, reply)),
                    }
                }
                single_creates(ctx, left).await;
            }
            Err(e) if e.is_not_found() => {
                ctx.state
                    .mark_unavailable("POST /admin/v1/users/bulk_create");
                single_creates(ctx, batch).await;
            }
            Err(e) if e.refused_for_size("users") && batch.len() > 1 => {
                let half = ctx.state.halve(Size::Users, batch.len());
                let parts = chunks(batch, half);
                join_all(
                    parts
                        .into_iter()
                        .map(|p| send_creates(ctx.clone(), p, None)),
                )
                .await;
            }
            Err(e) if e.class() == DuoClass::OutcomeUnknown => {
                resolve_creates(ctx, batch, &e).await;
            }
            Err(e) if e.class() == DuoClass::Transient => {
                for (_, reply) in batch {
                    let _ = reply.send(Err(Failed::of(&e)));
                }
            }
            // All or nothing refused for one bad record: each on its own.
            Err(_) => single_creates(ctx, batch).await,
        }
    }
    .boxed()
}

async fn single_creates(ctx: Ctx, batch: Vec<(NewUser, Reply<String>)>) {
    join_all(batch.into_iter().map(|(u, reply)| {
        let duo = ctx.duo.clone();
        async move {
            let r = duo
                .create_user(&u)
                .await
                .map(|c| c.user_id)
                .map_err(|e| Failed::of(&e));
            let _ = reply.send(r);
        }
    }))
    .await;
}

/// A `bulk_create` that may or may not have been applied: each user is looked up by name
/// (one `username_list` read per 100). Found: created. Not found: its outcome stays unknown
/// and the next run looks it up again, exactly as after a single create (the call might
/// still land, so creating it again now could race it).
async fn resolve_creates(ctx: Ctx, batch: Vec<(NewUser, Reply<String>)>, e: &DuoError) {
    for part in chunks(batch, LOOKUP_MAX) {
        let names: Vec<&str> = part.iter().map(|(u, _)| u.username.as_str()).collect();
        let found = ctx.duo.get_users_by_usernames(&names).await;
        let ids: HashMap<String, String> = match &found {
            Ok(users) => users
                .iter()
                .map(|u| (u.username.to_lowercase(), u.user_id.clone()))
                .collect(),
            Err(_) => HashMap::new(),
        };
        for (u, reply) in part {
            let r = match ids.get(&u.username.to_lowercase()) {
                Some(id) => Ok(id.clone()),
                None => Err(Failed {
                    error: TargetError {
                        class: ErrorClass::OutcomeUnknown,
                        message: match &found {
                            Ok(_) => format!("{e}; not found by username just after"),
                            Err(l) => format!("{e}; the lookup after it failed too: {l}"),
                        },
                    },
                    not_found: false,
                }),
            };
            let _ = reply.send(r);
        }
    }
}

fn send_operations(
    ctx: Ctx,
    batch: Vec<(BulkOperation, Reply<Option<User>>)>,
    slot: Option<Slot>,
) -> BoxFuture<'static, ()> {
    async move {
        if !ctx.state.active() {
            return single_operations(ctx, batch).await;
        }
        let ops: Vec<BulkOperation> = batch.iter().map(|(o, _)| o.clone()).collect();
        match ctx.duo.bulk_operations(&ops, slot).await {
            Ok(items) => {
                let mut again = Vec::new();
                for ((op, reply), item) in batch.into_iter().zip(items) {
                    match item {
                        // 5xx or 429 on one operation: its own call decides (a group
                        // membership's 500 is counted there before it is called a limit).
                        Err(e) if e.is_transient() => again.push((op, reply)),
                        r => {
                            let _ = reply.send(r.map_err(|e| Failed::of(&e)));
                        }
                    }
                }
                single_operations(ctx, again).await;
            }
            Err(e) if e.is_not_found() => {
                ctx.state.mark_unavailable("POST /admin/v1/bulk");
                single_operations(ctx, batch).await;
            }
            Err(e) if e.refused_for_size("operations") && batch.len() > 1 => {
                let half = ctx.state.halve(Size::Operations, batch.len());
                let parts = chunks(batch, half);
                join_all(
                    parts
                        .into_iter()
                        .map(|p| send_operations(ctx.clone(), p, None)),
                )
                .await;
            }
            Err(e) if e.is_transient() => {
                for (_, reply) in batch {
                    let _ = reply.send(Err(Failed::of(&e)));
                }
            }
            Err(_) => single_operations(ctx, batch).await,
        }
    }
    .boxed()
}

async fn single_operations(ctx: Ctx, batch: Vec<(BulkOperation, Reply<Option<User>>)>) {
    join_all(batch.into_iter().map(|(op, reply)| {
        let duo = ctx.duo.clone();
        async move {
            let _ = reply.send(single_operation(&duo, &op).await);
        }
    }))
    .await;
}

/// One operation as its own call (the user for a create or modify).
pub(crate) async fn single_operation(
    duo: &DuoClient,
    op: &BulkOperation,
) -> Result<Option<User>, Failed> {
    let r = match op {
        BulkOperation::CreateUser(u) => duo.create_user(u).await.map(Some),
        BulkOperation::ModifyUser { user_id, update } => {
            duo.modify_user(user_id, update).await.map(Some)
        }
        BulkOperation::DeleteUser { user_id } => duo.delete_user(user_id).await.map(|()| None),
        BulkOperation::AddUserToGroup { user_id, group_id } => duo
            .add_user_to_group(user_id, group_id)
            .await
            .map(|()| None),
        BulkOperation::RemoveUserFromGroup { user_id, group_id } => duo
            .remove_user_from_group(user_id, group_id)
            .await
            .map(|()| None),
    };
    r.map_err(|e| Failed::of(&e))
}

/// The user a lookup of `name` means, as `?username=` would answer: the username, exact or
/// ignoring case, else an alias.
fn pick<'a>(users: &'a [User], name: &str) -> Option<&'a User> {
    users
        .iter()
        .find(|u| u.username == name)
        .or_else(|| users.iter().find(|u| u.username.eq_ignore_ascii_case(name)))
        .or_else(|| {
            users.iter().find(|u| {
                u.alias_list()
                    .iter()
                    .any(|a| a == name || a.to_lowercase() == name.to_lowercase())
            })
        })
}

fn send_lookups(ctx: Ctx, batch: Vec<(String, Reply<Option<Found>>)>) -> BoxFuture<'static, ()> {
    async move {
        if !ctx.state.enabled {
            return single_lookups(ctx, batch).await;
        }
        let names: Vec<&str> = batch.iter().map(|(n, _)| n.as_str()).collect();
        match ctx.duo.get_users_by_usernames(&names).await {
            Ok(users) => {
                for (name, reply) in batch {
                    let found = pick(&users, &name).map(|u| Found {
                        target_id: u.user_id.clone(),
                        key: u.username.clone(),
                    });
                    let _ = reply.send(Ok(found));
                }
            }
            Err(e) if e.class() == DuoClass::Permanent => single_lookups(ctx, batch).await,
            Err(e) => {
                for (_, reply) in batch {
                    let _ = reply.send(Err(Failed::of(&e)));
                }
            }
        }
    }
    .boxed()
}

async fn single_lookups(ctx: Ctx, batch: Vec<(String, Reply<Option<Found>>)>) {
    join_all(batch.into_iter().map(|(name, reply)| {
        let duo = ctx.duo.clone();
        async move {
            let r = duo
                .get_user_by_username(&name)
                .await
                .map(|u| {
                    u.map(|u| Found {
                        target_id: u.user_id,
                        key: u.username,
                    })
                })
                .map_err(|e| Failed::of(&e));
            let _ = reply.send(r);
        }
    }))
    .await;
}

/// Phones by number, read once per cycle when that costs fewer reads than looking each
/// number up (`GET /admin/v1/phones?number=`): the first page says how many pages there are.
pub struct PhoneIndex {
    /// Numbers the plan will look up.
    lookups: usize,
    phones: tokio::sync::OnceCell<Option<std::sync::Mutex<HashMap<String, String>>>>,
}

/// Digits only: `+1 (734) 555-1212` and `17345551212` are the same number.
fn number_key(n: &str) -> String {
    n.chars().filter(char::is_ascii_digit).collect()
}

impl PhoneIndex {
    /// For a plan that looks up `lookups` numbers.
    pub fn new(lookups: usize) -> Self {
        PhoneIndex {
            lookups,
            phones: tokio::sync::OnceCell::new(),
        }
    }

    async fn load(&self, duo: &DuoClient) -> Option<std::sync::Mutex<HashMap<String, String>>> {
        use futures::TryStreamExt as _;
        let mut pages = duo.phone_pages();
        let mut map = HashMap::new();
        let mut first = true;
        loop {
            let page = match pages.try_next().await {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(error = %e, "reading Duo's phones failed; looking numbers up one by one");
                    return None;
                }
            };
            if first {
                first = false;
                let per = page.items.len().max(1) as u64;
                let pages_needed = page.total_objects.unwrap_or(0).div_ceil(per);
                if pages_needed > self.lookups as u64 {
                    return None;
                }
            }
            for ph in page.items {
                let ext = ph.extension.as_deref().unwrap_or_default();
                if let Some(n) = ph
                    .number
                    .as_deref()
                    .filter(|n| !n.is_empty() && ext.is_empty())
                {
                    map.insert(number_key(n), ph.phone_id);
                }
            }
        }
        Some(std::sync::Mutex::new(map))
    }

    /// `Some(answer)` from the index, `None` when the index is not used (look it up).
    pub async fn find(&self, duo: &DuoClient, number: &str) -> Option<Option<String>> {
        if self.lookups < 2 {
            return None;
        }
        let idx = self.phones.get_or_init(|| self.load(duo)).await.as_ref()?;
        let map = idx.lock().ok()?;
        Some(map.get(&number_key(number)).cloned())
    }

    /// A phone this cycle created.
    pub fn created(&self, number: &str, phone_id: &str) {
        if let Some(Some(idx)) = self.phones.get()
            && let Ok(mut map) = idx.lock()
        {
            map.insert(number_key(number), phone_id.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_keeps_the_smallest_size_and_never_zero() {
        let s = BulkState::new(Some(DuoBulk::default()));
        assert_eq!(s.halve(Size::Users, 100), 50);
        assert_eq!(
            s.halve(Size::Users, 100),
            50,
            "a late refusal of a big batch"
        );
        assert_eq!(s.size(Size::Users), 50);
        assert_eq!(s.halve(Size::Users, 1), 1);
        assert_eq!(s.size(Size::Users), 1);
        assert_eq!(s.size(Size::Operations), 50);
    }

    #[test]
    fn concurrency_lets_two_user_batches_fill_only_when_bulk_is_on() {
        assert_eq!(BulkState::new(Some(DuoBulk::default())).concurrency(8), 200);
        assert_eq!(
            BulkState::new(Some(DuoBulk::default())).concurrency(256),
            256
        );
        assert_eq!(BulkState::new(None).concurrency(8), 8);
    }

    #[test]
    fn chunks_split_in_order() {
        assert_eq!(
            chunks(vec![1, 2, 3, 4, 5], 2),
            vec![vec![1, 2], vec![3, 4], vec![5]]
        );
        assert_eq!(chunks(vec![1], 2), vec![vec![1]]);
    }

    #[test]
    fn numbers_compare_by_digits() {
        assert_eq!(number_key("+1 (734) 555-1212"), number_key("17345551212"));
    }
}
