//! Data shared by the store benchmark and the `record_profile` example: a
//! batch of results shaped like the agent's, with PingOne- and Duo-like ids.

use serde_json::json;
use state_store::{
    AuditEntry, Link, NewRun, ObjectKey, ObjectKind, Op, Options, Origin, ResultBatch, RunId,
    StatusUpdate, Store, SyncStatus, Trigger,
};

/// Link number `i`.
pub fn link(i: usize) -> Link {
    Link {
        rule: "r".into(),
        kind: ObjectKind::User,
        source_id: uuid_like(i),
        target_id: format!(
            "DU{:018X}",
            (i as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93) >> 8
        ),
        attrs: json!({
            "username": format!("user{i}"),
            "email": format!("user{i}@example.com"),
            "realname": format!("User Number {i}"),
            "status": "active",
        }),
        fingerprint: (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        origin: Origin::Source,
        first_synced: 1_700_000_000_000,
        last_synced: 1_700_000_000_000,
    }
}

/// `n` results (status, link and audit entry each) of run `run`.
pub fn results(n: usize, run: RunId) -> ResultBatch {
    let mut batch = ResultBatch::default();
    for i in 0..n {
        let l = link(i);
        batch.statuses.push(StatusUpdate {
            key: l.key(),
            display_name: format!("user{i}"),
            status: SyncStatus::Success,
            error: None,
            run_id: Some(run),
            at: 1_700_000_000_000,
        });
        batch.audit.push(AuditEntry {
            run_id: Some(run),
            key: ObjectKey::new("r", ObjectKind::User, l.source_id.clone()),
            op: Op::Create,
            before: json!(null),
            after: l.attrs.clone(),
            at: 1_700_000_000_000,
        });
        batch.link_upserts.push(l);
    }
    batch
}

/// A new store in a temporary directory, with one run started.
pub fn fresh() -> (tempfile::TempDir, Store, RunId) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(dir.path().join("bench.db"), Options::default()).expect("open");
    let run = store
        .start_run(&NewRun {
            rule: "r".into(),
            trigger: Trigger::Manual,
            started: 0,
            plan_hash: None,
        })
        .expect("run");
    (dir, store, run)
}

/// A PingOne-like id: random-looking (ids arrive in no useful order, as
/// PingOne's UUIDv4s do), but the same for the same `i` in every run.
fn uuid_like(i: usize) -> String {
    let h = (i as u64 ^ 0x5DEE_CE66_D1CE_4E5B).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let l = h.rotate_left(29).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        l >> 52,
        l & 0xffff_ffff_ffff
    )
}
