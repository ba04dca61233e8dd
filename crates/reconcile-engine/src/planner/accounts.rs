//! Planner steps on single target objects: diff a paired object (key,
//! attributes, enabled state, phones), and deprovision what left the rule.

use super::index::key_hash;
use super::{
    Draft, NONE, ObjectRef, Phase, PhoneIndex, Planner, Resolution, Subject, TargetAt,
    disable_class, key_eq,
};
use crate::fx::{FxMap, map_with_capacity};
use crate::model::{DRec, DesiredSet, EmptyPolicy, Kind, ORec, ObservedSet, PRec, WritePolicy};
use crate::plan::{Action, AttrChange, ProblemCode};
use crate::policy::{Destructive, PhoneCleanup, RemoveAction};

/// A group planned for deletion: (observed index, its delete draft).
pub(super) type GroupDelete = (u32, u32);

impl<'a> PhoneIndex<'a> {
    fn build(observed: &'a ObservedSet, desired: &'a DesiredSet) -> Self {
        let mut id_by_number: FxMap<&'a str, &'a str> = map_with_capacity(observed.phones.len());
        let mut holders: FxMap<&'a str, u32> = map_with_capacity(observed.phones.len());
        for p in &observed.phones {
            let (id, number) = (observed.pool.get(p.id), observed.pool.get(p.number));
            let e = id_by_number.entry(number).or_insert(id);
            if id < *e {
                *e = id;
            }
            *holders.entry(id).or_insert(0) += 1;
        }
        let mut wanted = FxMap::default();
        for r in &desired.objects {
            if let Some(n) = desired.pool.get_opt(r.phone) {
                wanted.insert(n, ());
            }
        }
        PhoneIndex {
            id_by_number,
            holders,
            wanted,
        }
    }
}

impl<'a> Planner<'a> {
    /// Pair linked objects (and adopted ones): diff a desired object against
    /// the observed object it maps to. A linked object with nothing to
    /// change but a new fingerprint is relinked.
    pub(super) fn pair(
        &mut self,
        di: u32,
        oi: u32,
        link: Option<u32>,
        adopted: bool,
    ) -> Resolution {
        let policy = self.policy();
        let rec: DRec = self.desired.objects[di as usize];
        let obs: ORec = self.observed.objects[oi as usize];
        let (src, key) = (self.desired_str(rec.id), self.desired_str(rec.key));
        let subject = Subject {
            kind: rec.kind,
            name: key,
            source_id: Some(src),
            target: Some(TargetAt::Existing(self.observed_str(obs.id))),
            fingerprint: Some(rec.fingerprint),
        };
        let object = ObjectRef::Observed(oi);
        let before = self.drafts.len();
        let mut not_allowed: Vec<String> = Vec::new();

        let observed_key = self.observed_str(obs.key);
        if !key_eq(key, observed_key, policy.key_compare) {
            if policy.update {
                let op = subject.op(Action::Rename {
                    from: observed_key.to_owned(),
                    to: key.to_owned(),
                });
                let rename = self.push(Draft::new(Phase::Rename, op).on(object));
                self.renaming.insert(oi, rename);
                let h = key_hash(rec.kind, key, policy.key_compare);
                self.new_keys.entry(h).or_default().push(di);
            } else {
                not_allowed.push(format!("key {observed_key:?} → {key:?}"));
            }
        }
        if obs.fingerprint != Some(rec.fingerprint) {
            let changes = self.diff(&rec, &obs);
            if !changes.is_empty() {
                if policy.update {
                    let op = subject.op(Action::Update { changes });
                    self.push(Draft::new(Phase::Update, op).on(object));
                } else {
                    not_allowed.extend(changes.iter().map(|c| c.attr.clone()));
                }
            }
        }
        if rec.kind.is_account() {
            if rec.enabled && !obs.enabled {
                if policy.update {
                    self.push(Draft::new(Phase::Enable, subject.op(Action::Enable)).on(object));
                } else {
                    not_allowed.push("enable".to_owned());
                }
            } else if !rec.enabled && obs.enabled {
                if policy.update && policy.disable {
                    self.push(Draft::new(Phase::Disable, subject.op(Action::Disable)).on(object));
                    self.destructive.add(disable_class(rec.kind), 1);
                } else {
                    not_allowed.push("disable".to_owned());
                }
            }
            self.phones(&rec, &obs, &subject, object, &mut not_allowed);
        }
        if !not_allowed.is_empty() {
            self.problem(rec.kind, src, key, ProblemCode::UpdateNotAllowed, format!(
                "target differs ({}) and the rule does not allow updates; enable updates to converge",
                not_allowed.join(", ")));
        }
        if !adopted
            && self.drafts.len() == before
            && let Some(li) = link
            && self.links.links[li as usize].fingerprint != rec.fingerprint
        {
            let op = subject.op(Action::Relink);
            self.push(Draft::new(Phase::RelinkUnlink, op).on(object));
        }
        Resolution::Existing(oi)
    }

