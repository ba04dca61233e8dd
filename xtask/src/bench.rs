//! `cargo xtask bench`: the end-to-end benchmarks against the simulators as
//! release-built child processes. Call efficiency (a no-change sync and a sync
//! with k changes, counted by `/__sim/stats`), provisioning throughput under
//! Duo's published limits time-compressed with `--rate-limit-scale`, the same
//! with limits off, the planner scale table, and peak RSS of `p1duo sync`.
//! Prints markdown tables (copied into docs/benchmarks.md).

use p1duo_tests::fixtures::{Endpoints, outbound_rule, phone_for, write_config};
use p1duo_tests::standalone::{PingOneSeeder, SimProcess, calls};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The release binaries.
struct Bins {
    p1duo: PathBuf,
    duo_sim: PathBuf,
    pingone_sim: PathBuf,
}

/// Options: `--users N` (throughput and bulk, default 10000), `--scale K` (default 50),
/// `--bulk-scales K1,K2` (the bulk table's compression without and with phones, default
/// 10,50), `--rss-users N,M` (default 10000,100000), `--official-users N,M` (default
/// 1500,10000), `--runs R` (official, default 3), `--concurrency C` (official,
/// default the agent's), `--strace` (official: count fsyncs), `--p1duo PATH`
/// (another build of p1duo, e.g. an older one to compare), `--only NAME`
/// (efficiency, limited, unlimited, official, bulk, planner, rss).
struct Opts {
    users: usize,
    scale: u32,
    bulk_scales: [u32; 2],
    rss: Vec<usize>,
    official: Vec<usize>,
    runs: usize,
    concurrency: Option<usize>,
    strace: bool,
    p1duo: Option<PathBuf>,
    only: Option<String>,
}

fn parse(rest: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        users: 10_000,
        scale: 50,
        bulk_scales: [10, 50],
        rss: vec![10_000, 100_000],
        official: vec![1_500, 10_000],
        runs: 3,
        concurrency: None,
        strace: false,
        p1duo: None,
        only: None,
    };
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--users" => o.users = val()?.parse().map_err(|e| format!("--users: {e}"))?,
            "--scale" => o.scale = val()?.parse().map_err(|e| format!("--scale: {e}"))?,
            "--rss-users" => {
                o.rss = val()?
                    .split(',')
                    .map(|s| s.parse().map_err(|e| format!("--rss-users: {e}")))
                    .collect::<Result<_, _>>()?;
            }
            "--official-users" => {
                o.official = val()?
                    .split(',')
                    .map(|s| s.parse().map_err(|e| format!("--official-users: {e}")))
                    .collect::<Result<_, _>>()?;
            }
            "--runs" => o.runs = val()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--concurrency" => {
                o.concurrency = Some(val()?.parse().map_err(|e| format!("--concurrency: {e}"))?);
            }
            "--strace" => o.strace = true,
            "--p1duo" => o.p1duo = Some(PathBuf::from(val()?)),
            "--only" => o.only = Some(val()?),
            "--bulk-scales" => {
                let v: Vec<u32> = val()?
                    .split(',')
                    .map(|s| s.parse().map_err(|e| format!("--bulk-scales: {e}")))
                    .collect::<Result<_, _>>()?;
                o.bulk_scales = match v.as_slice() {
                    [a, b] => [*a, *b],
                    _ => return Err("--bulk-scales takes two numbers, e.g. 10,50".into()),
                };
            }
            other => return Err(format!("unknown bench option {other}")),
        }
    }
    Ok(o)
}

