//! The pure planner: desired, observed, links, pending intents and a policy
//! in; a deterministic `Plan` out. No IO, no async, no panics on data.

use std::collections::BTreeSet;
use std::hash::Hasher;

use crate::fx::{Fx, FxMap, map_with_capacity};
use crate::model::{
    DRec, DesiredSet, EmptyPolicy, Guard, Kind, LinkSet, ORec, ObservedSet, PendingIntent, S,
    Schema, Val, WritePolicy,
};
use crate::plan::{
    Action, AttrChange, Block, CommonFailure, Op, PLAN_SCHEMA_VERSION, Plan, Problem, ProblemCode,
    Summary, TargetRef,
};
use crate::policy::{Destructive, KeyCompare, PhoneCleanup, Policy, RemoveAction};

/// Everything the planner looks at, for one rule.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    /// Rule name (shown in the plan and hashed).
    pub rule: &'a str,
    /// The rule was deleted: nothing is desired any more.
    pub rule_deleted: bool,
    /// Managed attributes and their policies.
    pub schema: &'a Schema,
    /// What the source says should exist.
    pub desired: &'a DesiredSet,
    /// What the target has.
    pub observed: &'a ObservedSet,
    /// The rule's links.
    pub links: &'a LinkSet,
    /// Creates whose outcome is unknown (from the journal).
    pub pending: &'a [PendingIntent],
    /// The rule's policy.
    pub policy: &'a Policy,
}

const NONE: u32 = u32::MAX;

/// How a desired object maps to the target after planning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Res {
    Unresolved,
    Existing(u32),
    Created(u32),
}

/// Phone id by number, and how many accounts hold each phone id.
type PhoneIndex<'a> = (FxMap<&'a str, &'a str>, FxMap<&'a str, u32>);

struct Draft {
    op: Op,
    phase: u8,
    /// Ops on the same object run one after the other, in plan order.
    obj: Option<(Kind, bool, u32)>,
    deps: Vec<u32>,
    sort2: String,
}

struct Planner<'a> {
    inp: Inputs<'a>,
    d: &'a DesiredSet,
    o: &'a ObservedSet,
    l: &'a LinkSet,
    drafts: Vec<Draft>,
    problems: Vec<Problem>,
    /// Observed index -> link index owning it (NONE: unowned).
    owner: Vec<u32>,
    /// Observed objects adopted by a desired object this plan.
    claimed: Vec<bool>,
    visited: Vec<bool>,
    counts: [u64; 6],
    managed: [u64; 6],
    phone_index: Option<PhoneIndex<'a>>,
    /// Numbers some desired account wants (never deleted).
    wanted: FxMap<&'a str, ()>,
    /// Observed objects renamed away from their key -> the rename op.
    renaming: FxMap<u32, u32>,
    /// Keys claimed by creates and renames of this plan (hash -> desired idx).
    new_keys: FxMap<u64, Vec<u32>>,
    /// Accounts linked to an existing target object (for the empty-source guard).
    linked_accounts: u64,
    /// Source objects that failed (mapping, validation): their links are held.
    failed: BTreeSet<(Kind, &'a str)>,
    /// Linked objects held because their source failed.
    held: u64,
    /// Accounts deprovisioned by disabling: they leave the pushed groups.
    leaving: Vec<u32>,
}

fn class_idx(c: Destructive) -> usize {
    Destructive::ALL.iter().position(|x| *x == c).unwrap_or(0)
}

fn key_hash(kind: Kind, key: &str, mode: KeyCompare) -> u64 {
    let mut h = Fx::default();
    h.write_u8(kind as u8);
    match mode {
        KeyCompare::Exact => h.write(key.as_bytes()),
        KeyCompare::CaseInsensitive => {
            if key.is_ascii() {
                for b in key.bytes() {
                    h.write_u32(u32::from(b.to_ascii_lowercase()));
                }
            } else {
                for c in key.chars().flat_map(char::to_lowercase) {
                    h.write_u32(c as u32);
                }
            }
        }
    }
    h.finish()
}

/// Indices `0..n` ordered by `key`, stable (equal keys keep input order).
fn sorted_order<'k, K: Ord + 'k>(n: usize, key: impl Fn(usize) -> K) -> Vec<u32> {
    let mut v: Vec<u32> = (0..n as u32).collect();
    if !v.is_sorted_by(|a, b| key(*a as usize) <= key(*b as usize)) {
        v.sort_by_key(|a| key(*a as usize));
    }
    v
}

/// True when two keys name the same object on the target.
pub fn key_eq(a: &str, b: &str, mode: KeyCompare) -> bool {
    match mode {
        KeyCompare::Exact => a == b,
        KeyCompare::CaseInsensitive => {
            if a.is_ascii() && b.is_ascii() {
                a.eq_ignore_ascii_case(b)
            } else {
                a.chars()
                    .flat_map(char::to_lowercase)
                    .eq(b.chars().flat_map(char::to_lowercase))
            }
        }
    }
}

/// Plan one rule. Pure and deterministic: the same inputs give the same
/// plan, byte for byte. Never panics on data; bad records become problems.
pub fn plan(inputs: &Inputs<'_>) -> Plan {
    let p = Planner {
        inp: *inputs,
        d: inputs.desired,
        o: inputs.observed,
        l: inputs.links,
        drafts: Vec::new(),
        problems: Vec::new(),
        owner: vec![NONE; inputs.observed.objects.len()],
        claimed: vec![false; inputs.observed.objects.len()],
        visited: vec![false; inputs.links.links.len()],
        counts: [0; 6],
        managed: [0; 6],
        phone_index: None,
        wanted: FxMap::default(),
        renaming: FxMap::default(),
        new_keys: FxMap::default(),
        linked_accounts: 0,
        failed: BTreeSet::new(),
        held: 0,
        leaving: Vec::new(),
    };
    p.run()
}

