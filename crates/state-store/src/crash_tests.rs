//! Crash and lock tests across processes: the test binary re-runs itself as a
//! child (`STATE_STORE_CRASH_CHILD` set), which writes to the store and blocks
//! at a known point; the parent SIGKILLs it there and checks what survived.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use serde_json::json;

use crate::{
    AuditEntry, FinishedIntent, IntentOutcome, Link, NewIntent, NewRun, ObjectKey, ObjectKind, Op,
    Options, Origin, ResultBatch, RunId, StatusFilter, StatusUpdate, Store, StoreError, SyncStatus,
    Trigger,
};

const MODE: &str = "STATE_STORE_CRASH_CHILD";
const DB: &str = "STATE_STORE_CRASH_DB";
/// Objects per batch: each gives an intent outcome, a link, a status and an audit row.
const PER_BATCH: usize = 2_000;
/// The batch during which the child is killed.
const KILLED_BATCH: usize = 4;

/// The child's entry point; does nothing in a normal test run.
#[test]
fn child_entry() {
    let (Ok(mode), Ok(db)) = (std::env::var(MODE), std::env::var(DB)) else {
        return;
    };
    let mut store = Store::open(&db, Options::default()).expect("child opens the store");
    match mode.as_str() {
        "hold" => {
            say("LOCKED");
            block_forever();
        }
        "batches" => write_batches(&mut store),
        other => panic!("unknown child mode {other}"),
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    // Own line, marked: libtest may have printed "test ... " without a newline.
    writeln!(out, "\n@@{line}").expect("stdout");
    out.flush().expect("stdout");
}

/// Waits on stdin, which the parent never closes before killing us.
fn block_forever() -> ! {
    let mut line = String::new();
    loop {
        line.clear();
        if std::io::stdin().read_line(&mut line).unwrap_or(0) == 0 {
            std::process::abort();
        }
    }
}

fn rule(batch: usize) -> String {
    format!("rule-{batch}")
}

fn batch_for(batch: usize, run: RunId, intents: &[crate::IntentId]) -> ResultBatch {
    let rule = rule(batch);
    let mut out = ResultBatch::default();
    for (i, id) in intents.iter().enumerate() {
        let key = ObjectKey::new(&rule, ObjectKind::User, format!("u{i}"));
        out.intents.push(FinishedIntent {
            id: *id,
            outcome: IntentOutcome::Done {
                target_id: Some(format!("D{batch}-{i}")),
            },
            at: 2,
        });
        out.link_upserts.push(Link {
            rule: rule.clone(),
            kind: ObjectKind::User,
            source_id: key.source_id.clone(),
            target_id: format!("D{batch}-{i}"),
            attrs: json!({ "username": format!("user{i}"), "batch": batch }),
            fingerprint: (batch * PER_BATCH + i) as u64,
            origin: Origin::Source,
            first_synced: 2,
            last_synced: 2,
        });
        out.statuses.push(StatusUpdate {
            key: key.clone(),
            display_name: format!("user{i}"),
            status: SyncStatus::Success,
            error: None,
            run_id: Some(run),
            at: 2,
        });
        out.audit.push(AuditEntry {
            run_id: Some(run),
            key,
            op: Op::Create,
            before: json!(null),
            after: json!({ "username": format!("user{i}") }),
            at: 2,
        });
    }
    out
}

fn write_batches(store: &mut Store) {
    // A tiny page cache makes SQLite spill uncommitted pages into the WAL
    // mid-transaction, so recovery must also discard frames without a commit.
    store
        .conn
        .pragma_update(None, "cache_size", 8)
        .expect("cache_size");
    for batch in 0..=KILLED_BATCH {
        let run = store
            .start_run(&NewRun {
                rule: rule(batch),
                trigger: Trigger::Schedule,
                started: 1,
                plan_hash: None,
            })
            .expect("start_run");
        let new: Vec<NewIntent> = (0..PER_BATCH)
            .map(|i| NewIntent {
                run_id: run,
                rule: rule(batch),
                kind: ObjectKind::User,
                source_id: format!("u{i}"),
                op: Op::Create,
                key: format!("user{i}"),
                target_id: None,
                summary: json!({ "username": format!("user{i}") }),
                created_at: 1,
            })
            .collect();
        let ids = store.begin_intents(&new).expect("begin_intents");
        let results = batch_for(batch, run, &ids);
        if batch == KILLED_BATCH {
            let total = PER_BATCH * 4;
            store
                .record_results_observed(&results, &[], &mut |row| {
                    if row == total * 5 / 8 {
                        say(&format!("MID {batch}"));
                        block_forever();
                    }
                })
                .expect("record_results");
        } else {
            store.record_results(&results).expect("record_results");
            say(&format!("COMMITTED {batch}"));
        }
    }
}

fn spawn_child(mode: &str, db: &Path) -> (Child, BufReader<ChildStdout>) {
    let exe = std::env::current_exe().expect("test binary path");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "crash_tests::child_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(MODE, mode)
        .env(DB, db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child test process");
    let stdout = BufReader::new(child.stdout.take().expect("child stdout"));
    (child, stdout)
}

/// Reads the child's lines until one starts with `prefix`; returns all of our lines.
fn read_until(out: &mut BufReader<ChildStdout>, prefix: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        let n = out.read_line(&mut line).expect("read child stdout");
        assert!(n > 0, "child exited before printing {prefix}; saw {seen:?}");
        if let Some(line) = line.trim().strip_prefix("@@").map(str::to_owned) {
            let done = line.starts_with(prefix);
            seen.push(line);
            if done {
                return seen;
            }
        }
    }
}

fn kill(mut child: Child) {
    child.kill().expect("SIGKILL the child");
    let status = child.wait().expect("reap the child");
    assert!(!status.success(), "the child was killed, not finished");
}

#[test]
fn a_kill_mid_batch_keeps_every_committed_batch_and_nothing_of_the_open_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("state.db");
    let (child, mut out) = spawn_child("batches", &db);
    let lines = read_until(&mut out, "MID");
    let committed: Vec<String> = (0..KILLED_BATCH)
        .map(|b| format!("COMMITTED {b}"))
        .collect();
    assert_eq!(lines[..KILLED_BATCH], committed[..]);
    kill(child);

    // Opening for writing also proves the dead child's lock is gone.
    let store = Store::open(&db, Options::default()).expect("the database opens after a kill");
    assert_eq!(
        store.integrity_check().expect("integrity_check"),
        Vec::<String>::new()
    );
    for batch in 0..KILLED_BATCH {
        let links = store.links_for_rule(&rule(batch)).expect("links");
        assert_eq!(links.len(), PER_BATCH, "batch {batch} links");
        assert!(
            links
                .iter()
                .all(|l| l.target_id.starts_with(&format!("D{batch}-")))
        );
        let statuses = store
            .statuses(&StatusFilter {
                rule: Some(rule(batch)),
                ..StatusFilter::default()
            })
            .expect("statuses");
        assert_eq!(statuses.len(), PER_BATCH, "batch {batch} statuses");
        let run = store.recent_runs(Some(&rule(batch)), 1).expect("runs")[0].id;
        assert_eq!(store.audit_for_run(run).expect("audit").len(), PER_BATCH);
        assert!(
            store
                .pending_intents(&rule(batch))
                .expect("pending")
                .is_empty()
        );
    }
    let open = rule(KILLED_BATCH);
    assert!(store.links_for_rule(&open).expect("links").is_empty());
    let statuses = store
        .statuses(&StatusFilter {
            rule: Some(open.clone()),
            ..StatusFilter::default()
        })
        .expect("statuses");
    assert!(statuses.is_empty(), "no status of the killed batch");
    let run = store.recent_runs(Some(&open), 1).expect("runs")[0].id;
    assert!(store.audit_for_run(run).expect("audit").is_empty());
    // The intents journaled before the killed batch are still pending: the
    // next run resolves them by key instead of creating duplicates.
    let pending = store.pending_intents(&open).expect("pending");
    assert_eq!(pending.len(), PER_BATCH);
    assert!(pending.iter().all(|i| i.target_id.is_none()));
}

#[test]
fn a_second_writer_is_refused_until_the_holder_dies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("state.db");
    let (child, mut out) = spawn_child("hold", &db);
    read_until(&mut out, "LOCKED");

    let err = Store::open(&db, Options::default()).expect_err("the lock is held");
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&db.display().to_string()), "{text}");
    assert!(text.contains("state.db.lock"), "{text}");
    // Status commands still read while the agent runs.
    let reader = Store::open_read_only(&db).expect("read-only open ignores the lock");
    assert!(reader.links_for_rule("any").expect("links").is_empty());

    kill(child);
    Store::open(&db, Options::default()).expect("the lock died with its holder");
}