pub fn bench(root: &Path, rest: &[String]) -> Result<(), String> {
    let o = parse(rest)?;
    let run = |name: &str| o.only.as_deref().is_none_or(|x| x == name);
    crate::cargo(&[
        "build",
        "--release",
        "-p",
        "p1duo",
        "-p",
        "duo-sim",
        "-p",
        "pingone-sim",
    ])?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let rel = target.join("release");
    let bins = Bins {
        p1duo: o.p1duo.clone().unwrap_or_else(|| rel.join("p1duo")),
        duo_sim: rel.join("duo-sim"),
        pingone_sim: rel.join("pingone-sim"),
    };
    if run("efficiency") {
        efficiency(&bins, 1000, 10)?;
    }
    if run("limited") {
        throughput(&bins, o.users, Some(o.scale))?;
    }
    if run("unlimited") {
        throughput(&bins, o.users, None)?;
    }
    if run("official") {
        official(root, &bins, &o)?;
    }
    if run("bulk") {
        bulk(&bins, o.users, o.bulk_scales)?;
    }
    if run("planner") {
        planner()?;
    }
    if run("rss") {
        for n in &o.rss {
            rss(&bins, *n)?;
        }
    }
    Ok(())
}

const GROUPS: [&str; 3] = ["Engineering", "Sales", "Support"];

/// `n` Workforce users with phones, each in one of three groups; returns the
/// population id and the user ids. Seeded on four threads.
fn seed(p1: &SimProcess, n: usize) -> (String, Vec<String>, Vec<String>) {
    let s = PingOneSeeder::new(&p1.base);
    let pop = s.population("Workforce");
    let groups: Vec<String> = GROUPS.iter().map(|g| s.group(g)).collect();
    let threads = 4;
    let mut ids = vec![String::new(); n];
    std::thread::scope(|sc| {
        for (t, chunk) in ids.chunks_mut(n.div_ceil(threads).max(1)).enumerate() {
            let (s, pop, groups) = (&s, &pop, &groups);
            sc.spawn(move || {
                let base = t * n.div_ceil(threads).max(1);
                for (j, slot) in chunk.iter_mut().enumerate() {
                    let i = base + j;
                    let id = s.user(
                        &format!("user{i:06}"),
                        pop,
                        json!({ "primaryPhone": phone_for(i) }),
                    );
                    s.member(&id, &groups[i % groups.len()]);
                    *slot = id;
                }
            });
        }
    });
    (pop, ids, groups)
}

fn config(
    dir: &Path,
    duo: &SimProcess,
    p1: &SimProcess,
    rate: &str,
    concurrency: usize,
) -> PathBuf {
    let push = format!(
        "[rules.groups]\npush = [{}]",
        GROUPS.map(|g| format!("{g:?}")).join(", ")
    );
    write_config(
        dir,
        &Endpoints {
            duo: duo.base.clone(),
            pingone: p1.base.clone(),
        },
        rate,
        &format!("concurrency = {concurrency}"),
        &outbound_rule("r", "deprovision = true", &push),
    )
}

/// Run `p1duo sync`; returns (elapsed, exit code, peak RSS in KiB when measured).
fn sync(
    bins: &Bins,
    cfg: &Path,
    measure_rss: bool,
) -> Result<(Duration, i32, Option<u64>), String> {
    let started = Instant::now();
    let mut cmd = if measure_rss {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-v").arg(&bins.p1duo);
        c
    } else {
        Command::new(&bins.p1duo)
    };
    let out = cmd
        .args(["sync", "--config"])
        .arg(cfg)
        .env_remove("RUST_LOG")
        .output()
        .map_err(|e| format!("running p1duo: {e}"))?;
    let elapsed = started.elapsed();
    let code = out.status.code().unwrap_or(-1);
    let err = String::from_utf8_lossy(&out.stderr);
    let rss = err
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok());
    if code != 0 {
        eprintln!("{}{err}", String::from_utf8_lossy(&out.stdout));
    }
    Ok((elapsed, code, rss))
}