impl<'a> Planner<'a> {
    fn pol(&self) -> &'a Policy {
        self.inp.policy
    }
    fn ds(&self, s: S) -> &'a str {
        self.d.pool.get(s)
    }
    fn os(&self, s: S) -> &'a str {
        self.o.pool.get(s)
    }
    fn ls(&self, s: S) -> &'a str {
        self.l.pool.get(s)
    }
    fn managed_kind(&self, k: Kind) -> bool {
        k.is_account() || self.pol().group_push
    }

    fn push(&mut self, op: Op, phase: u8, obj: Option<(Kind, bool, u32)>, deps: Vec<u32>) -> u32 {
        self.push2(op, phase, obj, deps, String::new())
    }
    fn push2(
        &mut self,
        op: Op,
        phase: u8,
        obj: Option<(Kind, bool, u32)>,
        deps: Vec<u32>,
        sort2: String,
    ) -> u32 {
        let id = u32::try_from(self.drafts.len()).unwrap_or(NONE);
        self.drafts.push(Draft {
            op,
            phase,
            obj,
            deps,
            sort2,
        });
        id
    }
    fn problem(&mut self, kind: Kind, source_id: &str, name: &str, code: ProblemCode, msg: String) {
        self.problems.push(Problem {
            kind,
            source_id: source_id.to_owned(),
            name: name.to_owned(),
            code,
            message: msg,
        });
    }

    fn run(mut self) -> Plan {
        let pol = self.pol();
        let (d, o, l) = (self.d, self.o, self.l);
        // Joins are merges over sorted orders: linear when the caller passes
        // sorted sets (the usual case), n log n otherwise; no big hash maps.
        let oord = sorted_order(o.objects.len(), |i| {
            (o.objects[i].kind, o.pool.get(o.objects[i].id))
        });
        let lord_t = sorted_order(l.links.len(), |i| {
            (l.links[i].kind, l.pool.get(l.links[i].target))
        });
        let mut link_obs: Vec<u32> = vec![NONE; l.links.len()];
        {
            let mut j = 0usize;
            for &li in &lord_t {
                let lr = &l.links[li as usize];
                let lk = (lr.kind, l.pool.get(lr.target));
                while j < oord.len() {
                    let or = &o.objects[oord[j] as usize];
                    if (or.kind, o.pool.get(or.id)) < lk {
                        j += 1;
                    } else {
                        break;
                    }
                }
                if let Some(&oi) = oord.get(j) {
                    let or = &o.objects[oi as usize];
                    if (or.kind, o.pool.get(or.id)) == lk && self.owner[oi as usize] == NONE {
                        self.owner[oi as usize] = li;
                        link_obs[li as usize] = oi;
                    }
                }
            }
        }
        drop(lord_t);
        // A guarded object is never the rule's, even when it links it.
        for (oi, r) in o.objects.iter().enumerate() {
            if r.guard.is_some() {
                self.owner[oi] = NONE;
            }
        }
        self.linked_accounts = (0..l.links.len())
            .filter(|&i| {
                l.links[i].kind.is_account()
                    && link_obs[i] != NONE
                    && o.objects[link_obs[i] as usize].guard.is_none()
            })
            .count() as u64;
        drop(oord);

        for f in &d.failures {
            self.failed.insert((f.kind, f.source_id.as_str()));
            let name = if f.name.is_empty() {
                &f.source_id
            } else {
                &f.name
            };
            self.problem(
                f.kind,
                &f.source_id,
                name,
                ProblemCode::MappingFailed,
                f.message.clone(),
            );
        }

        let dord = sorted_order(d.objects.len(), |i| {
            (d.objects[i].kind, d.pool.get(d.objects[i].id))
        });
        let mut res: Vec<Res> = vec![Res::Unresolved; d.objects.len()];
        let mut unlinked: Vec<(u32, u32)> = Vec::new(); // (desired idx, stale link idx)
        if !self.inp.rule_deleted {
            let lord_s = sorted_order(l.links.len(), |i| {
                (l.links[i].kind, l.pool.get(l.links[i].source))
            });
            // A second link for the same source object is ignored, never deprovisioned.
            for w in lord_s.windows(2) {
                let (x, y) = (&l.links[w[0] as usize], &l.links[w[1] as usize]);
                if (x.kind, l.pool.get(x.source)) == (y.kind, l.pool.get(y.source)) {
                    self.visited[w[1] as usize] = true;
                }
            }
            let mut j = 0usize;
            let mut prev: Option<(Kind, &str)> = None;
            for &di in &dord {
                let dr = d.objects[di as usize];
                if !self.managed_kind(dr.kind) {
                    continue;
                }
                let dk = (dr.kind, d.pool.get(dr.id));
                if prev == Some(dk) {
                    let src = dk.1;
                    self.problem(dr.kind, src, self.ds(dr.key), ProblemCode::DuplicateSource,
                        format!("source id {src:?} appears more than once; fix the source or the mapping"));
                    continue;
                }
                prev = Some(dk);
                while j < lord_s.len() {
                    let lr = &l.links[lord_s[j] as usize];
                    if (lr.kind, l.pool.get(lr.source)) < dk {
                        j += 1;
                    } else {
                        break;
                    }
                }
                let li = lord_s.get(j).copied().filter(|&li| {
                    let lr = &l.links[li as usize];
                    (lr.kind, l.pool.get(lr.source)) == dk
                });
                match li {
                    Some(li) => {
                        self.visited[li as usize] = true;
                        let oi = link_obs[li as usize];
                        if oi == NONE {
                            unlinked.push((di, li));
                        } else if let Some((g, why)) = o.objects[oi as usize].guard {
                            self.guarded(di, oi, g, why, "is linked by this rule but");
                        } else {
                            res[di as usize] = self.pair(di, oi, Some(li), false);
                        }
                    }
                    None => unlinked.push((di, NONE)),
                }
            }
        }

        // Unlinked desired objects (already in source-id order): match by key, else create.
        if !unlinked.is_empty() {
            let pending: BTreeSet<(Kind, &str)> = self
                .inp
                .pending
                .iter()
                .map(|p| (p.kind, p.source_id.as_str()))
                .collect();
            // One sequential pass over the observed keys, keeping only the
            // objects whose key hash some unlinked desired object wants.
            let mut cands_by_hash: FxMap<u64, Vec<u32>> = map_with_capacity(unlinked.len());
            for &(di, _) in &unlinked {
                let r = &d.objects[di as usize];
                cands_by_hash
                    .entry(key_hash(r.kind, d.pool.get(r.key), pol.key_compare))
                    .or_default();
            }
            for (i, r) in o.objects.iter().enumerate() {
                if let Some(v) =
                    cands_by_hash.get_mut(&key_hash(r.kind, o.pool.get(r.key), pol.key_compare))
                {
                    v.push(i as u32);
                }
            }
            for &(di, stale) in &unlinked {
                let dr = d.objects[di as usize];
                let (src, key) = (d.pool.get(dr.id), d.pool.get(dr.key));
                let h = key_hash(dr.kind, key, pol.key_compare);
                let mut cands: Vec<u32> = cands_by_hash
                    .get(&h)
                    .map(|v| {
                        v.iter()
                            .copied()
                            .filter(|&c| {
                                let r = &o.objects[c as usize];
                                r.kind == dr.kind && key_eq(o.pool.get(r.key), key, pol.key_compare)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                cands.sort_by(|a, b| {
                    o.pool
                        .get(o.objects[*a as usize].id)
                        .cmp(o.pool.get(o.objects[*b as usize].id))
                });
                let r = self.match_or_create(di, stale, &cands, pending.contains(&(dr.kind, src)));
                res[di as usize] = r;
            }
        }

        // Links whose desired object is gone (or every link, when the rule is deleted).
        let mut group_deletes: Vec<(u32, u32)> = Vec::new(); // (observed idx, delete draft)
        #[allow(clippy::needless_range_loop)] // li indexes three parallel vectors
        for li in 0..l.links.len() {
            if self.visited[li] {
                continue;
            }
            let lr = l.links[li];
            if !self.managed_kind(lr.kind) {
                continue;
            }
            let oi = link_obs[li];
            let (src, tid) = (l.pool.get(lr.source), l.pool.get(lr.target));
            if self.failed.contains(&(lr.kind, src)) {
                // Held: a source that fails is not a source that left.
                if oi != NONE {
                    self.hold(lr.kind, src, oi);
                }
                continue;
            }
            let guarded = oi != NONE && o.objects[oi as usize].guard.is_some();
            if oi == NONE || guarded {
                // Gone from the target, or never the rule's to touch: forget it.
                let op = self.op(
                    lr.kind,
                    tid,
                    Some(src),
                    Some(TargetRef::Existing(tid.to_owned())),
                    None,
                    Action::Unlink,
                );
                self.push(op, 13, Some((lr.kind, false, li as u32)), vec![]);
                continue;
            }
            if self.inp.rule_deleted && !pol.deprovision_on_rule_deletion {
                let name = self.os(o.objects[oi as usize].key);
                let op = self.op(
                    lr.kind,
                    name,
                    Some(src),
                    Some(TargetRef::Existing(tid.to_owned())),
                    None,
                    Action::Unlink,
                );
                self.push(op, 13, Some((lr.kind, true, oi)), vec![]);
                continue;
            }
            if !pol.deprovision {
                continue;
            }
            self.deprovision(oi, src, lr.adopted, &mut group_deletes);
        }

        if pol.group_push && !self.inp.rule_deleted {
            self.memberships(&res, &dord);
            self.leaving_memberships(&res);
        }
        if !group_deletes.is_empty() {
            self.group_teardown(&group_deletes);
        }

        // Managed counts for percentage limits.
        for (oi, r) in o.objects.iter().enumerate() {
            if self.owner[oi] != NONE || self.claimed[oi] {
                let cls: &[Destructive] = match r.kind {
                    Kind::User => &[Destructive::UserDelete, Destructive::UserDisable],
                    Kind::Admin => &[Destructive::AdminDelete, Destructive::AdminDisable],
                    Kind::Group => &[Destructive::GroupDelete],
                };
                for c in cls {
                    self.managed[class_idx(*c)] += 1;
                }
            }
        }
        self.finish(d)
    }

    fn op(
        &self,
        kind: Kind,
        name: &str,
        src: Option<&str>,
        target: Option<TargetRef>,
        fp: Option<u64>,
        action: Action,
    ) -> Op {
        Op {
            id: 0,
            kind,
            name: name.to_owned(),
            source_id: src.map(str::to_owned),
            target,
            fingerprint: fp,
            action,
            deps: Vec::new(),
        }
    }

    fn unlink_stale(&mut self, kind: Kind, src: &str, name: &str, stale: u32) {
        if stale != NONE {
            let tid = self.ls(self.l.links[stale as usize].target);
            let op = self.op(
                kind,
                name,
                Some(src),
                Some(TargetRef::Existing(tid.to_owned())),
                None,
                Action::Unlink,
            );
            self.push(op, 13, Some((kind, false, stale)), vec![]);
        }
    }

    fn create(&mut self, di: u32, stale: u32, lookup_first: bool, after: Vec<u32>) -> Res {
        let dr = self.d.objects[di as usize];
        let (src, key) = (self.ds(dr.id), self.ds(dr.key));
        if !self.pol().create {
            self.problem(dr.kind, src, key, ProblemCode::CreateNotAllowed,
                format!("no target {} has key {key:?} and the rule does not allow creating it; enable creation or create it by hand", dr.kind.as_str()));
            self.unlink_stale(dr.kind, src, key, stale);
            return Res::Unresolved;
        }
        let mut attrs = Vec::new();
        for s in self.d.pool.slots(dr.attrs.0, dr.attrs.1) {
            if let Some(v) = self.d.pool.val(s) {
                attrs.push(AttrChange {
                    attr: self.inp.schema.name(s.attr).to_owned(),
                    before: None,
                    after: Some(v.to_value()),
                });
            }
        }
        let action = Action::Create {
            attrs,
            enabled: dr.enabled || !dr.kind.is_account(),
            lookup_first,
        };
        let op = self.op(dr.kind, key, Some(src), None, Some(dr.fingerprint), action);
        let phase = if dr.kind == Kind::Group { 2 } else { 3 };
        let c = self.push(op, phase, Some((dr.kind, true, NONE - 1 - di)), after);
        if dr.kind.is_account()
            && let Some(num) = self.d.pool.get_opt(dr.phone)
        {
            let phone_id = self.phone_lookup(num);
            let op = self.op(
                dr.kind,
                key,
                Some(src),
                Some(TargetRef::Created(c)),
                Some(dr.fingerprint),
                Action::AddPhone {
                    number: num.to_owned(),
                    phone_id,
                },
            );
            self.push2(
                op,
                6,
                Some((dr.kind, true, NONE - 1 - di)),
                vec![],
                num.to_owned(),
            );
        }
        Res::Created(c)
    }

    /// Choose between adoption, a problem and a create for an unlinked
    /// desired object, given the target objects with its key. A target
    /// object linked to another source (even one that left) is never handed
    /// over; one the adoption policy does not allow is a problem, never a
    /// create beside it.
    fn match_or_create(&mut self, di: u32, stale: u32, cands: &[u32], pending: bool) -> Res {
        let dr = self.d.objects[di as usize];
        let (src, key) = (self.ds(dr.id), self.ds(dr.key));
        let (mut orphaned, mut free, mut taken, mut guarded) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        // Objects being renamed away free their key: create after the rename.
        let mut leaving = Vec::new();
        for &c in cands {
            if let Some(&r) = self.renaming.get(&c) {
                leaving.push(r);
                continue;
            }
            if self.o.objects[c as usize].guard.is_some() {
                guarded.push(c);
                continue;
            }
            let owner = self.owner[c as usize];
            if self.claimed[c as usize] || (owner != NONE && self.visited[owner as usize]) {
                taken.push(c);
            } else if owner != NONE {
                orphaned.push(c);
            } else {
                free.push(c);
            }
        }
        match free.as_slice() {
            [] => {}
            [one] => return self.try_adopt(di, stale, *one, pending),
            many => {
                let ids: Vec<&str> = many
                    .iter()
                    .map(|c| self.os(self.o.objects[*c as usize].id))
                    .collect();
                self.problem(dr.kind, src, key, ProblemCode::Ambiguous, format!(
                    "{} target {}s match key {key:?} ({}); link one explicitly or remove the duplicates",
                    many.len(), dr.kind.as_str(), ids.join(", ")));
                self.unlink_stale(dr.kind, src, key, stale);
                return Res::Unresolved;
            }
        }
        if let Some(&c) = guarded.first() {
            if let Some((g, why)) = self.o.objects[c as usize].guard {
                self.guarded(di, c, g, why, "has this key but");
            }
            self.unlink_stale(dr.kind, src, key, stale);
            return Res::Unresolved;
        }
        if let Some(&c) = orphaned.first() {
            let old = self.ls(self.l.links[self.owner[c as usize] as usize].source);
            self.problem(dr.kind, src, key, ProblemCode::AdoptRefused, format!(
                "not adopted: target {} {} has key {:?} and is linked to source {old:?}, which left the rule (its remove action applies); a target is never handed to another source automatically: link it explicitly if it is the same person, or give one of them another key",
                dr.kind.as_str(), self.os(self.o.objects[c as usize].id), self.os(self.o.objects[c as usize].key)));
            self.unlink_stale(dr.kind, src, key, stale);
            return Res::Unresolved;
        }
        if let Some(&c) = taken.first() {
            let owner = self.owner[c as usize];
            let by = if owner != NONE {
                format!("source {:?}", self.ls(self.l.links[owner as usize].source))
            } else {
                "another desired object".to_owned()
            };
            self.problem(dr.kind, src, key, ProblemCode::KeyTaken, format!(
                "target {} {} has key {key:?} but is already managed for {by}; change one of the keys",
                dr.kind.as_str(), self.os(self.o.objects[c as usize].id)));
            self.unlink_stale(dr.kind, src, key, stale);
            return Res::Unresolved;
        }
        // Two desired objects with one key must not both be created.
        let h = key_hash(dr.kind, key, self.pol().key_compare);
        let same = self.new_keys.entry(h).or_default();
        if let Some(&other) = same.iter().find(|&&o| {
            let r = &self.d.objects[o as usize];
            r.kind == dr.kind && key_eq(self.d.pool.get(r.key), key, self.inp.policy.key_compare)
        }) {
            let by = self.ds(self.d.objects[other as usize].id);
            self.problem(dr.kind, src, key, ProblemCode::KeyTaken, format!(
                "source {by:?} takes the same key {key:?} in this plan; give each source object its own key"));
            self.unlink_stale(dr.kind, src, key, stale);
            return Res::Unresolved;
        }
        same.push(di);
        self.create(di, stale, pending, leaving)
    }

    /// A desired object meets a guarded target object: a problem, no write.
    fn guarded(&mut self, di: u32, oi: u32, g: Guard, why: S, how: &str) {
        let dr = self.d.objects[di as usize];
        let or = self.o.objects[oi as usize];
        let (src, key) = (self.ds(dr.id), self.ds(dr.key));
        let (code, lead) = match g {
            Guard::Protected => (ProblemCode::Protected, "not adopted or written"),
            Guard::OwnedElsewhere => (ProblemCode::OwnedElsewhere, "left alone"),
        };
        self.problem(
            dr.kind,
            src,
            key,
            code,
            format!(
                "{lead}: target {} {} ({:?}) {how} {}",
                dr.kind.as_str(),
                self.os(or.id),
                self.os(or.key),
                self.os(why)
            ),
        );
    }

    /// The linked target of a failed source: reported, never touched.
    fn hold(&mut self, kind: Kind, src: &str, oi: u32) {
        let or = self.o.objects[oi as usize];
        let name = self
            .inp
            .desired
            .failures
            .iter()
            .find(|f| f.kind == kind && f.source_id == src)
            .map_or(src, |f| {
                if f.name.is_empty() {
                    src
                } else {
                    f.name.as_str()
                }
            });
        self.held += 1;
        self.problem(kind, src, name, ProblemCode::Held, format!(
            "its source failed, so its linked target {} {} ({:?}) is left as it is (no disable, delete, membership or phone removal) until the source maps again",
            kind.as_str(), self.os(or.id), self.os(or.key)));
    }

    /// Adopt the one free target object with the key, if the adoption policy
    /// allows it; else a problem and nothing else.
    fn try_adopt(&mut self, di: u32, stale: u32, oi: u32, pending: bool) -> Res {
        let dr = self.d.objects[di as usize];
        let or = self.o.objects[oi as usize];
        let (src, key, okey) = (self.ds(dr.id), self.ds(dr.key), self.os(or.key));
        if pending {
            // Our own create whose answer was lost: the object is ours.
            let ev = vec![format!("key {okey:?} (own create whose answer was lost)")];
            return self.adopt(di, oi, ev);
        }
        let pol = &self.pol().adoption;
        let kind = dr.kind.as_str();
        let mut evidence = vec![format!("key {okey:?}")];
        let mut refused = None;
        let allowed = if dr.kind.is_account() {
            pol.accounts
        } else {
            pol.groups
        };
        let confirm: &[String] = match dr.kind {
            Kind::User => &pol.confirm_users,
            Kind::Admin => &pol.confirm_admins,
            Kind::Group => &[],
        };
        if !allowed {
            refused = Some(format!("this rule does not adopt existing {kind}s"));
        } else if pol.exact_key && okey != key {
            refused = Some(format!(
                "{okey:?} matches {key:?} only ignoring case (adoption needs the exact key)"
            ));
        } else {
            for attr in confirm {
                let id = self.inp.schema.get(attr);
                let want = id.and_then(|id| attr_of(&self.d.pool, dr.attrs, id));
                let have = id.and_then(|id| attr_of(&self.o.pool, or.attrs, id));
                match (want, have) {
                    (Some(w), Some(h)) if w.same(h) => {
                        evidence.push(format!("{attr} {}", show_val(w)));
                    }
                    (None, _) => {
                        refused = Some(format!(
                            "attribute {attr:?} is empty on the source, so it cannot confirm the match"
                        ));
                        break;
                    }
                    (Some(w), h) => {
                        refused = Some(format!(
                            "attribute {attr:?} differs ({} on the source, {} on the target)",
                            show_val(w),
                            h.map_or_else(|| "empty".to_owned(), show_val)
                        ));
                        break;
                    }
                }
            }
        }
        if let Some(why) = refused {
            self.problem(dr.kind, src, key, ProblemCode::AdoptRefused, format!(
                "not adopted: target {kind} {} has key {okey:?} but {why}; nothing is written to it or created beside it: link it explicitly if it is the same {kind}, or give one of them another key",
                self.os(or.id)));
            self.unlink_stale(dr.kind, src, key, stale);
            return Res::Unresolved;
        }
        self.adopt(di, oi, evidence)
    }

    fn adopt(&mut self, di: u32, oi: u32, evidence: Vec<String>) -> Res {
        let dr = self.d.objects[di as usize];
        let (src, key) = (self.ds(dr.id), self.ds(dr.key));
        let tid = self.os(self.o.objects[oi as usize].id);
        self.claimed[oi as usize] = true;
        let op = self.op(
            dr.kind,
            key,
            Some(src),
            Some(TargetRef::Existing(tid.to_owned())),
            Some(dr.fingerprint),
            Action::Adopt { evidence },
        );
        self.push(op, 0, Some((dr.kind, true, oi)), vec![]);
        self.pair(di, oi, None, true)
    }

    fn phone_lookup(&mut self, number: &str) -> Option<String> {
        self.phone_maps();
        self.phone_index
            .as_ref()
            .and_then(|(by_num, _)| by_num.get(number))
            .map(|s| (*s).to_owned())
    }

    fn phone_maps(&mut self) {
        if self.phone_index.is_some() {
            return;
        }
        let o = self.o;
        let mut by_num: FxMap<&'a str, &'a str> = map_with_capacity(o.phones.len());
        let mut users: FxMap<&'a str, u32> = map_with_capacity(o.phones.len());
        for p in &o.phones {
            let (id, num) = (o.pool.get(p.id), o.pool.get(p.number));
            let e = by_num.entry(num).or_insert(id);
            if id < *e {
                *e = id;
            }
            *users.entry(id).or_insert(0) += 1;
        }
        self.phone_index = Some((by_num, users));
        let d = self.d;
        for r in &d.objects {
            if let Some(n) = d.pool.get_opt(r.phone) {
                self.wanted.insert(n, ());
            }
        }
    }

    /// Diff a desired object against the observed object it maps to.
    fn pair(&mut self, di: u32, oi: u32, link: Option<u32>, adopted: bool) -> Res {
        let pol = self.pol();
        let dr: DRec = self.d.objects[di as usize];
        let or: ORec = self.o.objects[oi as usize];
        let (src, key) = (self.ds(dr.id), self.ds(dr.key));
        let tid = self.os(or.id);
        let obj = Some((dr.kind, true, oi));
        let tref = || Some(TargetRef::Existing(tid.to_owned()));
        let fp = Some(dr.fingerprint);
        let before = self.drafts.len();
        let mut blocked_update: Vec<String> = Vec::new();

        let okey = self.os(or.key);
        if !key_eq(key, okey, pol.key_compare) {
            if pol.update {
                let op = self.op(
                    dr.kind,
                    key,
                    Some(src),
                    tref(),
                    fp,
                    Action::Rename {
                        from: okey.to_owned(),
                        to: key.to_owned(),
                    },
                );
                let r = self.push(op, 1, obj, vec![]);
                self.renaming.insert(oi, r);
                let h = key_hash(dr.kind, key, pol.key_compare);
                self.new_keys.entry(h).or_default().push(di);
            } else {
                blocked_update.push(format!("key {okey:?} → {key:?}"));
            }
        }
        if or.fingerprint != Some(dr.fingerprint) {
            let changes = self.diff(&dr, &or);
            if !changes.is_empty() {
                if pol.update {
                    let op = self.op(
                        dr.kind,
                        key,
                        Some(src),
                        tref(),
                        fp,
                        Action::Update { changes },
                    );
                    self.push(op, 4, obj, vec![]);
                } else {
                    blocked_update.extend(changes.iter().map(|c| c.attr.clone()));
                }
            }
        }
        if dr.kind.is_account() {
            if dr.enabled && !or.enabled {
                if pol.update {
                    let op = self.op(dr.kind, key, Some(src), tref(), fp, Action::Enable);
                    self.push(op, 5, obj, vec![]);
                } else {
                    blocked_update.push("enable".to_owned());
                }
            } else if !dr.enabled && or.enabled {
                if pol.update && pol.disable {
                    let op = self.op(dr.kind, key, Some(src), tref(), fp, Action::Disable);
                    self.push(op, 10, obj, vec![]);
                    let c = if dr.kind == Kind::Admin {
                        Destructive::AdminDisable
                    } else {
                        Destructive::UserDisable
                    };
                    self.counts[class_idx(c)] += 1;
                } else {
                    blocked_update.push("disable".to_owned());
                }
            }
            self.phones(&dr, &or, obj, &mut blocked_update);
        }
        if !blocked_update.is_empty() {
            self.problem(dr.kind, src, key, ProblemCode::UpdateNotAllowed, format!(
                "target differs ({}) and the rule does not allow updates; enable updates to converge",
                blocked_update.join(", ")));
        }
        if !adopted
            && self.drafts.len() == before
            && let Some(li) = link
            && self.l.links[li as usize].fingerprint != dr.fingerprint
        {
            let op = self.op(dr.kind, key, Some(src), tref(), fp, Action::Relink);
            self.push(op, 13, obj, vec![]);
        }
        Res::Existing(oi)
    }

    fn phones(
        &mut self,
        dr: &DRec,
        or: &ORec,
        obj: Option<(Kind, bool, u32)>,
        blocked: &mut Vec<String>,
    ) {
        let pol = self.pol();
        let want = self.d.pool.get_opt(dr.phone);
        let (src, key, tid) = (self.ds(dr.id), self.ds(dr.key), self.os(or.id));
        let have = self.o.phones_of(or);
        if let Some(num) = want
            && !have.iter().any(|p| self.o.pool.get(p.number) == num)
        {
            if pol.update {
                let phone_id = self.phone_lookup(num);
                let op = self.op(
                    dr.kind,
                    key,
                    Some(src),
                    Some(TargetRef::Existing(tid.to_owned())),
                    Some(dr.fingerprint),
                    Action::AddPhone {
                        number: num.to_owned(),
                        phone_id,
                    },
                );
                self.push2(op, 6, obj, vec![], num.to_owned());
            } else {
                blocked.push(format!("phone {num}"));
            }
        }
        if pol.phone_cleanup == PhoneCleanup::Keep || !pol.update {
            return;
        }
        for p in have {
            let num = self.o.pool.get(p.number);
            if Some(num) == want
                || (p.activated
                    && pol.phone_cleanup != PhoneCleanup::RemoveUnusedIncludingActivated)
            {
                continue;
            }
            self.remove_phone(
                dr.kind,
                key,
                Some(src),
                tid,
                p.id,
                num,
                obj,
                Some(dr.fingerprint),
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn remove_phone(
        &mut self,
        kind: Kind,
        key: &str,
        src: Option<&str>,
        tid: &str,
        pid: S,
        num: &str,
        obj: Option<(Kind, bool, u32)>,
        fp: Option<u64>,
    ) {
        self.phone_maps();
        let pid = self.os(pid);
        let users = self
            .phone_index
            .as_ref()
            .and_then(|(_, u)| u.get(pid))
            .copied()
            .unwrap_or(1);
        // A number some desired account wants is only detached, never deleted.
        let users = if self.wanted.contains_key(num) {
            users + 1
        } else {
            users
        };
        let op = self.op(
            kind,
            key,
            src,
            Some(TargetRef::Existing(tid.to_owned())),
            fp,
            Action::RemovePhone {
                number: num.to_owned(),
                phone_id: pid.to_owned(),
                delete_phone: users <= 1,
            },
        );
        self.push2(op, 9, obj, vec![], format!("{num}\0{pid}"));
    }

    fn diff(&self, dr: &DRec, or: &ORec) -> Vec<AttrChange> {
        let (dp, op) = (&self.d.pool, &self.o.pool);
        let ds = dp.slots(dr.attrs.0, dr.attrs.1);
        let os = op.slots(or.attrs.0, or.attrs.1);
        let mut out = Vec::new();
        let mut j = 0;
        for s in ds {
            while j < os.len() && os[j].attr < s.attr {
                j += 1;
            }
            let have = (j < os.len() && os[j].attr == s.attr)
                .then(|| op.val(&os[j]))
                .flatten();
            let Some(def) = self.inp.schema.def(s.attr) else {
                continue;
            };
            if def.when == WritePolicy::OnCreate {
                continue;
            }
            let want = dp.val(s);
            let change = match (want, have) {
                (None, None) => false,
                (None, Some(_)) => def.empty == EmptyPolicy::Clear,
                (Some(_), None) => true,
                (Some(w), Some(h)) => !w.same(h),
            };
            if change {
                out.push(AttrChange {
                    attr: def.name.clone(),
                    before: have.map(|v| v.to_value()),
                    after: want.map(|v| v.to_value()),
                });
            }
        }
        out
    }

    fn deprovision(
        &mut self,
        oi: u32,
        src: &str,
        adopted: bool,
        group_deletes: &mut Vec<(u32, u32)>,
    ) {
        let pol = self.pol();
        let or = self.o.objects[oi as usize];
        let (tid, name) = (self.os(or.id), self.os(or.key));
        let obj = Some((or.kind, true, oi));
        let tref = || Some(TargetRef::Existing(tid.to_owned()));
        if or.kind == Kind::Group && adopted {
            // Only groups the rule created are deleted: an adopted one is let go.
            let op = self.op(or.kind, name, Some(src), tref(), None, Action::Unlink);
            self.push(op, 13, obj, vec![]);
            return;
        }
        let remove = if or.kind.is_account() {
            pol.remove_action
        } else {
            RemoveAction::Delete
        };
        match remove {
            RemoveAction::Delete => {
                if or.kind.is_account() && pol.phone_cleanup != PhoneCleanup::Keep {
                    for p in self.o.phones_of(&or) {
                        if p.activated
                            && pol.phone_cleanup != PhoneCleanup::RemoveUnusedIncludingActivated
                        {
                            continue;
                        }
                        self.phone_maps();
                        let pid = self.os(p.id);
                        let shared = self
                            .phone_index
                            .as_ref()
                            .and_then(|(_, u)| u.get(pid))
                            .copied()
                            .unwrap_or(1)
                            > 1;
                        if !shared && !self.wanted.contains_key(self.os(p.number)) {
                            self.remove_phone(
                                or.kind,
                                name,
                                Some(src),
                                tid,
                                p.id,
                                self.os(p.number),
                                obj,
                                None,
                            );
                        }
                    }
                }
                let op = self.op(or.kind, name, Some(src), tref(), None, Action::Delete);
                let phase = if or.kind == Kind::Group { 12 } else { 11 };
                let id = self.push(op, phase, obj, vec![]);
                let c = match or.kind {
                    Kind::User => Destructive::UserDelete,
                    Kind::Admin => Destructive::AdminDelete,
                    Kind::Group => Destructive::GroupDelete,
                };
                self.counts[class_idx(c)] += 1;
                if or.kind == Kind::Group {
                    group_deletes.push((oi, id));
                }
            }
            RemoveAction::Disable => {
                if or.kind.is_account() {
                    self.leaving.push(oi);
                }
                if or.enabled {
                    let op = self.op(or.kind, name, Some(src), tref(), None, Action::Disable);
                    self.push(op, 10, obj, vec![]);
                    let c = if or.kind == Kind::Admin {
                        Destructive::AdminDisable
                    } else {
                        Destructive::UserDisable
                    };
                    self.counts[class_idx(c)] += 1;
                }
                if self.inp.rule_deleted {
                    let op = self.op(or.kind, name, Some(src), tref(), None, Action::Unlink);
                    self.push(op, 13, obj, vec![]);
                }
            }
        }
    }

    /// Member ref of an observed account that the rule owns and keeps.
    fn owned_kept_account(&self, oi: usize) -> bool {
        let r = &self.o.objects[oi];
        r.kind.is_account() && (self.claimed[oi] || self.owner[oi] != NONE)
    }

    fn memberships(&mut self, res: &[Res], dord: &[u32]) {
        let (d, o) = (self.d, self.o);
        // Desired groups by source id; owned observed groups by target id.
        // Membership group refs (interned while filling) -> desired group index.
        let mut gref_to_group: Vec<u32> = vec![NONE; d.group_refs.len()];
        let mut any_group = false;
        let mut owned_group: Vec<u32> = vec![NONE; o.group_ids.len()];
        let mut any_owned = false;
        let mut accounts = 0usize;
        for (di, r) in d.objects.iter().enumerate() {
            if r.kind == Kind::Group {
                any_group = true;
                if let Some(gx) = d.group_ref(d.pool.get(r.id))
                    && gref_to_group[gx as usize] == NONE
                {
                    gref_to_group[gx as usize] = di as u32;
                }
                if let Res::Existing(oi) = res[di]
                    && let Some(gx) = o.group_index(o.pool.get(o.objects[oi as usize].id))
                {
                    owned_group[gx as usize] = di as u32;
                    any_owned = true;
                }
            } else {
                accounts += 1;
            }
        }
        if !any_group && !any_owned {
            return;
        }
        // Desired memberships as (member desired idx, group desired idx), sorted.
        let mut want: Vec<(u32, u32)> = Vec::with_capacity(d.memberships.len());
        if !d.memberships.is_empty() {
            // Members are matched against users, then admins, by merging
            // memberships sorted by member source id with the sorted desired set.
            let kind_range = |k: Kind| {
                let lo = dord.partition_point(|&i| d.objects[i as usize].kind < k);
                let hi = dord.partition_point(|&i| d.objects[i as usize].kind <= k);
                (lo, hi)
            };
            let ranges = [kind_range(Kind::User), kind_range(Kind::Admin)];
            let mut ptr = [ranges[0].0, ranges[1].0];
            let mord = sorted_order(d.memberships.len(), |i| d.pool.get(d.memberships[i].1));
            let _ = accounts;
            let mut unknown: Vec<(&str, &str)> = Vec::new();
            for &x in &mord {
                let (g, m) = d.memberships[x as usize];
                let ms = d.pool.get(m);
                let mut pos = None;
                for (r, p) in ranges.iter().zip(ptr.iter_mut()) {
                    while *p < r.1 && d.pool.get(d.objects[dord[*p] as usize].id) < ms {
                        *p += 1;
                    }
                    if *p < r.1 && d.pool.get(d.objects[dord[*p] as usize].id) == ms {
                        pos = Some(*p as u32);
                        break;
                    }
                }
                let gi = gref_to_group.get(g as usize).copied().unwrap_or(NONE);
                match pos {
                    Some(pos) if gi != NONE => want.push((pos, gi)),
                    // A failed member is reported as itself, and held.
                    None if self.failed.contains(&(Kind::User, ms))
                        || self.failed.contains(&(Kind::Admin, ms)) => {}
                    _ => unknown.push((d.pool.get(d.group_refs[g as usize]), ms)),
                }
            }
            unknown.sort_unstable();
            unknown.dedup();
            for (gs, ms) in unknown {
                self.problem(Kind::Group, gs, gs, ProblemCode::UnknownReference, format!(
                    "membership of source {ms:?} in group {gs:?} names an object that is not in scope; add both to the rule's scope"));
            }
            // Nearly sorted already (merged in member order): the stable sort is adaptive.
            want.sort();
            want.dedup();
        }
        let dref = |di: u32, res: &[Res]| -> Option<TargetRef> {
            match res[di as usize] {
                Res::Existing(oi) => Some(TargetRef::Existing(
                    o.pool.get(o.objects[oi as usize].id).to_owned(),
                )),
                Res::Created(c) => Some(TargetRef::Created(c)),
                Res::Unresolved => None,
            }
        };
        let mut w = 0usize;
        let mut have: Vec<u32> = Vec::new();
        for (pos, &mi) in dord.iter().enumerate() {
            let r = &d.objects[mi as usize];
            let pos = pos as u32;
            while w < want.len() && want[w].0 < pos {
                w += 1;
            }
            let s = w;
            while w < want.len() && want[w].0 == pos {
                w += 1;
            }
            if !r.kind.is_account() {
                continue;
            }
            let wanted = &want[s..w];
            have.clear();
            let member_ref = match res[mi as usize] {
                Res::Existing(oi) => {
                    let or = &o.objects[oi as usize];
                    for &gx in o.groups_of(or) {
                        let gi = owned_group.get(gx as usize).copied().unwrap_or(NONE);
                        if gi != NONE {
                            have.push(gi);
                        }
                    }
                    have.sort_unstable();
                    have.dedup();
                    self.managed[class_idx(Destructive::MembershipRemoval)] += have.len() as u64;
                    TargetRef::Existing(o.pool.get(or.id).to_owned())
                }
                Res::Created(c) => TargetRef::Created(c),
                Res::Unresolved => continue,
            };
            if wanted.is_empty() && have.is_empty() {
                continue;
            }
            let (mkind, mname) = (r.kind, d.pool.get(r.key));
            // Adds: wanted groups the account is not in.
            for &(_, gi) in wanted {
                if have.binary_search(&gi).is_ok() {
                    continue;
                }
                let Some(gref) = dref(gi, res) else { continue };
                let gr = &d.objects[gi as usize];
                let mut deps = Vec::new();
                if let Res::Created(c) = res[gi as usize] {
                    deps.push(c);
                }
                if let Res::Created(c) = res[mi as usize] {
                    deps.push(c);
                }
                let op = self.op(
                    Kind::Group,
                    d.pool.get(gr.key),
                    Some(d.pool.get(gr.id)),
                    Some(gref),
                    None,
                    Action::AddMember {
                        member_kind: mkind,
                        member_name: mname.to_owned(),
                        member: member_ref.clone(),
                    },
                );
                self.push2(op, 7, None, deps, format!("{mname}\0{}", d.pool.get(r.id)));
            }
            // Removals: owned groups the account is in but should not be.
            for &gi in &have {
                if wanted.iter().any(|x| x.1 == gi) {
                    continue;
                }
                let Some(gref) = dref(gi, res) else { continue };
                let gr = &d.objects[gi as usize];
                let op = self.op(
                    Kind::Group,
                    d.pool.get(gr.key),
                    Some(d.pool.get(gr.id)),
                    Some(gref),
                    None,
                    Action::RemoveMember {
                        member_kind: mkind,
                        member_name: mname.to_owned(),
                        member: member_ref.clone(),
                    },
                );
                self.push2(
                    op,
                    8,
                    None,
                    vec![],
                    format!("{mname}\0{}", d.pool.get(r.id)),
                );
                self.counts[class_idx(Destructive::MembershipRemoval)] += 1;
            }
        }
    }

    /// Accounts deprovisioned by disabling leave the pushed groups that stay:
    /// a pushed group holds exactly its in-scope members.
    fn leaving_memberships(&mut self, res: &[Res]) {
        if self.leaving.is_empty() {
            return;
        }
        let (d, o) = (self.d, self.o);
        let mut owned_group: Vec<u32> = vec![NONE; o.group_ids.len()];
        for (di, r) in d.objects.iter().enumerate() {
            if r.kind == Kind::Group
                && let Res::Existing(oi) = res[di]
                && let Some(gx) = o.group_index(o.pool.get(o.objects[oi as usize].id))
            {
                owned_group[gx as usize] = di as u32;
            }
        }
        for oi in std::mem::take(&mut self.leaving) {
            let r = &o.objects[oi as usize];
            for &gx in o.groups_of(r) {
                let gi = owned_group.get(gx as usize).copied().unwrap_or(NONE);
                if gi == NONE {
                    continue;
                }
                let gr = &d.objects[gi as usize];
                let mname = o.pool.get(r.key);
                let op = self.op(
                    Kind::Group,
                    d.pool.get(gr.key),
                    Some(d.pool.get(gr.id)),
                    Some(TargetRef::Existing(
                        o.pool.get(o.group_ids[gx as usize]).to_owned(),
                    )),
                    None,
                    Action::RemoveMember {
                        member_kind: r.kind,
                        member_name: mname.to_owned(),
                        member: TargetRef::Existing(o.pool.get(r.id).to_owned()),
                    },
                );
                self.push2(
                    op,
                    8,
                    None,
                    vec![],
                    format!("{mname}\0{}", o.pool.get(r.id)),
                );
                self.counts[class_idx(Destructive::MembershipRemoval)] += 1;
                self.managed[class_idx(Destructive::MembershipRemoval)] += 1;
            }
        }
    }

    /// Remove owned members from groups about to be deleted, before the delete.
    fn group_teardown(&mut self, deletes: &[(u32, u32)]) {
        let o = self.o;
        let mut by_gx: Vec<u32> = vec![NONE; o.group_ids.len()];
        for (i, (oi, _)) in deletes.iter().enumerate() {
            if let Some(gx) = o.group_index(o.pool.get(o.objects[*oi as usize].id)) {
                by_gx[gx as usize] = i as u32;
            }
        }
        let deleting: BTreeSet<u32> = self
            .drafts
            .iter()
            .filter(|dr| matches!(dr.op.action, Action::Delete) && dr.op.kind.is_account())
            .filter_map(|dr| dr.obj.map(|x| x.2))
            .collect();
        for (oi, r) in o.objects.iter().enumerate() {
            if !self.owned_kept_account(oi) || deleting.contains(&(oi as u32)) {
                continue;
            }
            for &gx in o.groups_of(r) {
                let i = by_gx.get(gx as usize).copied().unwrap_or(NONE);
                if i == NONE {
                    continue;
                }
                let g = o.pool.get(o.group_ids[gx as usize]);
                let (goi, del) = deletes[i as usize];
                let gr = &o.objects[goi as usize];
                let gsrc = self.drafts[del as usize].op.source_id.clone();
                let mname = o.pool.get(r.key);
                let op = self.op(
                    Kind::Group,
                    o.pool.get(gr.key),
                    gsrc.as_deref(),
                    Some(TargetRef::Existing(g.to_owned())),
                    None,
                    Action::RemoveMember {
                        member_kind: r.kind,
                        member_name: mname.to_owned(),
                        member: TargetRef::Existing(o.pool.get(r.id).to_owned()),
                    },
                );
                let rm = self.push2(
                    op,
                    8,
                    None,
                    vec![],
                    format!("{mname}\0{}", o.pool.get(r.id)),
                );
                self.drafts[del as usize].deps.push(rm);
                self.counts[class_idx(Destructive::MembershipRemoval)] += 1;
                self.managed[class_idx(Destructive::MembershipRemoval)] += 1;
            }
        }
    }

    fn finish(mut self, d: &DesiredSet) -> Plan {
        let pol = self.pol();
        // Deterministic order: phase, kind, name, source id, target, detail.
        let mut order: Vec<u32> = (0..self.drafts.len() as u32).collect();
        {
            let dr = &self.drafts;
            let key = |i: &u32| {
                let x = &dr[*i as usize];
                let t = match &x.op.target {
                    Some(TargetRef::Existing(s)) => s.as_str(),
                    _ => "",
                };
                (
                    x.phase,
                    x.op.kind,
                    x.op.name.as_str(),
                    x.op.source_id.as_deref().unwrap_or(""),
                    t,
                    x.sort2.as_str(),
                )
            };
            // Full ties (identical-looking ops) fall back to the op's content.
            order.sort_by(|a, b| {
                key(a).cmp(&key(b)).then_with(|| {
                    let (x, y) = (&dr[*a as usize].op, &dr[*b as usize].op);
                    format!("{:?}{:?}", x.action, x.target)
                        .cmp(&format!("{:?}{:?}", y.action, y.target))
                })
            });
        }
        let mut new_id = vec![0u32; self.drafts.len()];
        for (n, &old) in order.iter().enumerate() {
            new_id[old as usize] = n as u32;
        }
        let remap = |r: &mut TargetRef| {
            if let TargetRef::Created(c) = r {
                *c = new_id.get(*c as usize).copied().unwrap_or(*c);
            }
        };
        let mut drafts: Vec<Option<Draft>> = std::mem::take(&mut self.drafts)
            .into_iter()
            .map(Some)
            .collect();
        let mut ops: Vec<Op> = Vec::with_capacity(drafts.len());
        let mut last: FxMap<(Kind, bool, u32), u32> = FxMap::default();
        for (n, &old) in order.iter().enumerate() {
            let Some(mut x) = drafts[old as usize].take() else {
                continue;
            };
            let mut deps: Vec<u32> = x.deps.iter().map(|o| new_id[*o as usize]).collect();
            // Refs to created objects are deps too.
            let mut refs: Vec<&mut TargetRef> = Vec::new();
            if let Some(t) = x.op.target.as_mut() {
                refs.push(t);
            }
            if let Action::AddMember { member, .. } | Action::RemoveMember { member, .. } =
                &mut x.op.action
            {
                refs.push(member);
            }
            for r in refs {
                remap(r);
                if let TargetRef::Created(c) = r {
                    deps.push(*c);
                }
            }
            if let Some(obj) = x.obj
                && let Some(prev) = last.insert(obj, n as u32)
            {
                deps.push(prev);
            }
            deps.retain(|&x| (x as usize) < n);
            deps.sort_unstable();
            deps.dedup();
            x.op.id = n as u32;
            x.op.deps = deps;
            ops.push(x.op);
        }

        let mut summary = Summary::default();
        for op in &ops {
            let c = match op.action {
                Action::Create { .. } => &mut summary.create,
                Action::Adopt { .. } => &mut summary.adopt,
                Action::Rename { .. } => &mut summary.rename,
                Action::Update { .. } => &mut summary.update,
                Action::Enable => &mut summary.enable,
                Action::Disable => &mut summary.disable,
                Action::Delete => &mut summary.delete,
                Action::AddPhone { .. } => &mut summary.add_phone,
                Action::RemovePhone { .. } => &mut summary.remove_phone,
                Action::AddMember { .. } => &mut summary.add_member,
                Action::RemoveMember { .. } => &mut summary.remove_member,
                Action::Relink | Action::Unlink => &mut summary.link,
            };
            *c += 1;
        }
        self.problems.sort();
        self.problems.dedup();
        summary.problems = self.problems.len() as u64;
        summary.held = self.held;
        let common_failures = common_failures(&d.failures);

        let mut blocked = Vec::new();
        if !pol.allow_destructive {
            for (i, class) in Destructive::ALL.iter().enumerate() {
                let floor = pol.managed_floor.get(class).copied().unwrap_or(0);
                let (count, managed) = (self.counts[i], self.managed[i].max(floor));
                if count == 0 {
                    continue;
                }
                let why = pol.limits.get(*class).exceeded(count, managed);
                if !why.is_empty() {
                    blocked.push(Block {
                        class: Some(*class),
                        count,
                        managed,
                        reason: format!(
                            "{count} {} exceed the limit ({}); review the plan and run again with allow_destructive to proceed",
                            class.describe(),
                            why.join(", ")
                        ),
                    });
                }
            }
            let accounts_out: u64 = [
                Destructive::UserDelete,
                Destructive::UserDisable,
                Destructive::AdminDelete,
                Destructive::AdminDisable,
            ]
            .iter()
            .map(|c| self.counts[class_idx(*c)])
            .sum();
            let source_accounts = d.objects.iter().filter(|r| r.kind.is_account()).count() as u64
                + d.failures.iter().filter(|f| f.kind.is_account()).count() as u64;
            let linked = self.linked_accounts;
            if let Some(pct) = pol.shrink_guard_percent
                && accounts_out > 0
                && pol.managed_floor.is_empty()
                && !self.inp.rule_deleted
                && source_accounts > 0
                && linked >= pol.empty_source_guard.unwrap_or(10).max(1)
                && u128::from(source_accounts) * 100 < u128::from(pct) * u128::from(linked)
            {
                blocked.push(Block {
                    class: None,
                    count: accounts_out,
                    managed: linked,
                    reason: format!(
                        "the source holds {source_accounts} accounts while {linked} are linked (under {pct}%), and {accounts_out} would be disabled or deleted; check the source and the rule's scope, or run again with allow_destructive"
                    ),
                });
            }
            if let Some(min) = pol.empty_source_guard
                && !self.inp.rule_deleted
                && d.objects.iter().all(|r| !r.kind.is_account())
                && d.failures.is_empty()
            {
                let linked = self.linked_accounts;
                if linked >= min && linked > 0 {
                    blocked.push(Block {
                        class: None,
                        count: linked,
                        managed: linked,
                        reason: format!(
                            "the source returned no account while {linked} accounts are linked (guard: {min}); check the source and the rule's scope, or run again with allow_destructive"
                        ),
                    });
                }
            }
        }
        let mut plan = Plan {
            version: PLAN_SCHEMA_VERSION,
            rule: self.inp.rule.to_owned(),
            hash: String::new(),
            blocked,
            summary,
            ops,
            problems: self.problems,
            common_failures,
        };
        plan.hash = plan.compute_hash();
        plan
    }
}

/// The value of attribute `id` among a record's slots.
fn attr_of(
    pool: &crate::model::Pool,
    attrs: (u32, u32),
    id: crate::model::AttrId,
) -> Option<Val<'_>> {
    pool.slots(attrs.0, attrs.1)
        .iter()
        .find(|s| s.attr == id)
        .and_then(|s| pool.val(s))
}

fn show_val(v: Val<'_>) -> String {
    serde_json::to_string(&v.to_value()).unwrap_or_default()
}

/// Failure causes shared by two or more source objects, most common first.
fn common_failures(failures: &[crate::model::Failure]) -> Vec<CommonFailure> {
    let mut by: std::collections::BTreeMap<(Kind, &str), u64> = Default::default();
    for f in failures.iter().filter(|f| !f.cause.is_empty()) {
        *by.entry((f.kind, f.cause.as_str())).or_default() += 1;
    }
    let mut out: Vec<CommonFailure> = by
        .into_iter()
        .filter(|(_, n)| *n >= 2)
        .map(|((kind, cause), count)| CommonFailure {
            kind,
            count,
            cause: cause.to_owned(),
        })
        .collect();
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| (a.kind, &a.cause).cmp(&(b.kind, &b.cause)))
    });
    out
}
