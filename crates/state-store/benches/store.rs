//! Benchmarks of the bulk paths: recording 100,000 results in one batch
//! (status + link + audit row each, durable commit), 100,000 statuses alone
//! (the agent's end-of-cycle batch), and loading 1,000,000 links of a rule.
//! Ids are shaped and ordered like PingOne's and Duo's: at random.
//! Run: `cargo bench -p state-store -- --warm-up-time 1 --measurement-time 3`.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::json;
use state_store::{
    AuditEntry, Link, NewRun, ObjectKey, ObjectKind, Op, Options, Origin, ResultBatch, RunId,
    StatusUpdate, Store, SyncStatus, Trigger,
};

fn link(i: usize) -> Link {
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

fn results(n: usize, run: RunId) -> ResultBatch {
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

fn fresh() -> (tempfile::TempDir, Store, RunId) {
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

fn record_100k(c: &mut Criterion) {
    let (_d, _s, run) = fresh();
    let batch = results(100_000, run);
    let mut group = c.benchmark_group("record_results");
    group.sample_size(10);
    group.bench_function("100k results (status+link+audit), one batch", |b| {
        b.iter_batched(
            fresh,
            |(dir, mut store, _)| {
                store.record_results(&batch).expect("record");
                (dir, store)
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

/// What the agent writes at the end of a cycle: one status per object (links
/// and audit entries were written op by op as the writes succeeded).
fn record_100k_statuses(c: &mut Criterion) {
    let (_d, _s, run) = fresh();
    let mut batch = results(100_000, run);
    batch.link_upserts.clear();
    batch.audit.clear();
    let mut group = c.benchmark_group("record_results");
    group.sample_size(10);
    group.bench_function("100k statuses, one batch", |b| {
        b.iter_batched(
            fresh,
            |(dir, mut store, _)| {
                store.record_results(&batch).expect("record");
                (dir, store)
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

fn load_1m_links(c: &mut Criterion) {
    let (_dir, mut store, _) = fresh();
    for chunk in (0..1_000_000).collect::<Vec<_>>().chunks(100_000) {
        let links: Vec<Link> = chunk.iter().map(|i| link(*i)).collect();
        store.upsert_links(&links).expect("upsert");
    }
    let mut group = c.benchmark_group("links_for_rule");
    group.sample_size(10);
    group.bench_function("1M links", |b| {
        b.iter(|| {
            let links = store.links_for_rule("r").expect("load");
            assert_eq!(links.len(), 1_000_000);
            links
        });
    });
    group.finish();
}

criterion_group!(benches, record_100k, record_100k_statuses, load_1m_links);
criterion_main!(benches);

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
