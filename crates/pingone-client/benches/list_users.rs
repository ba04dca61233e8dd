//! Benchmark: listing 100,000 users from `pingone-sim` through the client (500 pages of 200,
//! HAL decoding included). Set `PINGONE_BENCH_USERS` to change the size.

use criterion::{Criterion, criterion_group, criterion_main};
use pingone_client::{ClientConfig, PingOneClient, SecretString, UserQuery, collect_all};
use pingone_sim::{PingOneSim, SimConfig};

fn list_users(c: &mut Criterion) {
    let users: usize = std::env::var("PINGONE_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (sim, client) = rt.block_on(async {
        let sim = PingOneSim::start(SimConfig {
            seed_users: users,
            ..SimConfig::default()
        })
        .await
        .expect("simulator starts");
        let cfg = sim.config();
        let mut cc = ClientConfig::new(
            sim.env_id(),
            cfg.client_id.clone(),
            SecretString::from(cfg.client_secret.clone()),
        );
        cc.api_base = Some(sim.api_url());
        cc.auth_base = Some(sim.auth_url());
        let client = PingOneClient::new(cc).expect("client");
        (sim, client)
    });
    let mut group = c.benchmark_group("pingone_client");
    group.sample_size(10);
    group.bench_function(format!("list_{users}_users"), |b| {
        b.iter(|| {
            let all = rt
                .block_on(collect_all(client.list_users(&UserQuery::all())))
                .expect("listing works");
            assert_eq!(all.len(), users);
        });
    });
    group.finish();
    drop(sim);
}

criterion_group!(benches, list_users);
criterion_main!(benches);
