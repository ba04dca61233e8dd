//! Benchmarks of the bulk paths: recording 100,000 results in one batch
//! (status + link + audit row each, durable commit), 100,000 statuses alone
//! (the agent's end-of-cycle batch), and loading 1,000,000 links of a rule.
//! Ids are shaped and ordered like PingOne's and Duo's: at random.
//! Run: `cargo bench -p state-store -- --warm-up-time 1 --measurement-time 3`.

#[path = "common/mod.rs"]
mod data;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use data::{fresh, link, results};
use state_store::{Link, ResultBatch};

/// Times recording `batch` into a fresh store, one durable commit.
fn record(c: &mut Criterion, name: &str, batch: &ResultBatch) {
    let mut group = c.benchmark_group("record_results");
    group.sample_size(10);
    group.bench_function(name, |b| {
        b.iter_batched(
            fresh,
            |(dir, mut store, _)| {
                store.record_results(batch).expect("record");
                (dir, store)
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

fn record_100k(c: &mut Criterion) {
    let (_d, _s, run) = fresh();
    let batch = results(100_000, run);
    record(c, "100k results (status+link+audit), one batch", &batch);
}

/// What the agent writes at the end of a cycle: one status per object (links
/// and audit entries were written op by op as the writes succeeded).
fn record_100k_statuses(c: &mut Criterion) {
    let (_d, _s, run) = fresh();
    let mut batch = results(100_000, run);
    batch.link_upserts.clear();
    batch.audit.clear();
    record(c, "100k statuses, one batch", &batch);
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
