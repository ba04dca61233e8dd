//! Planner steps: index links to observed objects and report failures; plus
//! the sorted orders and key hashes the joins use.

use std::hash::Hasher;

use super::{NONE, Planner};
use crate::fx::Fx;
use crate::model::Kind;
use crate::plan::ProblemCode;
use crate::policy::KeyCompare;

impl Planner<'_> {
    /// Index links to observed objects: a merge of both sorted by (kind,
    /// target id). The first link of an object owns it, unless the object
    /// is guarded (never the rule's, even when it links it).
    pub(super) fn index_links(&mut self) {
        let (observed, links) = (self.observed, self.links);
        // Joins are merges over sorted orders: linear when the caller passes
        // sorted sets (the usual case), n log n otherwise; no big hash maps.
        let observed_by_id = sorted_order(observed.objects.len(), |i| {
            let r = &observed.objects[i];
            (r.kind, observed.pool.get(r.id))
        });
        let links_by_target = sorted_order(links.links.len(), |i| {
            let r = &links.links[i];
            (r.kind, links.pool.get(r.target))
        });
        let mut j = 0usize;
        for &li in &links_by_target {
            let link = &links.links[li as usize];
            let wanted = (link.kind, links.pool.get(link.target));
            while let Some(&oi) = observed_by_id.get(j) {
                let r = &observed.objects[oi as usize];
                if (r.kind, observed.pool.get(r.id)) < wanted {
                    j += 1;
                } else {
                    break;
                }
            }
            if let Some(&oi) = observed_by_id.get(j) {
                let r = &observed.objects[oi as usize];
                if (r.kind, observed.pool.get(r.id)) == wanted && self.owner[oi as usize] == NONE {
                    self.owner[oi as usize] = li;
                    self.link_target[li as usize] = oi;
                }
            }
        }
        for (oi, r) in observed.objects.iter().enumerate() {
            if r.guard.is_some() {
                self.owner[oi] = NONE;
            }
        }
        self.linked_accounts = (0..links.links.len())
            .filter(|&li| {
                let oi = self.link_target[li];
                links.links[li].kind.is_account()
                    && oi != NONE
                    && observed.objects[oi as usize].guard.is_none()
            })
            .count() as u64;
    }

    /// Report failures: each failed source object is a problem, and its
    /// link (if any) is held, not deprovisioned.
    pub(super) fn report_failures(&mut self) {
        let desired = self.desired;
        for f in &desired.failures {
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
            if let Some(p) = self.last_problem() {
                p.attribute.clone_from(&f.attribute);
            }
        }
    }

    /// Desired indices in (kind, source id) order.
    pub(super) fn desired_order(&self) -> Vec<u32> {
        let desired = self.desired;
        sorted_order(desired.objects.len(), |i| {
            let r = &desired.objects[i];
            (r.kind, desired.pool.get(r.id))
        })
    }
}

/// A hash of (kind, key) equal for keys that `key_eq` finds equal.
pub(super) fn key_hash(kind: Kind, key: &str, mode: KeyCompare) -> u64 {
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
pub(super) fn sorted_order<'k, K: Ord + 'k>(n: usize, key: impl Fn(usize) -> K) -> Vec<u32> {
    let mut v: Vec<u32> = (0..n as u32).collect();
    if !v.is_sorted_by(|a, b| key(*a as usize) <= key(*b as usize)) {
        v.sort_by_key(|a| key(*a as usize));
    }
    v
}
