//! Planner steps: pair linked objects (desired objects with their linked
//! target objects), and match or create unlinked ones (adopt, refuse, create).

use std::collections::BTreeSet;

use super::index::{key_hash, sorted_order};
use super::{Draft, NONE, ObjectRef, Phase, Planner, Resolution, Subject, TargetAt, key_eq};
use crate::fx::{FxMap, map_with_capacity};
use crate::model::{AttrId, Guard, Kind, Pool, S, Val};
use crate::plan::{Action, AttrChange, ProblemCode};

/// A desired object with no usable link: (desired index, its stale link).
pub(super) type Unlinked = (u32, Option<u32>);

impl Planner<'_> {
    /// Pair linked objects: merge the desired objects with the links, both
    /// by (kind, source id). A desired object whose link names an existing,
    /// unguarded object is diffed against it; the others are returned.
    pub(super) fn pair_linked(
        &mut self,
        desired_order: &[u32],
        resolution: &mut [Resolution],
    ) -> Vec<Unlinked> {
        let (desired, links) = (self.desired, self.links);
        let links_by_source = sorted_order(links.links.len(), |i| {
            let r = &links.links[i];
            (r.kind, links.pool.get(r.source))
        });
        // A second link for the same source object is ignored, never deprovisioned.
        for w in links_by_source.windows(2) {
            let (x, y) = (&links.links[w[0] as usize], &links.links[w[1] as usize]);
            if (x.kind, links.pool.get(x.source)) == (y.kind, links.pool.get(y.source)) {
                self.link_kept[w[1] as usize] = true;
            }
        }
        let mut unlinked = Vec::new();
        let mut j = 0usize;
        let mut prev: Option<(Kind, &str)> = None;
        for &di in desired_order {
            let rec = desired.objects[di as usize];
            if !self.managed_kind(rec.kind) {
                continue;
            }
            let id = (rec.kind, desired.pool.get(rec.id));
            if prev == Some(id) {
                let src = id.1;
                self.problem(
                    rec.kind,
                    src,
                    self.desired_str(rec.key),
                    ProblemCode::DuplicateSource,
                    format!(
                        "source id {src:?} appears more than once; fix the source or the mapping"
                    ),
                );
                continue;
            }
            prev = Some(id);
            while let Some(&li) = links_by_source.get(j) {
                let link = &links.links[li as usize];
                if (link.kind, links.pool.get(link.source)) < id {
                    j += 1;
                } else {
                    break;
                }
            }
            let link = links_by_source.get(j).copied().filter(|&li| {
                let link = &links.links[li as usize];
                (link.kind, links.pool.get(link.source)) == id
            });
            let Some(li) = link else {
                unlinked.push((di, None));
                continue;
            };
            self.link_kept[li as usize] = true;
            let oi = self.link_target[li as usize];
            if oi == NONE {
                unlinked.push((di, Some(li)));
            } else if let Some((guard, why)) = self.observed.objects[oi as usize].guard {
                self.guarded(di, oi, guard, why, "is linked by this rule but");
            } else {
                resolution[di as usize] = self.pair(di, oi, Some(li), false);
            }
        }
        unlinked
    }

    /// Match or create unlinked ones (already in source-id order): find the
    /// target objects with each one's key, then adopt, refuse or create.
    pub(super) fn match_or_create_unlinked(
        &mut self,
        unlinked: &[Unlinked],
        resolution: &mut [Resolution],
    ) {
        if unlinked.is_empty() {
            return;
        }
        let (desired, observed) = (self.desired, self.observed);
        let mode = self.policy().key_compare;
        let pending: BTreeSet<(Kind, &str)> = self
            .inputs
            .pending
            .iter()
            .map(|p| (p.kind, p.source_id.as_str()))
            .collect();
        // One sequential pass over the observed keys, keeping only the
        // objects whose key hash some unlinked desired object wants.
        let mut by_key_hash: FxMap<u64, Vec<u32>> = map_with_capacity(unlinked.len());
        for &(di, _) in unlinked {
            let r = &desired.objects[di as usize];
            by_key_hash
                .entry(key_hash(r.kind, desired.pool.get(r.key), mode))
                .or_default();
        }
        for (oi, r) in observed.objects.iter().enumerate() {
            if let Some(v) = by_key_hash.get_mut(&key_hash(r.kind, observed.pool.get(r.key), mode))
            {
                v.push(oi as u32);
            }
        }
        for &(di, stale) in unlinked {
            let rec = desired.objects[di as usize];
            let (src, key) = (desired.pool.get(rec.id), desired.pool.get(rec.key));
            let mut candidates: Vec<u32> = by_key_hash
                .get(&key_hash(rec.kind, key, mode))
                .map(|v| {
                    v.iter()
                        .copied()
                        .filter(|&oi| {
                            let r = &observed.objects[oi as usize];
                            r.kind == rec.kind && key_eq(observed.pool.get(r.key), key, mode)
                        })
                        .collect()
                })
                .unwrap_or_default();
            candidates.sort_by(|a, b| {
                observed
                    .pool
                    .get(observed.objects[*a as usize].id)
                    .cmp(observed.pool.get(observed.objects[*b as usize].id))
            });
            let is_pending = pending.contains(&(rec.kind, src));
            resolution[di as usize] = self.match_or_create(di, stale, &candidates, is_pending);
        }
    }

    /// Choose between adoption, a problem and a create for an unlinked
    /// desired object, given the target objects with its key. A target
    /// object linked to another source (even one that left) is never handed
    /// over; one the adoption policy does not allow is a problem, never a
    /// create beside it.
    fn match_or_create(
        &mut self,
        di: u32,
        stale: Option<u32>,
        candidates: &[u32],
        pending: bool,
    ) -> Resolution {
        let rec = self.desired.objects[di as usize];
        let (src, key) = (self.desired_str(rec.id), self.desired_str(rec.key));
        let (mut orphaned, mut free, mut taken, mut guarded) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        // Objects being renamed away free their key: create after the rename.
        let mut renames = Vec::new();
        for &oi in candidates {
            if let Some(&rename) = self.renaming.get(&oi) {
                renames.push(rename);
                continue;
            }
            if self.observed.objects[oi as usize].guard.is_some() {
                guarded.push(oi);
                continue;
            }
            let owner = self.owner[oi as usize];
            if self.claimed[oi as usize] || (owner != NONE && self.link_kept[owner as usize]) {
                taken.push(oi);
            } else if owner != NONE {
                orphaned.push(oi);
            } else {
                free.push(oi);
            }
        }
        match free.as_slice() {
            [] => {}
            [one] => return self.try_adopt(di, stale, *one, pending),
            many => {
                let ids: Vec<&str> = many
                    .iter()
                    .map(|oi| self.observed_str(self.observed.objects[*oi as usize].id))
                    .collect();
                self.problem(rec.kind, src, key, ProblemCode::Ambiguous, format!(
                    "{} target {}s match key {key:?} ({}); link one explicitly or remove the duplicates",
                    many.len(), rec.kind.as_str(), ids.join(", ")));
                self.unlink_stale(rec.kind, src, key, stale);
                return Resolution::Unresolved;
            }
        }
        if let Some(&oi) = guarded.first() {
            if let Some((guard, why)) = self.observed.objects[oi as usize].guard {
                self.guarded(di, oi, guard, why, "has this key but");
            }
            self.unlink_stale(rec.kind, src, key, stale);
            return Resolution::Unresolved;
        }
        if let Some(&oi) = orphaned.first() {
            let obs = self.observed.objects[oi as usize];
            let old = self.link_str(self.links.links[self.owner[oi as usize] as usize].source);
            self.problem(rec.kind, src, key, ProblemCode::AdoptRefused, format!(
                "not adopted: target {} {} has key {:?} and is linked to source {old:?}, which left the rule (its remove action applies); a target is never handed to another source automatically: link it explicitly if it is the same person, or give one of them another key",
                rec.kind.as_str(), self.observed_str(obs.id), self.observed_str(obs.key)));
            self.unlink_stale(rec.kind, src, key, stale);
            return Resolution::Unresolved;
        }
        if let Some(&oi) = taken.first() {
            let owner = self.owner[oi as usize];
            let holder = (owner != NONE).then(|| {
                self.link_str(self.links.links[owner as usize].source)
                    .to_owned()
            });
            let by = holder.as_ref().map_or_else(
                || "another desired object".to_owned(),
                |h| format!("source {h:?}"),
            );
            self.problem(rec.kind, src, key, ProblemCode::KeyTaken, format!(
                "target {} {} has key {key:?} but is already managed for {by}; change one of the keys",
                rec.kind.as_str(), self.observed_str(self.observed.objects[oi as usize].id)));
            if let Some(p) = self.last_problem() {
                p.other_source = holder;
            }
            self.unlink_stale(rec.kind, src, key, stale);
            return Resolution::Unresolved;
        }
        // Two desired objects with one key must not both be created.
        let mode = self.policy().key_compare;
        let desired = self.desired;
        let same_key = self
            .new_keys
            .entry(key_hash(rec.kind, key, mode))
            .or_default();
        if let Some(&other) = same_key.iter().find(|&&other| {
            let r = &desired.objects[other as usize];
            r.kind == rec.kind && key_eq(desired.pool.get(r.key), key, mode)
        }) {
            let by = self.desired_str(self.desired.objects[other as usize].id);
            self.problem(rec.kind, src, key, ProblemCode::KeyTaken, format!(
                "source {by:?} takes the same key {key:?} in this plan; give each source object its own key"));
            if let Some(p) = self.last_problem() {
                p.other_source = Some(by.to_owned());
            }
            self.unlink_stale(rec.kind, src, key, stale);
            return Resolution::Unresolved;
        }
        same_key.push(di);
        self.create(di, stale, pending, renames)
    }

    /// A desired object meets a guarded target object: a problem, no write.
    fn guarded(&mut self, di: u32, oi: u32, guard: Guard, why: S, how: &str) {
        let rec = self.desired.objects[di as usize];
        let obs = self.observed.objects[oi as usize];
        let (src, key) = (self.desired_str(rec.id), self.desired_str(rec.key));
        let (code, lead) = match guard {
            Guard::Protected => (ProblemCode::Protected, "not adopted or written"),
            Guard::OwnedElsewhere => (ProblemCode::OwnedElsewhere, "left alone"),
        };
        self.problem(
            rec.kind,
            src,
            key,
            code,
            format!(
                "{lead}: target {} {} ({:?}) {how} {}",
                rec.kind.as_str(),
                self.observed_str(obs.id),
                self.observed_str(obs.key),
                self.observed_str(why)
            ),
        );
    }

    /// Adopt the one free target object with the key, if the adoption policy
    /// allows it; else a problem and nothing else.
    fn try_adopt(&mut self, di: u32, stale: Option<u32>, oi: u32, pending: bool) -> Resolution {
        let rec = self.desired.objects[di as usize];
        let obs = self.observed.objects[oi as usize];
        let (src, key) = (self.desired_str(rec.id), self.desired_str(rec.key));
        let observed_key = self.observed_str(obs.key);
        if pending {
            // Our own create whose answer was lost: the object is ours.
            let evidence = vec![format!(
                "key {observed_key:?} (own create whose answer was lost)"
            )];
            return self.adopt(di, oi, evidence);
        }
        let adoption = &self.policy().adoption;
        let kind = rec.kind.as_str();
        let mut evidence = vec![format!("key {observed_key:?}")];
        let mut refused = None;
        let allowed = if rec.kind.is_account() {
            adoption.accounts
        } else {
            adoption.groups
        };
        let confirm: &[String] = match rec.kind {
            Kind::User => &adoption.confirm_users,
            Kind::Admin => &adoption.confirm_admins,
            Kind::Group => &[],
        };
        if !allowed {
            refused = Some(format!("this rule does not adopt existing {kind}s"));
        } else if adoption.exact_key && observed_key != key {
            refused = Some(format!(
                "{observed_key:?} matches {key:?} only ignoring case (adoption needs the exact key)"
            ));
        } else {
            for attr in confirm {
                let id = self.inputs.schema.get(attr);
                let want = id.and_then(|id| attr_of(&self.desired.pool, rec.attrs, id));
                let have = id.and_then(|id| attr_of(&self.observed.pool, obs.attrs, id));
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
            self.problem(rec.kind, src, key, ProblemCode::AdoptRefused, format!(
                "not adopted: target {kind} {} has key {observed_key:?} but {why}; nothing is written to it or created beside it: link it explicitly if it is the same {kind}, or give one of them another key",
                self.observed_str(obs.id)));
            self.unlink_stale(rec.kind, src, key, stale);
            return Resolution::Unresolved;
        }
        self.adopt(di, oi, evidence)
    }

    /// Link an existing target object to a desired one, then diff them.
    fn adopt(&mut self, di: u32, oi: u32, evidence: Vec<String>) -> Resolution {
        let rec = self.desired.objects[di as usize];
        let tid = self.observed_str(self.observed.objects[oi as usize].id);
        self.claimed[oi as usize] = true;
        let subject = Subject {
            kind: rec.kind,
            name: self.desired_str(rec.key),
            source_id: Some(self.desired_str(rec.id)),
            target: Some(TargetAt::Existing(tid)),
            fingerprint: Some(rec.fingerprint),
        };
        let op = subject.op(Action::Adopt { evidence });
        self.push(Draft::new(Phase::Adopt, op).on(ObjectRef::Observed(oi)));
        self.pair(di, oi, None, true)
    }

    /// Create a desired object (and give it its phone), after the renames
    /// that free its key; or a problem when the policy does not allow it.
    fn create(
        &mut self,
        di: u32,
        stale: Option<u32>,
        lookup_first: bool,
        after: Vec<u32>,
    ) -> Resolution {
        let rec = self.desired.objects[di as usize];
        let (src, key) = (self.desired_str(rec.id), self.desired_str(rec.key));
        if !self.policy().create {
            self.problem(rec.kind, src, key, ProblemCode::CreateNotAllowed,
                format!("no target {} has key {key:?} and the rule does not allow creating it; enable creation or create it by hand", rec.kind.as_str()));
            self.unlink_stale(rec.kind, src, key, stale);
            return Resolution::Unresolved;
        }
        let pool = &self.desired.pool;
        let mut attrs = Vec::new();
        for slot in pool.slots(rec.attrs.0, rec.attrs.1) {
            if let Some(v) = pool.val(slot) {
                attrs.push(AttrChange {
                    attr: self.inputs.schema.name(slot.attr).to_owned(),
                    before: None,
                    after: Some(v.to_value()),
                });
            }
        }
        let action = Action::Create {
            attrs,
            enabled: rec.enabled || !rec.kind.is_account(),
            lookup_first,
        };
        let mut subject = Subject {
            kind: rec.kind,
            name: key,
            source_id: Some(src),
            target: None,
            fingerprint: Some(rec.fingerprint),
        };
        let phase = if rec.kind == Kind::Group {
            Phase::CreateGroup
        } else {
            Phase::CreateAccount
        };
        let object = ObjectRef::New(di);
        let create = self.push(
            Draft::new(phase, subject.op(action))
                .on(object)
                .after(after),
        );
        if rec.kind.is_account()
            && let Some(number) = pool.get_opt(rec.phone)
        {
            let phone_id = self.phone_id(number);
            subject.target = Some(TargetAt::Created(create));
            let op = subject.op(Action::AddPhone {
                number: number.to_owned(),
                phone_id,
            });
            self.push(
                Draft::new(Phase::AddPhone, op)
                    .on(object)
                    .detail(number.to_owned()),
            );
        }
        Resolution::Created(create)
    }

    /// A desired object left unresolved forgets its link to a target object
    /// that is gone.
    fn unlink_stale(&mut self, kind: Kind, src: &str, name: &str, stale: Option<u32>) {
        let Some(li) = stale else { return };
        let tid = self.link_str(self.links.links[li as usize].target);
        let subject = Subject {
            kind,
            name,
            source_id: Some(src),
            target: Some(TargetAt::Existing(tid)),
            fingerprint: None,
        };
        let op = subject.op(Action::Unlink);
        self.push(Draft::new(Phase::RelinkUnlink, op).on(ObjectRef::Link(li)));
    }
}

/// The value of attribute `id` among a record's slots.
fn attr_of(pool: &Pool, attrs: (u32, u32), id: AttrId) -> Option<Val<'_>> {
    pool.slots(attrs.0, attrs.1)
        .iter()
        .find(|s| s.attr == id)
        .and_then(|s| pool.val(s))
}

fn show_val(v: Val<'_>) -> String {
    serde_json::to_string(&v.to_value()).unwrap_or_default()
}
