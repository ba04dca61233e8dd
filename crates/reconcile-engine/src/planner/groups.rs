//! Planner steps for pushed groups: memberships of the desired accounts,
//! leavers' memberships, and the teardown of groups about to be deleted.

use std::collections::BTreeSet;

use super::accounts::GroupDelete;
use super::index::sorted_order;
use super::{Draft, NONE, ObjectRef, Phase, Planner, Resolution, Subject, TargetAt};
use crate::model::{Kind, ORec};
use crate::plan::{Action, ProblemCode, TargetRef};
use crate::policy::Destructive;

impl<'a> Planner<'a> {
    /// Memberships: add each resolved account to the resolved groups it
    /// should be in, and remove it from the owned groups it should not be in.
    /// Only owned accounts and owned groups are ever involved.
    pub(super) fn memberships(&mut self, resolution: &[Resolution], desired_order: &[u32]) {
        let (desired, observed) = (self.desired, self.observed);
        // Membership group refs (interned while filling) -> desired group index;
        // owned observed groups (by interned group id) -> desired group index.
        let mut group_of_ref: Vec<u32> = vec![NONE; desired.group_refs.len()];
        let mut any_group = false;
        let mut owned_group: Vec<u32> = vec![NONE; observed.group_ids.len()];
        let mut any_owned = false;
        for (di, r) in desired.objects.iter().enumerate() {
            if r.kind != Kind::Group {
                continue;
            }
            any_group = true;
            if let Some(gx) = desired.group_ref(desired.pool.get(r.id))
                && group_of_ref[gx as usize] == NONE
            {
                group_of_ref[gx as usize] = di as u32;
            }
            if let Resolution::Existing(oi) = resolution[di]
                && let Some(gx) =
                    observed.group_index(observed.pool.get(observed.objects[oi as usize].id))
            {
                owned_group[gx as usize] = di as u32;
                any_owned = true;
            }
        }
        if !any_group && !any_owned {
            return;
        }
        let want = self.wanted_memberships(desired_order, &group_of_ref);
        let mut w = 0usize;
        let mut have: Vec<u32> = Vec::new();
        for (pos, &mi) in desired_order.iter().enumerate() {
            let member = &desired.objects[mi as usize];
            let pos = pos as u32;
            while w < want.len() && want[w].0 < pos {
                w += 1;
            }
            let start = w;
            while w < want.len() && want[w].0 == pos {
                w += 1;
            }
            if !member.kind.is_account() {
                continue;
            }
            let wanted = &want[start..w];
            have.clear();
            let member_ref = match resolution[mi as usize] {
                Resolution::Existing(oi) => {
                    let obs = &observed.objects[oi as usize];
                    for &gx in observed.groups_of(obs) {
                        let gi = owned_group.get(gx as usize).copied().unwrap_or(NONE);
                        if gi != NONE {
                            have.push(gi);
                        }
                    }
                    have.sort_unstable();
                    have.dedup();
                    self.managed
                        .add(Destructive::MembershipRemoval, have.len() as u64);
                    TargetRef::Existing(observed.pool.get(obs.id).to_owned())
                }
                Resolution::Created(c) => TargetRef::Created(c),
                Resolution::Unresolved => continue,
            };
            if wanted.is_empty() && have.is_empty() {
                continue;
            }
            let (member_kind, member_name) = (member.kind, desired.pool.get(member.key));
            let detail = || format!("{member_name}\0{}", desired.pool.get(member.id));
            // Adds: wanted groups the account is not in.
            for &(_, gi) in wanted {
                if have.binary_search(&gi).is_ok() {
                    continue;
                }
                let Some(group) = self.group_subject(gi, resolution) else {
                    continue;
                };
                let mut deps = Vec::new();
                if let Resolution::Created(c) = resolution[gi as usize] {
                    deps.push(c);
                }
                if let Resolution::Created(c) = resolution[mi as usize] {
                    deps.push(c);
                }
                let op = group.op(Action::AddMember {
                    member_kind,
                    member_name: member_name.to_owned(),
                    member: member_ref.clone(),
                });
                self.push(
                    Draft::new(Phase::AddMember, op)
                        .after(deps)
                        .detail(detail()),
                );
            }
            // Removals: owned groups the account is in but should not be.
            for &gi in &have {
                if wanted.iter().any(|x| x.1 == gi) {
                    continue;
                }
                let Some(group) = self.group_subject(gi, resolution) else {
                    continue;
                };
                let op = group.op(Action::RemoveMember {
                    member_kind,
                    member_name: member_name.to_owned(),
                    member: member_ref.clone(),
                });
                self.push(Draft::new(Phase::RemoveMember, op).detail(detail()));
                self.destructive.add(Destructive::MembershipRemoval, 1);
            }
        }
    }

