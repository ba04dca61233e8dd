//! Listing 100,000 users from duo-sim over loopback (pages of 300, rate
//! limits off on both sides): the cost of a full Duo snapshot read.
//! `DUO_BENCH_USERS` changes the count.

use criterion::{Criterion, criterion_group, criterion_main};
use duo_client::{DuoClient, DuoConfig, RateLimits};
use duo_sim::{DuoSim, SimConfig};

fn list_users(c: &mut Criterion) {
    let n: usize = std::env::var("DUO_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sim_config = SimConfig::default();
    let (ikey, skey) = (sim_config.ikey.clone(), sim_config.skey.clone());
    let sim = rt.block_on(DuoSim::start(sim_config)).expect("sim starts");
    sim.insert_users("bench", n).expect("users inserted");
    let mut config = DuoConfig::new(sim.base_url(), ikey, skey.into());
    config.rate_limits = RateLimits::off();
    let client = DuoClient::new(config).expect("client");

    let mut group = c.benchmark_group("list_users");
    group.sample_size(10);
    group.throughput(criterion::Throughput::Elements(n as u64));
    group.bench_function(format!("{n}_users_pages_of_300"), |b| {
        b.iter(|| {
            let users = rt.block_on(client.list_users()).expect("listing works");
            assert_eq!(users.len(), n);
        });
    });
    group.finish();
    rt.block_on(sim.shutdown());
}

criterion_group!(benches, list_users);
criterion_main!(benches);