    /// Add the wanted phone; remove the others if the cleanup policy says so.
    fn phones(
        &mut self,
        rec: &DRec,
        obs: &ORec,
        subject: &Subject<'_>,
        object: ObjectRef,
        not_allowed: &mut Vec<String>,
    ) {
        let policy = self.policy();
        let want = self.desired.pool.get_opt(rec.phone);
        let have = self.observed.phones_of(obs);
        if let Some(number) = want
            && !have.iter().any(|p| self.observed_str(p.number) == number)
        {
            if policy.update {
                let phone_id = self.phone_id(number);
                let op = subject.op(Action::AddPhone {
                    number: number.to_owned(),
                    phone_id,
                });
                self.push(
                    Draft::new(Phase::AddPhone, op)
                        .on(object)
                        .detail(number.to_owned()),
                );
            } else {
                not_allowed.push(format!("phone {number}"));
            }
        }
        if policy.phone_cleanup == PhoneCleanup::Keep || !policy.update {
            return;
        }
        for phone in have {
            if Some(self.observed_str(phone.number)) == want
                || (phone.activated
                    && policy.phone_cleanup != PhoneCleanup::RemoveUnusedIncludingActivated)
            {
                continue;
            }
            self.remove_phone(subject, object, phone);
        }
    }

    /// Take a phone off an account; delete the phone only when no other
    /// account holds it and no desired account wants its number.
    fn remove_phone(&mut self, subject: &Subject<'_>, object: ObjectRef, phone: &PRec) {
        let (phone_id, number) = (self.observed_str(phone.id), self.observed_str(phone.number));
        let index = self.phone_index();
        let holders = index.holders.get(phone_id).copied().unwrap_or(1);
        // A number some desired account wants is only detached, never deleted.
        let holders = holders + u32::from(index.wanted.contains_key(number));
        let op = subject.op(Action::RemovePhone {
            number: number.to_owned(),
            phone_id: phone_id.to_owned(),
            delete_phone: holders <= 1,
        });
        self.push(
            Draft::new(Phase::RemovePhone, op)
                .on(object)
                .detail(format!("{number}\0{phone_id}")),
        );
    }

    /// The target's phone with this number, if any (the smallest id).
    pub(super) fn phone_id(&mut self, number: &str) -> Option<String> {
        let index = self.phone_index();
        index.id_by_number.get(number).map(|id| (*id).to_owned())
    }

