//! What a cycle reports, in PingOne's words (impacted, success, unsynced,
//! partially synced, failed).

use super::Prepared;
use crate::Outcome;
use crate::config::Direction;
use reconcile_engine::{self as engine};
use serde::Serialize;

/// The sync summary in PingOne's words.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub users_impacted: u64,
    pub users_success: u64,
    pub users_unsynced: u64,
    pub users_partial: u64,
    pub users_failed: u64,
    pub groups_impacted: u64,
    pub groups_success: u64,
    pub groups_failed: u64,
}

/// What one cycle did.
#[derive(Debug, Clone, Serialize)]
pub struct CycleReport {
    pub rule: String,
    pub direction: Direction,
    pub plan_hash: String,
    pub blocked: Vec<String>,
    pub ops: usize,
    pub writes: u64,
    pub summary: Summary,
    pub outcome: Outcome,
    /// Objects not in step after the cycle: (kind, name, status, message).
    pub problems: Vec<(String, String, String, String)>,
    /// Linked objects held because their source failed (nothing destructive done).
    pub held: u64,
    /// Failure causes shared by several objects: (kind, count, cause).
    pub common_failures: Vec<(String, u64, String)>,
}

/// PingOne's sync summary: impacted = in the rule's scope.
pub(crate) fn summarise(p: &Prepared, r: &engine::RunReport) -> Summary {
    let mut s = Summary {
        users_impacted: p.in_scope_accounts,
        groups_impacted: p.in_scope_groups,
        ..Summary::default()
    };
    let mut not_ok_groups = 0;
    for o in &r.objects {
        if o.kind.is_account() {
            match o.status {
                engine::SyncStatus::Success => {}
                engine::SyncStatus::Unsynced => s.users_unsynced += 1,
                engine::SyncStatus::Partial => s.users_partial += 1,
                engine::SyncStatus::Failed => s.users_failed += 1,
            }
        } else if o.status == engine::SyncStatus::Failed {
            s.groups_failed += 1;
            not_ok_groups += 1;
        }
    }
    // Objects leaving the scope are impacted too (they were deprovisioned).
    let leaving = r.objects.iter().filter(|o| o.kind.is_account()).count() as u64;
    s.users_impacted = s.users_impacted.max(leaving);
    s.users_success = s
        .users_impacted
        .saturating_sub(s.users_unsynced + s.users_partial + s.users_failed);
    s.groups_impacted = s
        .groups_impacted
        .max(r.objects.iter().filter(|o| !o.kind.is_account()).count() as u64);
    s.groups_success = s.groups_impacted.saturating_sub(not_ok_groups);
    s
}
