//! One 100,000-result batch (status + link + audit row each), timed: a target
//! for `valgrind --tool=callgrind` or `perf record` when the criterion bench
//! says the store got slower. Run:
//! `cargo run --release -p state-store --example record_profile -- [N] [links|status|audit]`
//! (the second argument records only that part of each result).

#[path = "../benches/common/mod.rs"]
mod data;

use std::time::Instant;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let (mut dir, mut store, run) = data::fresh();
    let mut batch = data::results(n, run);
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
            (dir, store, _) = data::fresh();
        }
        let (cpu0, start) = (cpu_ticks(), Instant::now());
        store.record_results(&batch).expect("record");
        let (wall, cpu) = (start.elapsed(), cpu_ticks() - cpu0);
        println!("recorded {n} results in {wall:?} (cpu {} ms)", cpu * 10);
    }
    drop((store, dir));
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