    /// Desired memberships as (member position in `desired_order`, desired
    /// group index), sorted; unknown references are reported.
    fn wanted_memberships(
        &mut self,
        desired_order: &[u32],
        group_of_ref: &[u32],
    ) -> Vec<(u32, u32)> {
        let desired = self.desired;
        let mut want: Vec<(u32, u32)> = Vec::with_capacity(desired.memberships.len());
        if desired.memberships.is_empty() {
            return want;
        }
        // Members are matched against users, then admins, by merging
        // memberships sorted by member source id with the sorted desired set.
        let kind_range = |k: Kind| {
            let lo = desired_order.partition_point(|&i| desired.objects[i as usize].kind < k);
            let hi = desired_order.partition_point(|&i| desired.objects[i as usize].kind <= k);
            (lo, hi)
        };
        let ranges = [kind_range(Kind::User), kind_range(Kind::Admin)];
        let mut cursor = [ranges[0].0, ranges[1].0];
        let by_member = sorted_order(desired.memberships.len(), |i| {
            desired.pool.get(desired.memberships[i].1)
        });
        let source_id_at = |p: usize| {
            desired
                .pool
                .get(desired.objects[desired_order[p] as usize].id)
        };
        let mut unknown: Vec<(&str, &str)> = Vec::new();
        for &x in &by_member {
            let (group, member) = desired.memberships[x as usize];
            let member = desired.pool.get(member);
            let mut pos = None;
            for (range, p) in ranges.iter().zip(cursor.iter_mut()) {
                while *p < range.1 && source_id_at(*p) < member {
                    *p += 1;
                }
                if *p < range.1 && source_id_at(*p) == member {
                    pos = Some(*p as u32);
                    break;
                }
            }
            let gi = group_of_ref.get(group as usize).copied().unwrap_or(NONE);
            match pos {
                Some(pos) if gi != NONE => want.push((pos, gi)),
                // A failed member is reported as itself, and held.
                None if self.failed.contains(&(Kind::User, member))
                    || self.failed.contains(&(Kind::Admin, member)) => {}
                _ => unknown.push((desired.pool.get(desired.group_refs[group as usize]), member)),
            }
        }
        unknown.sort_unstable();
        unknown.dedup();
        for (group, member) in unknown {
            self.problem(Kind::Group, group, group, ProblemCode::UnknownReference, format!(
                "membership of source {member:?} in group {group:?} names an object that is not in scope; add both to the rule's scope"));
        }
        // Nearly sorted already (merged in member order): the stable sort is adaptive.
        want.sort();
        want.dedup();
        want
    }

