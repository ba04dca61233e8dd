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
    let mut store = Store::open(dir.path().join("p.db"), Options::default()).expect("open");
    let run = store
        .start_run(&NewRun {
            rule: "r".into(),
            trigger: Trigger::Manual,
            started: 0,
            plan_hash: None,
        })
        .expect("run");
    let mut batch = ResultBatch::default();
    for i in 0..n {
        let l = Link {
            rule: "r".into(),
            kind: ObjectKind::User,
            source_id: format!("5f0c3a1e-0000-4000-8000-{i:012}"),
            target_id: format!("DU{i:018}"),
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
    let (cpu0, start) = (cpu_ticks(), Instant::now());
    store.record_results(&batch).expect("record");
    let (wall, cpu) = (start.elapsed(), cpu_ticks() - cpu0);
    println!("recorded {n} results in {wall:?} (cpu {} ms)", cpu * 10);
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
