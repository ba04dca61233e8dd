//! Benchmarks: listing 100,000 users from the simulator over HTTP (334 signed pages of 300), and
//! the simulator's signature verification of one v5 request. Prints the resident memory after
//! seeding 100,000 users.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use duo_sim::sign::{self, Candidate};
use duo_sim::{DuoSim, SimConfig};

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn list_100k(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let before = rss_mib();
    let (sim, caller) = rt.block_on(async {
        let sim = DuoSim::start(SimConfig::default()).await.unwrap();
        sim.insert_users("bench", 100_000).unwrap();
        let caller = common::Caller::new(&sim.base_url());
        (sim, caller)
    });
    println!(
        "resident memory for 100,000 users: {:.0} MiB (process total {:.0} MiB)",
        rss_mib() - before,
        rss_mib()
    );
    let mut g = c.benchmark_group("duo_sim");
    g.sample_size(10);
    g.bench_function("list_100k_users_300_per_page", |b| {
        b.iter(|| {
            let (items, pages) = rt.block_on(caller.list_all("/admin/v1/users", 300));
            assert_eq!((items.len(), pages), (100_000, 334));
            black_box(items);
        });
    });
    g.finish();
    rt.block_on(sim.shutdown());
}

fn verify_v5(c: &mut Criterion) {
    let skey = common::SKEY.as_bytes();
    let params = [
        ("limit", "300"),
        ("offset", "600"),
        ("username", "j.smith+test@example.com"),
    ];
    let date = "Fri, 07 Dec 2012 17:18:00 -0000";
    let line = common::canon(&params);
    let empty = common::sha512_hex(b"");
    let canon = [
        date,
        "GET",
        "api-x.duosecurity.com",
        "/admin/v1/users",
        &line,
        &empty,
        &empty,
    ]
    .join("\n");
    let sig = sign::hmac_sha512_hex(skey, &canon);
    let hosts = ["api-x.duosecurity.com".to_owned()];
    let xh = [empty.clone()];
    let cand = Candidate {
        date,
        method: "GET",
        hosts: &hosts,
        path: "/admin/v1/users",
        v2_params_line: &line,
        v5_params_line: &line,
        body: b"",
        xduo_hashes: &xh,
    };
    c.bench_function("verify_v5_get", |b| {
        b.iter(|| assert!(sign::verify(skey, black_box(&sig), black_box(&cand)).is_some()));
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = list_100k, verify_v5
}
criterion_main!(benches);
