//! Test support: an in-memory `Target` (with injected faults and crashes),
//! an in-memory `Journal`, and owned models that build the engine's inputs.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

use reconcile_engine::*;

pub const ATTRS: [(&str, EmptyPolicy, WritePolicy); 3] = [
    ("email", EmptyPolicy::Keep, WritePolicy::Always),
    ("title", EmptyPolicy::Clear, WritePolicy::Always),
    ("dept", EmptyPolicy::Keep, WritePolicy::OnCreate),
];

pub fn schema() -> Schema {
    let mut s = Schema::new();
    for (n, e, w) in ATTRS {
        s.define(n, e, w);
    }
    s
}

/// An owned desired object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DObj {
    pub kind: Kind,
    pub sid: String,
    pub key: String,
    /// One entry per schema attribute, in schema order.
    pub attrs: Vec<Option<Value>>,
    pub enabled: bool,
    pub phone: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DModel {
    pub objs: Vec<DObj>,
    /// (group sid, member sid)
    pub members: Vec<(String, String)>,
    /// Source objects that could not be mapped.
    pub failures: Vec<Failure>,
}

pub fn fingerprint(attrs: &[Option<Value>]) -> u64 {
    let mut h = DefaultHasher::new();
    attrs.hash(&mut h);
    h.finish()
}

