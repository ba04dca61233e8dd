//! One 100,000-result batch (status + link + audit row each), timed once: a
//! target for `valgrind --tool=callgrind` or `perf record` when the criterion
//! bench says the store got slower. Run:
//! `cargo run --release -p state-store --example record_profile -- [N]`.

use std::time::Instant;

use serde_json::json;
use state_store::{
    AuditEntry, Link, NewRun, ObjectKey, ObjectKind, Op, Options, Origin, ResultBatch,
    StatusUpdate, Store, SyncStatus, Trigger,
};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let open = |i: usize| {
        let mut store =
            Store::open(dir.path().join(format!("p{i}.db")), Options::default()).expect("open");
        let run = store
            .start_run(&NewRun {
                rule: "r".into(),
                trigger: Trigger::Manual,
                started: 0,
                plan_hash: None,
            })
            .expect("run");
        (store, run)
    };
    let (mut store, run) = open(0);
    let mut batch = ResultBatch::default();
    for i in 0..n {
        let l = Link {
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
        };
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
    // Optional second argument: record only "links", "status" or "audit".
    match std::env::args().nth(2).as_deref() {
        Some("links") => (batch.statuses.clear(), batch.audit.clear()),
        Some("status") => (batch.link_upserts.clear(), batch.audit.clear()),
        Some("audit") => (batch.link_upserts.clear(), batch.statuses.clear()),
        _ => ((), ()),
    };
    // REPEAT=k records the batch k times more into fresh files (a profiler
    // then sees mostly the recording, not the building of the batch).
    let repeat: usize = std::env::var("REPEAT")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    for i in 0..=repeat {
        if i > 0 {
            store = open(i).0;
        }
        let (cpu0, start) = (cpu_ticks(), Instant::now());
        store.record_results(&batch).expect("record");
        let (wall, cpu) = (start.elapsed(), cpu_ticks() - cpu0);
        println!("recorded {n} results in {wall:?} (cpu {} ms)", cpu * 10);
    }
}

/// User + system time of this process in clock ticks (1/100 s on Linux): on a
/// busy machine CPU time moves less than wall time.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let get = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(11) + get(12)
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
