//! Crashes: the real `p1duo` binary runs an initial sync of a few thousand
//! users (phones, pushed groups) against standalone simulator processes, whose
//! state survives, and is killed with SIGKILL at seeded random moments of the
//! write phase, then restarted. At the end Duo holds exactly the wanted state
//! with no duplicate, the state database passes `integrity_check`, and one
//! more sync writes nothing. `P1DUO_SOAK=1`: more users and at least 20 kills.

use p1duo_tests::census::{duo_differences, duo_duplicates, want_from_pingone};
use p1duo_tests::fixtures::{Endpoints, Rng, outbound_rule, phone_for, soak, write_config};
use p1duo_tests::standalone::{PingOneSeeder, SimProcess, calls};
use p1duo_tests::{duo_sim_bin, p1duo_bin, pingone_sim_bin};
use serde_json::json;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const GROUPS: [&str; 3] = ["Engineering", "Sales", "Support"];

fn p1duo(config: &Path, args: &[&str]) -> std::process::Child {
    Command::new(p1duo_bin())
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("RUST_LOG")
        .env_remove("P1DUO_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("p1duo starts")
}

fn duo_writes(duo: &SimProcess) -> u64 {
    calls(&duo.stats(), |k| !k.starts_with("GET "))
}

#[test]
fn sigkilled_initial_syncs_end_in_exactly_the_wanted_state_without_duplicates() {
    let (users, kills) = if soak() { (5000, 24) } else { (1000, 4) };
    let t0 = Instant::now();
    let duo = SimProcess::duo(duo_sim_bin(), &[]);
    let p1 = SimProcess::pingone(pingone_sim_bin(), &[]);
    let seed = PingOneSeeder::new(&p1.base);
    let workforce = seed.population("Workforce");
    let groups: Vec<String> = GROUPS.iter().map(|g| seed.group(g)).collect();
    for i in 0..users {
        let id = seed.user(
            &format!("user{i:05}"),
            &workforce,
            json!({ "primaryPhone": phone_for(i) }),
        );
        seed.member(&id, &groups[i % groups.len()]);
    }
    eprintln!("seeded {users} users in {:?}", t0.elapsed());
    let dir = tempfile::tempdir().unwrap();
    let push = format!(
        "[rules.groups]\npush = [{}]",
        GROUPS.map(|g| format!("{g:?}")).join(", ")
    );
    let config = write_config(
        dir.path(),
        &Endpoints {
            duo: duo.base.clone(),
            pingone: p1.base.clone(),
        },
        "\"off\"",
        "",
        &outbound_rule("r", "deprovision = true", &push),
    );

    // Each user costs at least two Duo write calls (phone create and attach;
    // the create and the membership may share bulk calls with others): every
    // kill threshold stays below that total, so every kill lands mid-sync.
    let span = users as u64 * 2;
    let mut rng = Rng::new(0xC0FFEE);
    let mut landed = 0;
    for k in 0..kills {
        let before = duo_writes(&duo);
        if before >= span {
            break;
        }
        let at = before + rng.range(1, (span / (kills as u64 + 1)).max(2));
        let mut child = p1duo(&config, &["sync"]);
        let deadline = Instant::now() + Duration::from_secs(300);
        let killed = loop {
            if child.try_wait().expect("poll p1duo").is_some() {
                break false; // finished before the kill moment
            }
            if duo_writes(&duo) >= at {
                child.kill().expect("SIGKILL");
                child.wait().expect("reap");
                break true;
            }
            assert!(Instant::now() < deadline, "kill {k}: no progress");
            std::thread::sleep(Duration::from_millis(5));
        };
        if !killed {
            break;
        }
        landed += 1;
    }
    assert_eq!(landed, kills, "every kill lands mid-sync");

    eprintln!("{landed} kills by {:?}", t0.elapsed());
    // The last run completes.
    let out = p1duo(&config, &["sync"]).wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");

    eprintln!("final sync done by {:?}", t0.elapsed());
    let duo_state = duo.state();
    let dups = duo_duplicates(&duo_state);
    assert!(dups.is_empty(), "after {landed} kills: {dups:#?}");
    let want = want_from_pingone(&p1.state(), &workforce, &GROUPS, &[]);
    assert_eq!(want.users.len(), users);
    let diff = duo_differences(&want, &duo_state, &[]);
    assert!(diff.is_empty(), "after {landed} kills: {diff:#?}");

    let db = state_store::Store::open_read_only(dir.path().join("p1duo.db")).unwrap();
    assert_eq!(db.integrity_check().unwrap(), Vec::<String>::new());
    let user_links = db
        .links_for_rule("r")
        .unwrap()
        .iter()
        .filter(|l| l.kind == state_store::ObjectKind::User)
        .count();
    assert_eq!(user_links, users, "one link per user");
    drop(db);

    // Nothing left: a further sync writes nothing.
    duo.reset_stats();
    let out = p1duo(&config, &["sync"]).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(duo_writes(&duo), 0, "{}", duo.stats());

    // Recovery closed what the killed runs left pending, so every run prunes.
    let mut db = state_store::Store::open(dir.path().join("p1duo.db"), Default::default()).unwrap();
    let pending = db.pending_intents("r").unwrap();
    assert!(
        pending.is_empty(),
        "{} intents left pending: {:?}",
        pending.len(),
        pending.first()
    );
    let pruned = db.prune(i64::MAX).unwrap();
    assert_eq!(pruned.runs, landed as u64 + 2, "{pruned:?}");
    assert!(db.recent_runs(None, 10).unwrap().is_empty());
}
