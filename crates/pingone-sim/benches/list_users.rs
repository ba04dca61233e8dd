//! Benchmark: listing 100,000 users through the HTTP API, page by page
//! (200 per page, following `_links.next`), as the sync agent does.

use criterion::{Criterion, criterion_group, criterion_main};
use pingone_sim::{PingOneSim, SimConfig};
use serde_json::Value;

fn list_all(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let users: usize = std::env::var("BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let sim = rt
        .block_on(PingOneSim::start(SimConfig {
            seed_users: users,
            seed_groups: 50,
            ..SimConfig::default()
        }))
        .expect("sim starts");
    let http = reqwest::Client::new();
    let token = rt.block_on(async {
        let r: Value = http
            .post(sim.token_url())
            .basic_auth("sim-client", Some("sim-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("token json");
        r["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    });
    let first = format!(
        "{}/environments/{}/users?limit=200",
        sim.api_url(),
        sim.env_id()
    );
    let mut g = c.benchmark_group("list_users");
    g.sample_size(10);
    g.bench_function(format!("{users} users, 200 per page"), |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut url = Some(first.clone());
                let mut seen = 0;
                while let Some(u) = url {
                    let page: Value = http
                        .get(&u)
                        .bearer_auth(&token)
                        .send()
                        .await
                        .expect("page")
                        .json()
                        .await
                        .expect("json");
                    seen += page["size"].as_u64().unwrap_or(0) as usize;
                    url = page["_links"]["next"]["href"].as_str().map(str::to_string);
                }
                assert_eq!(seen, users);
            });
        });
    });
    g.finish();
    let _ = sim;
}

criterion_group!(benches, list_all);
criterion_main!(benches);