impl DModel {
    pub fn build(&self) -> DesiredSet {
        let mut d = DesiredSet::new();
        for o in &self.objs {
            let attrs: Vec<(AttrId, Option<ValueRef<'_>>)> = o
                .attrs
                .iter()
                .enumerate()
                .map(|(i, v)| (AttrId(i as u16), v.as_ref().map(Value::as_ref)))
                .collect();
            d.push(NewDesired {
                kind: o.kind,
                source_id: &o.sid,
                key: &o.key,
                attrs: &attrs,
                enabled: o.enabled,
                phone: o.phone.as_deref(),
                fingerprint: fingerprint(&o.attrs),
            })
            .unwrap();
        }
        for (g, m) in &self.members {
            d.push_membership(g, m).unwrap();
        }
        for f in &self.failures {
            d.push_failure(f.clone());
        }
        d
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemObj {
    pub kind: Kind,
    pub key: String,
    pub attrs: BTreeMap<String, Value>,
    pub enabled: bool,
    pub phones: BTreeSet<String>,
    pub groups: BTreeSet<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct World {
    pub objs: BTreeMap<String, MemObj>,
    /// phone id -> (number, activated)
    pub phones: BTreeMap<String, (String, bool)>,
    pub next: u64,
    /// Ids issued by `create` during the test.
    pub created: Vec<(Kind, String)>,
    pub created_phones: Vec<String>,
    pub writes: u64,
    /// Objects the rule must keep its hands off: id -> (guard, reason).
    pub guards: BTreeMap<String, (Guard, String)>,
}

impl World {
    pub fn fresh_id(&mut self, p: &str) -> String {
        self.next += 1;
        format!("{p}{:04}", self.next)
    }

    pub fn observed(&self, with_fp: bool) -> ObservedSet {
        let mut o = ObservedSet::new();
        for (id, m) in &self.objs {
            let vals: Vec<Option<Value>> = ATTRS
                .iter()
                .map(|(n, ..)| m.attrs.get(*n).cloned())
                .collect();
            let attrs: Vec<(AttrId, Option<ValueRef<'_>>)> = vals
                .iter()
                .enumerate()
                .map(|(i, v)| (AttrId(i as u16), v.as_ref().map(Value::as_ref)))
                .collect();
            let phones: Vec<PhoneRef<'_>> = m
                .phones
                .iter()
                .filter_map(|p| {
                    self.phones.get(p).map(|(n, a)| PhoneRef {
                        id: p,
                        number: n,
                        activated: *a,
                    })
                })
                .collect();
            let groups: Vec<&str> = m.groups.iter().map(String::as_str).collect();
            o.push(NewObserved {
                kind: m.kind,
                target_id: id,
                key: &m.key,
                attrs: &attrs,
                enabled: m.enabled,
                phones: &phones,
                groups: &groups,
                fingerprint: with_fp.then(|| fingerprint(&vals)),
            })
            .unwrap();
            if let Some((g, why)) = self.guards.get(id) {
                o.guard_last(*g, why).unwrap();
            }
        }
        o
    }
}

/// What the next mutating call does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Ok,
    /// Refused before applying.
    Transient,
    /// Applied, then the answer is lost.
    Unknown,
    /// Applied, then the process "dies" (the call never returns).
    Crash,
}

#[derive(Default)]
pub struct MemTarget {
    pub world: Mutex<World>,
    pub faults: Mutex<Vec<Fault>>,
    /// Yield inside every write (needs a tokio runtime), to overlap calls.
    pub yield_in_calls: std::sync::atomic::AtomicBool,
    pub in_flight: std::sync::atomic::AtomicUsize,
    pub calls: std::sync::atomic::AtomicU64,
    pub max_in_flight: std::sync::atomic::AtomicUsize,
    /// Cancel this token when the n-th write starts.
    pub cancel_at: Mutex<Option<(u64, tokio_util::sync::CancellationToken)>>,
    /// The n-th write takes this long (tokio's clock).
    pub slow_write: Mutex<Option<(u64, std::time::Duration)>>,
    /// Called with the key of every create before it is applied.
    #[allow(clippy::type_complexity)]
    pub on_create: Mutex<Option<Box<dyn Fn(&str) + Send + Sync>>>,
}

fn ci(a: &str, b: &str) -> bool {
    key_eq(a, b, KeyCompare::CaseInsensitive)
}

impl MemTarget {
    pub fn new(world: World) -> Self {
        MemTarget {
            world: Mutex::new(world),
            ..MemTarget::default()
        }
    }
    pub fn snapshot(&self) -> World {
        self.world.lock().unwrap().clone()
    }
    fn next_fault(&self) -> Fault {
        let mut f = self.faults.lock().unwrap();
        if f.is_empty() { Fault::Ok } else { f.remove(0) }
    }
    async fn apply<R>(&self, f: impl FnOnce(&mut World) -> TResult<R>) -> TResult<R> {
        use std::sync::atomic::Ordering::SeqCst;
        let fault = self.next_fault();
        let n = self.calls.fetch_add(1, SeqCst) + 1;
        if let Some((at, tok)) = &*self.cancel_at.lock().unwrap()
            && *at == n
        {
            tok.cancel();
        }
        let slow = match &*self.slow_write.lock().unwrap() {
            Some((at, d)) if *at == n => Some(*d),
            _ => None,
        };
        if let Some(d) = slow {
            tokio::time::sleep(d).await;
        }
        if self.yield_in_calls.load(SeqCst) {
            let now = self.in_flight.fetch_add(1, SeqCst) + 1;
            self.max_in_flight.fetch_max(now, SeqCst);
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
            self.in_flight.fetch_sub(1, SeqCst);
        }
        if fault == Fault::Transient {
            return Err(TargetError {
                class: ErrorClass::Transient,
                message: "429 too many requests".into(),
            });
        }
        let r = {
            let mut w = self.world.lock().unwrap();
            w.writes += 1;
            f(&mut w)
        };
        match fault {
            Fault::Unknown => Err(TargetError {
                class: ErrorClass::OutcomeUnknown,
                message: "timeout after send".into(),
            }),
            Fault::Crash => std::future::pending().await,
            _ => r,
        }
    }
}

fn missing(id: &str) -> TargetError {
    TargetError {
        class: ErrorClass::Permanent,
        message: format!("object {id} not found"),
    }
}

impl Target for MemTarget {
    async fn create(
        &self,
        kind: Kind,
        key: &str,
        attrs: &[AttrChange],
        enabled: bool,
    ) -> TResult<String> {
        if let Some(f) = &*self.on_create.lock().unwrap() {
            f(key);
        }
        self.apply(|w| {
            let id = w.fresh_id("t");
            let attrs = attrs
                .iter()
                .filter_map(|a| a.after.clone().map(|v| (a.attr.clone(), v)))
                .collect();
            w.objs.insert(
                id.clone(),
                MemObj {
                    kind,
                    key: key.to_owned(),
                    attrs,
                    enabled,
                    phones: BTreeSet::new(),
                    groups: BTreeSet::new(),
                },
            );
            w.created.push((kind, id.clone()));
            Ok(id)
        })
        .await
    }
    async fn update(&self, _kind: Kind, id: &str, changes: &[AttrChange]) -> TResult<()> {
        self.apply(|w| {
            let o = w.objs.get_mut(id).ok_or_else(|| missing(id))?;
            for c in changes {
                match &c.after {
                    Some(v) => o.attrs.insert(c.attr.clone(), v.clone()),
                    None => o.attrs.remove(&c.attr),
                };
            }
            Ok(())
        })
        .await
    }
    async fn rename(&self, _kind: Kind, id: &str, new_key: &str) -> TResult<()> {
        self.apply(|w| {
            w.objs.get_mut(id).ok_or_else(|| missing(id))?.key = new_key.to_owned();
            Ok(())
        })
        .await
    }
    async fn set_enabled(&self, _kind: Kind, id: &str, enabled: bool) -> TResult<()> {
        self.apply(|w| {
            w.objs.get_mut(id).ok_or_else(|| missing(id))?.enabled = enabled;
            Ok(())
        })
        .await
    }
    async fn delete(&self, _kind: Kind, id: &str) -> TResult<()> {
        self.apply(|w| {
            if w.objs.remove(id).is_some() {
                for o in w.objs.values_mut() {
                    o.groups.remove(id);
                }
            }
            Ok(())
        })
        .await
    }
    async fn add_member(&self, group_id: &str, _k: Kind, member_id: &str) -> TResult<()> {
        self.apply(|w| {
            if !w.objs.contains_key(group_id) {
                return Err(missing(group_id));
            }
            w.objs
                .get_mut(member_id)
                .ok_or_else(|| missing(member_id))?
                .groups
                .insert(group_id.to_owned());
            Ok(())
        })
        .await
    }
    async fn remove_member(&self, group_id: &str, _k: Kind, member_id: &str) -> TResult<()> {
        self.apply(|w| {
            w.objs
                .get_mut(member_id)
                .ok_or_else(|| missing(member_id))?
                .groups
                .remove(group_id);
            Ok(())
        })
        .await
    }
    async fn find_phone(&self, number: &str) -> TResult<Option<String>> {
        let w = self.world.lock().unwrap();
        Ok(w.phones
            .iter()
            .find(|(_, (n, _))| n == number)
            .map(|(id, _)| id.clone()))
    }
    async fn create_phone(&self, number: &str) -> TResult<String> {
        self.apply(|w| {
            let id = w.fresh_id("p");
            w.phones.insert(id.clone(), (number.to_owned(), false));
            w.created_phones.push(id.clone());
            Ok(id)
        })
        .await
    }
    async fn attach_phone(&self, _k: Kind, account_id: &str, phone_id: &str) -> TResult<()> {
        self.apply(|w| {
            if !w.phones.contains_key(phone_id) {
                return Err(missing(phone_id));
            }
            w.objs
                .get_mut(account_id)
                .ok_or_else(|| missing(account_id))?
                .phones
                .insert(phone_id.to_owned());
            Ok(())
        })
        .await
    }
    async fn detach_phone(&self, _k: Kind, account_id: &str, phone_id: &str) -> TResult<()> {
        self.apply(|w| {
            w.objs
                .get_mut(account_id)
                .ok_or_else(|| missing(account_id))?
                .phones
                .remove(phone_id);
            Ok(())
        })
        .await
    }
    async fn delete_phone(&self, phone_id: &str) -> TResult<()> {
        self.apply(|w| {
            w.phones.remove(phone_id);
            for o in w.objs.values_mut() {
                o.phones.remove(phone_id);
            }
            Ok(())
        })
        .await
    }
    async fn find_by_key(&self, kind: Kind, key: &str) -> TResult<Option<Found>> {
        let w = self.world.lock().unwrap();
        Ok(w.objs
            .iter()
            .find(|(_, o)| o.kind == kind && ci(&o.key, key))
            .map(|(id, o)| Found {
                target_id: id.clone(),
                key: o.key.clone(),
            }))
    }
}

/// (kind, source id, key, action verb, outcome)
pub type Intent = (Kind, Option<String>, String, &'static str, Option<Outcome>);

#[derive(Default, Debug)]
pub struct JState {
    pub links: BTreeMap<(Kind, String), Link>,
    /// intent id -> (kind, source id, key, action verb, outcome)
    pub intents: BTreeMap<u64, Intent>,
    pub statuses: Vec<ObjectStatus>,
    /// Durable writes made.
    pub commits: usize,
}

#[derive(Default)]
pub struct MemJournal {
    pub s: Mutex<JState>,
}

impl MemJournal {
    pub fn links(&self) -> LinkSet {
        let s = self.s.lock().unwrap();
        let mut l = LinkSet::new();
        for k in s.links.values() {
            l.push_origin(
                k.kind,
                &k.source_id,
                &k.target_id,
                k.fingerprint,
                k.adopted == Some(true),
            )
            .unwrap();
        }
        l
    }
    /// Creates whose outcome is unknown and that are still unlinked.
    pub fn pending(&self) -> Vec<PendingIntent> {
        let s = self.s.lock().unwrap();
        let mut out: Vec<PendingIntent> = s
            .intents
            .values()
            .filter(|(_, _, _, verb, o)| {
                *verb == "create"
                    && matches!(
                        o,
                        None | Some(Outcome::Failed {
                            class: ErrorClass::OutcomeUnknown,
                            ..
                        })
                    )
            })
            .filter_map(|(k, src, key, ..)| {
                let src = src.clone()?;
                (!s.links.contains_key(&(*k, src.clone()))).then(|| PendingIntent {
                    kind: *k,
                    source_id: src,
                    key: key.clone(),
                })
            })
            .collect();
        out.sort_by(|a, b| (a.kind, &a.source_id).cmp(&(b.kind, &b.source_id)));
        out.dedup();
        out
    }
}

impl Journal for MemJournal {
    async fn commit(&self, _rule: &str, batch: &Commit<'_>) -> Result<Vec<IntentId>, JournalError> {
        let mut s = self.s.lock().unwrap();
        s.commits += 1;
        for d in &batch.settled {
            if matches!(
                d.outcome,
                Outcome::Failed {
                    class: ErrorClass::OutcomeUnknown,
                    ..
                }
            ) {
                continue;
            }
            match &d.link {
                LinkChange::Keep => {}
                LinkChange::Upsert(link) => {
                    let key = (link.kind, link.source_id.clone());
                    let mut link = link.clone();
                    if link.adopted.is_none() {
                        link.adopted = s.links.get(&key).and_then(|l| l.adopted);
                    }
                    s.links.insert(key, link);
                }
                LinkChange::Remove { kind, source_id } => {
                    s.links.remove(&(*kind, source_id.clone()));
                }
            }
            if let Some(i) = d.intent
                && let Some(e) = s.intents.get_mut(&i.0)
            {
                e.4 = Some(d.outcome.clone());
            }
        }
        let mut ids = Vec::new();
        for p in &batch.intents {
            let id = s.intents.len() as u64;
            s.intents.insert(
                id,
                (
                    p.op.kind,
                    p.op.source_id.clone(),
                    p.op.name.clone(),
                    p.op.action.verb(),
                    None,
                ),
            );
            ids.push(IntentId(id));
        }
        Ok(ids)
    }
    async fn object_status(&self, _rule: &str, status: &ObjectStatus) -> Result<(), JournalError> {
        self.s.lock().unwrap().statuses.push(status.clone());
        Ok(())
    }
}

/// Plan against the current world and journal.
pub fn plan_now(
    model: &DModel,
    target: &MemTarget,
    journal: &MemJournal,
    policy: &Policy,
    with_fp: bool,
) -> Plan {
    let schema = schema();
    let desired = model.build();
    let observed = target.snapshot().observed(with_fp);
    let links = journal.links();
    let pending = journal.pending();
    plan(&Inputs {
        rule: "test",
        rule_deleted: false,
        schema: &schema,
        desired: &desired,
        observed: &observed,
        links: &links,
        pending: &pending,
        policy,
    })
}

/// Run a plan to completion, or until a crash fault hangs it (then it is dropped).
pub fn run(
    plan: &Plan,
    target: &MemTarget,
    journal: &MemJournal,
    concurrency: usize,
) -> Option<RunReport> {
    use futures::FutureExt;
    let opts = ExecOptions {
        concurrency,
        ..ExecOptions::default()
    };
    execute(plan, target, journal, opts).now_or_never()
}