fn routes(stats: &Value) -> Vec<(String, u64)> {
    stats["by_route"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

fn writes(stats: &Value) -> u64 {
    calls(stats, |k| {
        !k.starts_with("GET ") && !k.contains("/as/token")
    })
}

fn efficiency(bins: &Bins, n: usize, k: usize) -> Result<(), String> {
    let duo = SimProcess::duo(&bins.duo_sim, &[]);
    let p1 = SimProcess::pingone(&bins.pingone_sim, &[]);
    let (_, ids, groups) = seed(&p1, n);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let cfg = config(dir.path(), &duo, &p1, "\"off\"", 8);
    let (t, code, _) = sync(bins, &cfg, false)?;
    println!("\n### Call efficiency ({n} users with phones, 3 pushed groups)\n");
    println!("initial sync: exit {code}, {:.1} s\n", t.as_secs_f64());
    duo.reset_stats();
    p1.reset_stats();
    let (_, code, _) = sync(bins, &cfg, false)?;
    let (d, p) = (duo.stats(), p1.stats());
    println!("No-change sync (exit {code}): every call made\n");
    println!("| side | route | calls | minimum |\n| --- | --- | ---: | ---: |");
    for (r, c) in routes(&d) {
        let min = match r.as_str() {
            "GET /admin/v1/users" => n.div_ceil(300).to_string(),
            "GET /admin/v1/groups" => "1".into(),
            _ => "-".into(),
        };
        println!("| Duo | `{r}` | {c} | {min} |");
    }
    for (r, c) in routes(&p) {
        let min = match r.as_str() {
            // All users, then each pushed group's members (users filtered by group).
            "GET /v1/environments/{envId}/users" => (n.div_ceil(200)
                + GROUPS.len() * n.div_ceil(GROUPS.len()).div_ceil(200))
            .to_string(),
            "GET /v1/environments/{envId}/groups"
            | "GET /v1/environments/{envId}/populations"
            | "POST /{envId}/as/token" => "1".into(),
            _ => "-".into(),
        };
        println!("| PingOne | `{r}` | {c} | {min} |");
    }
    println!(
        "\nwrites: Duo {}, PingOne {} (minimum 0)\n",
        writes(&d),
        writes(&p)
    );

    // k email changes and k new memberships: 2k writes at the minimum.
    let s = PingOneSeeder::new(&p1.base);
    for (j, id) in ids.iter().take(k).enumerate() {
        s.send(
            "PATCH",
            &format!("users/{id}"),
            &json!({ "email": format!("changed{j}@example.org") }),
        );
    }
    for (j, id) in ids.iter().skip(k).take(k).enumerate() {
        let g = &groups[(k + j + 1) % groups.len()];
        s.member(id, g);
    }
    duo.reset_stats();
    p1.reset_stats();
    let (_, code, _) = sync(bins, &cfg, false)?;
    let d = duo.stats();
    println!("Sync with {k} email changes and {k} new memberships (exit {code}):\n");
    println!("| Duo write route | calls |\n| --- | ---: |");
    for (r, c) in routes(&d) {
        if !r.starts_with("GET ") {
            println!("| `{r}` | {c} |");
        }
    }
    println!(
        "\nDuo writes made: {} (minimum {}); Duo reads: {}\n",
        writes(&d),
        2 * k,
        d["total"].as_u64().unwrap_or(0) - writes(&d)
    );
    Ok(())
}

fn throughput(bins: &Bins, n: usize, scale: Option<u32>) -> Result<(), String> {
    let (duo, rate, title) = match scale {
        Some(k) => (
            SimProcess::duo(
                &bins.duo_sim,
                &["--rate-limit", "duo", "--rate-limit-scale", &k.to_string()],
            ),
            format!(
                "{{ writes_per_minute = {}, reads_per_minute = {}, pages_per_minute = {} }}",
                300 * k,
                300 * k,
                200 * k
            ),
            format!("Duo's limits x{k} (sim --rate-limit duo --rate-limit-scale {k})"),
        ),
        None => (
            SimProcess::duo(&bins.duo_sim, &[]),
            "\"off\"".to_owned(),
            "limits off".to_owned(),
        ),
    };
    let p1 = SimProcess::pingone(&bins.pingone_sim, &[]);
    let t0 = Instant::now();
    seed(&p1, n);
    let seeded = t0.elapsed();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let cfg = config(dir.path(), &duo, &p1, &rate, 16);
    let (t, code, _) = sync(bins, &cfg, false)?;
    let d = duo.stats();
    let w = writes(&d);
    let throttled = d["by_status"]["429"].as_u64().unwrap_or(0);
    let secs = t.as_secs_f64();
    println!("\n### Initial provisioning of {n} users, {title}\n");
    println!("(seeded in {:.1} s)\n", seeded.as_secs_f64());
    println!("| exit | elapsed s | Duo writes | writes/s | Duo reads | 429s |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| {code} | {secs:.1} | {w} | {:.1} | {} | {throttled} |",
        w as f64 / secs,
        d["total"].as_u64().unwrap_or(0) - w
    );
    if let Some(k) = scale {
        let allowed = 300.0 * f64::from(k) / 60.0;
        println!(
            "\nallowed write rate {allowed:.1}/s; achieved {:.1}/s = **{:.0}%** of the limit (whole sync, reads included)",
            w as f64 / secs,
            100.0 * w as f64 / secs / allowed
        );
    }
    Ok(())
}

/// The limits-off comparison with Duo's official Python client: `n` new
/// users (no phones, no groups) from pingone-sim into a fresh duo-sim by
/// `p1duo sync` (state database on disk), and by the official client's
/// sequential `add_user` loop, alternating, `runs` times each; medians.
fn official(root: &Path, bins: &Bins, o: &Opts) -> Result<(), String> {
    let python = std::env::var("DUO_SIM_PYTHON").unwrap_or_else(|_| {
        root.join("target/duo-client-venv/bin/python")
            .display()
            .to_string()
    });
    let script = root.join("xtask/src/official_loop.py");
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "\n### Limits off: p1duo sync vs Duo's official Python client (new users, no phones, no groups)\n"
    );
    println!(
        "| users | p1duo sync s (median of {r}) | official client loop s (median of {r}) | official / p1duo | p1duo runs | client runs |",
        r = o.runs
    );
    println!("| ---: | ---: | ---: | ---: | --- | --- |");
    for &n in &o.official {
        let p1 = SimProcess::pingone(&bins.pingone_sim, &[]);
        let s = PingOneSeeder::new(&p1.base);
        let pop = s.population("Workforce");
        seed_plain(&s, &pop, n);
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..o.runs {
            // p1duo: a fresh Duo and a fresh state database (on disk) each run.
            let duo = SimProcess::duo(&bins.duo_sim, &[]);
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            let agent = o
                .concurrency
                .map(|c| format!("concurrency = {c}"))
                .unwrap_or_default();
            let cfg = write_config(
                dir.path(),
                &Endpoints {
                    duo: duo.base.clone(),
                    pingone: p1.base.clone(),
                },
                "\"off\"",
                &agent,
                &outbound_rule("r", "deprovision = true", ""),
            );
            let wal = dir.path().join("p1duo.db-wal");
            let peak = std::sync::atomic::AtomicU64::new(0);
            let done = std::sync::atomic::AtomicBool::new(false);
            let (t, code, fsyncs) = std::thread::scope(|sc| {
                sc.spawn(|| {
                    while !done.load(std::sync::atomic::Ordering::Relaxed) {
                        let len = std::fs::metadata(&wal).map_or(0, |m| m.len());
                        peak.fetch_max(len, std::sync::atomic::Ordering::Relaxed);
                        std::thread::sleep(Duration::from_millis(2));
                    }
                });
                let r = timed_sync(bins, &cfg, o.strace);
                done.store(true, std::sync::atomic::Ordering::Relaxed);
                r
            })?;
            let created = duo.stats()["by_route"]["POST /admin/v1/users"]
                .as_u64()
                .unwrap_or(0);
            eprintln!(
                "p1duo sync of {n}: exit {code}, {:.2} s, {created} creates, peak WAL {:.1} MiB{}",
                t.as_secs_f64(),
                peak.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1048576.0,
                fsyncs.map(|f| format!(", {f}")).unwrap_or_default()
            );
            if code != 0 || created != n as u64 {
                return Err(format!(
                    "p1duo sync of {n} users: exit {code}, {created} created"
                ));
            }
            ours.push(t.as_secs_f64());
            // The official client: a fresh Duo, one add_user after another.
            let duo = SimProcess::duo(&bins.duo_sim, &[]);
            let port = duo.base.rsplit(':').next().unwrap_or("0").to_owned();
            let out = Command::new(&python)
                .arg(&script)
                .args(["127.0.0.1", &port, p1duo_tests::standalone::SIM_IKEY])
                .arg(p1duo_tests::standalone::SIM_SKEY)
                .args(["0", &n.to_string()])
                .output()
                .map_err(|e| format!("running {python}: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "official client: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            let secs: f64 = String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .map_err(|e| format!("official client output: {e}"))?;
            eprintln!("official client loop of {n}: {secs:.2} s");
            theirs.push(secs);
        }
        let fmt = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (a, b) = (median(ours.clone()), median(theirs.clone()));
        println!(
            "| {n} | {a:.2} | {b:.2} | **{:.1}x** | {} | {} |",
            b / a,
            fmt(&ours),
            fmt(&theirs)
        );
    }
    Ok(())
}

/// Duo's limits scaled by `k`, as the agent's `[duo] rate_limit`.
fn scaled_limits(k: u32) -> String {
    format!(
        "{{ writes_per_minute = {}, reads_per_minute = {}, pages_per_minute = {} }}",
        300 * k,
        300 * k,
        200 * k
    )
}

/// Initial provisioning of `n` users without phones and with phones (no groups) through
/// Duo's bulk endpoints at the simulator's conservative defaults (100 users per
/// `bulk_create`, each call one write), at Duo's limits compressed `k` times, against the
/// single-write floor: the time one-call-per-write provisioning needs at the same limits.
fn bulk(bins: &Bins, n: usize, scales: [u32; 2]) -> Result<(), String> {
    println!("\n### Initial provisioning of {n} users through Duo's bulk endpoints\n");
    println!(
        "| phones | scale K | elapsed s | Duo write calls | of them bulk | 429s | single writes needed | single-write floor s | floor / elapsed |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (phones, k) in [(false, scales[0]), (true, scales[1])] {
        let duo = SimProcess::duo(
            &bins.duo_sim,
            &["--rate-limit", "duo", "--rate-limit-scale", &k.to_string()],
        );
        let p1 = SimProcess::pingone(&bins.pingone_sim, &[]);
        let s = PingOneSeeder::new(&p1.base);
        let pop = s.population("Workforce");
        std::thread::scope(|sc| {
            for t in 0..4 {
                let (s, pop) = (&s, &pop);
                sc.spawn(move || {
                    for i in (t..n).step_by(4) {
                        let extra = if phones {
                            json!({ "primaryPhone": phone_for(i) })
                        } else {
                            json!({})
                        };
                        s.user(&format!("user{i:06}"), pop, extra);
                    }
                });
            }
        });
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let cfg = write_config(
            dir.path(),
            &Endpoints {
                duo: duo.base.clone(),
                pingone: p1.base.clone(),
            },
            &scaled_limits(k),
            "concurrency = 16",
            &outbound_rule("r", "", ""),
        );
        let (t, code, _) = sync(bins, &cfg, false)?;
        if code != 0 {
            return Err(format!("p1duo sync exited {code}"));
        }
        let d = duo.stats();
        let w = writes(&d);
        let bulk_calls = calls(&d, |r| r.contains("bulk"));
        let throttled = d["by_status"]["429"].as_u64().unwrap_or(0);
        // One create per user; with a phone also a phone create and an attach (the lookups
        // are page reads in their own bucket, fewer per second than writes but a third as
        // many: the writes set the floor).
        let singles = n as f64 * if phones { 3.0 } else { 1.0 };
        let floor = singles / (300.0 * f64::from(k) / 60.0);
        let secs = t.as_secs_f64();
        println!(
            "| {} | {k} | {secs:.1} | {w} | {bulk_calls} | {throttled} | {singles:.0} | {floor:.1} | **{:.1}x** |",
            if phones { "yes" } else { "no" },
            floor / secs
        );
    }
    Ok(())
}

/// `n` Workforce users with no phone and no group, on four threads.
fn seed_plain(s: &PingOneSeeder, pop: &str, n: usize) {
    let threads = 4;
    let chunk = n.div_ceil(threads).max(1);
    std::thread::scope(|sc| {
        for t in 0..threads {
            sc.spawn(move || {
                for i in (t * chunk)..((t + 1) * chunk).min(n) {
                    s.user(&format!("user{i:06}"), pop, json!({}));
                }
            });
        }
    });
}

/// `p1duo sync` timed from outside; with `strace`, its fsync and fdatasync
/// count (`strace -c -f`).
fn timed_sync(
    bins: &Bins,
    cfg: &Path,
    strace: bool,
) -> Result<(Duration, i32, Option<String>), String> {
    let mut cmd = if strace {
        let mut c = Command::new("strace");
        c.args([
            "-c",
            "-f",
            "-e",
            "trace=fsync,fdatasync",
            "-o",
            "/dev/stderr",
        ])
        .arg(&bins.p1duo);
        c
    } else {
        Command::new(&bins.p1duo)
    };
    let started = Instant::now();
    let out = cmd
        .args(["sync", "--config"])
        .arg(cfg)
        .env_remove("RUST_LOG")
        .output()
        .map_err(|e| format!("running p1duo: {e}"))?;
    let elapsed = started.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    let calls = |name: &str| {
        err.lines()
            .find(|l| l.trim_end().ends_with(name))
            .and_then(|l| l.split_whitespace().nth(3))
            .unwrap_or("0")
            .to_owned()
    };
    let fsyncs =
        strace.then(|| format!("fsync {} fdatasync {}", calls("fsync"), calls("fdatasync")));
    Ok((elapsed, out.status.code().unwrap_or(-1), fsyncs))
}

fn planner() -> Result<(), String> {
    println!("\n### Planner scale (1% changed)\n");
    println!("| users | output |\n| ---: | --- |");
    for n in ["10000", "100000", "1000000"] {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args([
                "run",
                "--quiet",
                "--release",
                "-p",
                "reconcile-engine",
                "--example",
                "plan_scale",
                "--",
                "--users",
                n,
                "--change-rate",
                "0.01",
            ])
            .output()
            .map_err(|e| e.to_string())?;
        println!(
            "| {n} | `{}` |",
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .replace('\n', " ")
        );
    }
    Ok(())
}

fn rss(bins: &Bins, n: usize) -> Result<(), String> {
    // Generated users (no phones) in the Default population: seeding is instant.
    let duo = SimProcess::duo(&bins.duo_sim, &[]);
    let p1 = SimProcess::pingone(
        &bins.pingone_sim,
        &["--seed-users", &n.to_string(), "--seed-groups", "0"],
    );
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let cfg = write_config(
        dir.path(),
        &Endpoints {
            duo: duo.base.clone(),
            pingone: p1.base.clone(),
        },
        "\"off\"",
        "concurrency = 16",
        &outbound_rule("r", "deprovision = true", "").replace(
            "populations = [\"Workforce\"]",
            "populations = [\"Default\"]",
        ),
    );
    let (t1, c1, r1) = sync(bins, &cfg, true)?;
    let (t2, c2, r2) = sync(bins, &cfg, true)?;
    println!("\n### Peak RSS of `p1duo sync`, {n} users in scope\n");
    println!("| sync | exit | elapsed s | peak RSS MiB |\n| --- | ---: | ---: | ---: |");
    for (what, t, c, r) in [("initial", t1, c1, r1), ("no change", t2, c2, r2)] {
        println!(
            "| {what} | {c} | {:.1} | {} |",
            t.as_secs_f64(),
            r.map(|k| format!("{:.0}", k as f64 / 1024.0))
                .unwrap_or_else(|| "?".into())
        );
    }
    Ok(())
}
