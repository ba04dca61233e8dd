//! Criterion benchmark of the planner on generated directories (the same
//! generator as `examples/plan_scale.rs`): 10k and 100k users, 1 % changed.

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "../examples/plan_scale.rs"]
#[allow(dead_code)]
mod scale;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("plan");
    g.sample_size(10);
    for n in [10_000usize, 100_000] {
        let w = scale::build(n, 0.01);
        g.bench_function(format!("users_{n}_rate_0.01"), |b| {
            b.iter(|| scale::run(&w));
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