    /// The membership ops' subject: a desired group, where it is on the target.
    fn group_subject(&self, gi: u32, resolution: &[Resolution]) -> Option<Subject<'a>> {
        let target = match resolution[gi as usize] {
            Resolution::Existing(oi) => {
                TargetAt::Existing(self.observed_str(self.observed.objects[oi as usize].id))
            }
            Resolution::Created(c) => TargetAt::Created(c),
            Resolution::Unresolved => return None,
        };
        let group = &self.desired.objects[gi as usize];
        Some(Subject {
            kind: Kind::Group,
            name: self.desired_str(group.key),
            source_id: Some(self.desired_str(group.id)),
            target: Some(target),
            fingerprint: None,
        })
    }

    /// Leavers' memberships: accounts deprovisioned by disabling leave the
    /// pushed groups that stay (a pushed group holds exactly its in-scope members).
    pub(super) fn leavers_memberships(&mut self, resolution: &[Resolution]) {
        if self.leaving.is_empty() {
            return;
        }
        let (desired, observed) = (self.desired, self.observed);
        let mut owned_group: Vec<u32> = vec![NONE; observed.group_ids.len()];
        for (di, r) in desired.objects.iter().enumerate() {
            if r.kind == Kind::Group
                && let Resolution::Existing(oi) = resolution[di]
                && let Some(gx) =
                    observed.group_index(observed.pool.get(observed.objects[oi as usize].id))
            {
                owned_group[gx as usize] = di as u32;
            }
        }
        for oi in std::mem::take(&mut self.leaving) {
            let member = &observed.objects[oi as usize];
            for &gx in observed.groups_of(member) {
                let gi = owned_group.get(gx as usize).copied().unwrap_or(NONE);
                if gi == NONE {
                    continue;
                }
                let group = &desired.objects[gi as usize];
                let subject = Subject {
                    kind: Kind::Group,
                    name: desired.pool.get(group.key),
                    source_id: Some(desired.pool.get(group.id)),
                    target: Some(TargetAt::Existing(
                        observed.pool.get(observed.group_ids[gx as usize]),
                    )),
                    fingerprint: None,
                };
                self.remove_member(&subject, member);
                self.managed.add(Destructive::MembershipRemoval, 1);
            }
        }
    }

    /// Group teardown: remove the owned members that stay from groups about
    /// to be deleted, before the delete.
    pub(super) fn group_teardown(&mut self, deletes: &[GroupDelete]) {
        let observed = self.observed;
        let mut delete_of_group: Vec<u32> = vec![NONE; observed.group_ids.len()];
        for (i, (oi, _)) in deletes.iter().enumerate() {
            if let Some(gx) =
                observed.group_index(observed.pool.get(observed.objects[*oi as usize].id))
            {
                delete_of_group[gx as usize] = i as u32;
            }
        }
        let deleted_accounts: BTreeSet<u32> = self
            .drafts
            .iter()
            .filter(|d| matches!(d.op.action, Action::Delete) && d.op.kind.is_account())
            .filter_map(|d| match d.object {
                Some(ObjectRef::Observed(oi)) => Some(oi),
                _ => None,
            })
            .collect();
        for (oi, member) in observed.objects.iter().enumerate() {
            if !self.owned_kept_account(oi) || deleted_accounts.contains(&(oi as u32)) {
                continue;
            }
            for &gx in observed.groups_of(member) {
                let i = delete_of_group.get(gx as usize).copied().unwrap_or(NONE);
                if i == NONE {
                    continue;
                }
                let (goi, delete) = deletes[i as usize];
                let group_source = self.drafts[delete as usize].op.source_id.clone();
                let subject = Subject {
                    kind: Kind::Group,
                    name: observed.pool.get(observed.objects[goi as usize].key),
                    source_id: group_source.as_deref(),
                    target: Some(TargetAt::Existing(
                        observed.pool.get(observed.group_ids[gx as usize]),
                    )),
                    fingerprint: None,
                };
                let removal = self.remove_member(&subject, member);
                self.drafts[delete as usize].deps.push(removal);
                self.managed.add(Destructive::MembershipRemoval, 1);
            }
        }
    }

    /// Remove an observed account from a group; returns the draft index.
    fn remove_member(&mut self, group: &Subject<'_>, member: &ORec) -> u32 {
        let (name, id) = (self.observed_str(member.key), self.observed_str(member.id));
        let op = group.op(Action::RemoveMember {
            member_kind: member.kind,
            member_name: name.to_owned(),
            member: TargetRef::Existing(id.to_owned()),
        });
        let removal =
            self.push(Draft::new(Phase::RemoveMember, op).detail(format!("{name}\0{id}")));
        self.destructive.add(Destructive::MembershipRemoval, 1);
        removal
    }

    /// An observed account that the rule owns and keeps.
    fn owned_kept_account(&self, oi: usize) -> bool {
        let r = &self.observed.objects[oi];
        r.kind.is_account() && (self.claimed[oi] || self.owner[oi] != NONE)
    }
}