    fn phone_index(&mut self) -> &PhoneIndex<'a> {
        let (observed, desired) = (self.observed, self.desired);
        self.phone_index
            .get_or_insert_with(|| PhoneIndex::build(observed, desired))
    }

    /// The attributes that differ, skipping those written only on create.
    fn diff(&self, rec: &DRec, obs: &ORec) -> Vec<AttrChange> {
        let (desired, observed) = (&self.desired.pool, &self.observed.pool);
        let want_slots = desired.slots(rec.attrs.0, rec.attrs.1);
        let have_slots = observed.slots(obs.attrs.0, obs.attrs.1);
        let mut out = Vec::new();
        let mut j = 0;
        for slot in want_slots {
            while j < have_slots.len() && have_slots[j].attr < slot.attr {
                j += 1;
            }
            let have = (j < have_slots.len() && have_slots[j].attr == slot.attr)
                .then(|| observed.val(&have_slots[j]))
                .flatten();
            let Some(def) = self.inputs.schema.def(slot.attr) else {
                continue;
            };
            if def.when == WritePolicy::OnCreate {
                continue;
            }
            let want = desired.val(slot);
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

    /// Deprovision what left: links whose desired object is gone (every
    /// link, when the rule is deleted). Returns the groups to delete.
    pub(super) fn deprovision_departed(&mut self) -> Vec<GroupDelete> {
        let (policy, links) = (self.policy(), self.links);
        let mut group_deletes = Vec::new();
        for (li, link) in links.links.iter().enumerate() {
            if self.link_kept[li] || !self.managed_kind(link.kind) {
                continue;
            }
            let oi = self.link_target[li];
            let (src, tid) = (links.pool.get(link.source), links.pool.get(link.target));
            if self.failed.contains(&(link.kind, src)) {
                // Held: a source that fails is not a source that left.
                if oi != NONE {
                    self.hold(link.kind, src, oi);
                }
                continue;
            }
            let mut subject = Subject {
                kind: link.kind,
                name: tid,
                source_id: Some(src),
                target: Some(TargetAt::Existing(tid)),
                fingerprint: None,
            };
            if oi == NONE || self.observed.objects[oi as usize].guard.is_some() {
                // Gone from the target, or never the rule's to touch: forget it.
                let op = subject.op(Action::Unlink);
                self.push(Draft::new(Phase::RelinkUnlink, op).on(ObjectRef::Link(li as u32)));
                continue;
            }
            if self.inputs.rule_deleted && !policy.deprovision_on_rule_deletion {
                subject.name = self.observed_str(self.observed.objects[oi as usize].key);
                let op = subject.op(Action::Unlink);
                self.push(Draft::new(Phase::RelinkUnlink, op).on(ObjectRef::Observed(oi)));
                continue;
            }
            if policy.deprovision {
                self.deprovision(oi, src, link.adopted, &mut group_deletes);
            }
        }
        group_deletes
    }

    /// Apply the remove action to a linked object whose source left.
    fn deprovision(
        &mut self,
        oi: u32,
        src: &str,
        adopted: bool,
        group_deletes: &mut Vec<GroupDelete>,
    ) {
        let policy = self.policy();
        let obs = self.observed.objects[oi as usize];
        let kind = obs.kind;
        let subject = Subject {
            kind,
            name: self.observed_str(obs.key),
            source_id: Some(src),
            target: Some(TargetAt::Existing(self.observed_str(obs.id))),
            fingerprint: None,
        };
        let object = ObjectRef::Observed(oi);
        if kind == Kind::Group && adopted {
            // Only groups the rule created are deleted: an adopted one is let go.
            let op = subject.op(Action::Unlink);
            self.push(Draft::new(Phase::RelinkUnlink, op).on(object));
            return;
        }
        let remove = if kind.is_account() {
            policy.remove_action
        } else {
            RemoveAction::Delete
        };
        match remove {
            RemoveAction::Delete => {
                if kind.is_account() && policy.phone_cleanup != PhoneCleanup::Keep {
                    for phone in self.observed.phones_of(&obs) {
                        if phone.activated
                            && policy.phone_cleanup != PhoneCleanup::RemoveUnusedIncludingActivated
                        {
                            continue;
                        }
                        let (phone_id, number) =
                            (self.observed_str(phone.id), self.observed_str(phone.number));
                        let index = self.phone_index();
                        let shared = index.holders.get(phone_id).copied().unwrap_or(1) > 1;
                        if !shared && !index.wanted.contains_key(number) {
                            self.remove_phone(&subject, object, phone);
                        }
                    }
                }
                let (phase, class) = match kind {
                    Kind::User => (Phase::DeleteAccount, Destructive::UserDelete),
                    Kind::Admin => (Phase::DeleteAccount, Destructive::AdminDelete),
                    Kind::Group => (Phase::DeleteGroup, Destructive::GroupDelete),
                };
                let delete = self.push(Draft::new(phase, subject.op(Action::Delete)).on(object));
                self.destructive.add(class, 1);
                if kind == Kind::Group {
                    group_deletes.push((oi, delete));
                }
            }
            RemoveAction::Disable => {
                if kind.is_account() {
                    self.leaving.push(oi);
                }
                if obs.enabled {
                    self.push(Draft::new(Phase::Disable, subject.op(Action::Disable)).on(object));
                    self.destructive.add(disable_class(kind), 1);
                }
                if self.inputs.rule_deleted {
                    let op = subject.op(Action::Unlink);
                    self.push(Draft::new(Phase::RelinkUnlink, op).on(object));
                }
            }
        }
    }

    /// The linked target of a failed source: reported, never touched.
    fn hold(&mut self, kind: Kind, src: &str, oi: u32) {
        let obs = self.observed.objects[oi as usize];
        let name = self
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
            kind.as_str(), self.observed_str(obs.id), self.observed_str(obs.key)));
    }
}
