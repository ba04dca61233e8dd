//! Behaviour of the public API as the agent and the status commands see it:
//! links, intents, statuses, runs, retention, read-only access, the in-process
//! writer lock and the refusal to store secrets.

use serde_json::json;
use state_store::{
    AuditEntry, ErrorInfo, FinishedIntent, IntentOutcome, IntentState, Link, LinkHead, NewIntent,
    NewRun, ObjectKey, ObjectKind, Op, Options, Origin, ResultBatch, RunCounts, RunEnd, RunId,
    RunOutcome, StatusFilter, StatusUpdate, Store, StoreError, SyncStatus, Trigger,
};

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("state.db"), Options::default()).expect("open");
    (dir, store)
}

fn link(rule: &str, source: &str, target: &str, at: i64) -> Link {
    Link {
        rule: rule.into(),
        kind: ObjectKind::User,
        source_id: source.into(),
        target_id: target.into(),
        attrs: json!({ "username": source, "email": format!("{source}@example.com") }),
        fingerprint: at as u64 * 31,
        origin: Origin::Source,
        first_synced: at,
        last_synced: at,
    }
}

fn run(store: &mut Store, rule: &str, started: i64) -> RunId {
    store
        .start_run(&NewRun {
            rule: rule.into(),
            trigger: Trigger::Manual,
            started,
            plan_hash: Some("abc".into()),
        })
        .expect("start_run")
}

fn intent(run_id: RunId, source: &str) -> NewIntent {
    NewIntent {
        run_id,
        rule: "r".into(),
        kind: ObjectKind::User,
        source_id: source.into(),
        op: Op::Create,
        key: format!("{source}-name"),
        target_id: None,
        summary: json!({ "username": format!("{source}-name") }),
        created_at: 1,
    }
}

fn status(source: &str, status: SyncStatus, at: i64) -> StatusUpdate {
    StatusUpdate {
        key: ObjectKey::new("r", ObjectKind::User, source),
        display_name: format!("{source}-name"),
        status,
        error: (status != SyncStatus::Success).then(|| ErrorInfo {
            code: "40002".into(),
            message: "Invalid request parameters".into(),
            attribute: Some("email".into()),
        }),
        run_id: None,
        at,
    }
}

#[test]
fn store_moves_to_another_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<Store>();
}

#[test]
fn links_round_trip_and_keep_their_first_sync_time() {
    let (_dir, mut store) = open();
    let mut a = link("r", "p1", "D1", 100);
    a.fingerprint = u64::MAX;
    store
        .upsert_links(&[
            a.clone(),
            link("r", "p2", "D2", 100),
            link("other", "p1", "X", 100),
        ])
        .expect("upsert");
    let mut changed = link("r", "p1", "D9", 200);
    changed.first_synced = 200;
    store.upsert_links(&[changed]).expect("re-upsert");

    let links = store.links_for_rule("r").expect("links");
    assert_eq!(links.len(), 2, "only rule r");
    assert_eq!(links[0].source_id, "p1");
    assert_eq!(links[0].target_id, "D9");
    assert_eq!(links[0].first_synced, 100, "first sync time is kept");
    assert_eq!(links[0].last_synced, 200);
    assert_eq!(links[1], link("r", "p2", "D2", 100));
    assert_eq!(
        store
            .links_to_target("r", ObjectKind::User, "D2")
            .expect("by target")
            .len(),
        1
    );
    assert_eq!(store.link_rules().expect("rules"), ["other", "r"]);

    let gone = store
        .delete_links(&[
            ObjectKey::new("r", ObjectKind::User, "p1"),
            ObjectKey::new("r", ObjectKind::User, "nope"),
        ])
        .expect("delete");
    assert_eq!(gone, 1);
    assert_eq!(store.count_links("r").expect("count"), 1);
}

#[test]
fn link_heads_are_the_links_without_their_values() {
    let (_dir, mut store) = open();
    let mut links: Vec<Link> = (0..5)
        .map(|i| link("r", &format!("p{i}"), &format!("D{i}"), i))
        .collect();
    links[1].kind = ObjectKind::Group;
    links[2].origin = Origin::Adopted;
    links[3].fingerprint = u64::MAX;
    store.upsert_links(&links).expect("upsert");
    store
        .upsert_links(&[link("other", "p0", "X", 1)])
        .expect("other rule");
    let full = store.links_for_rule("r").expect("links");
    let heads = store.link_heads("r").expect("heads");
    let projected: Vec<LinkHead> = full
        .iter()
        .map(|l| LinkHead {
            kind: l.kind,
            source_id: l.source_id.clone(),
            target_id: l.target_id.clone(),
            fingerprint: l.fingerprint,
            origin: l.origin,
        })
        .collect();
    assert_eq!(heads, projected);
    assert_eq!(heads.len(), 5);
}

#[test]
fn fingerprints_keep_every_bit() {
    let (_dir, mut store) = open();
    let values = [0, 1, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX];
    let links: Vec<Link> = values
        .iter()
        .enumerate()
        .map(|(i, fp)| Link {
            fingerprint: *fp,
            ..link("r", &format!("p{i}"), "D", 1)
        })
        .collect();
    store.upsert_links(&links).expect("upsert");
    let back: Vec<u64> = store
        .links_for_rule("r")
        .expect("links")
        .iter()
        .map(|l| l.fingerprint)
        .collect();
    assert_eq!(back, values);
}

#[test]
fn intents_are_pending_until_finished_exactly_once() {
    let (_dir, mut store) = open();
    let run_id = run(&mut store, "r", 1);
    let a = store.begin_intent(&intent(run_id, "p1")).expect("begin");
    let b = store.begin_intent(&intent(run_id, "p2")).expect("begin");
    assert_eq!(store.pending_intents("r").expect("pending").len(), 2);
    assert!(store.pending_intents("other").expect("pending").is_empty());

    store
        .finish_intent(
            a,
            IntentOutcome::Done {
                target_id: Some("DU1".into()),
            },
            5,
        )
        .expect("finish");
    let err = store
        .finish_intent(a, IntentOutcome::Done { target_id: None }, 6)
        .expect_err("finished twice");
    assert!(
        matches!(err, StoreError::IntentNotPending { id } if id == a),
        "{err:?}"
    );

    let error = ErrorInfo {
        code: "40003".into(),
        message: "duplicate username".into(),
        attribute: Some("username".into()),
    };
    store
        .finish_intent(
            b,
            IntentOutcome::Failed {
                error: error.clone(),
            },
            7,
        )
        .expect("fail");

    let done = store.get_intent(a).expect("get").expect("exists");
    assert_eq!(
        (done.state, done.target_id.as_deref(), done.finished_at),
        (IntentState::Done, Some("DU1"), Some(5))
    );
    let failed = store.get_intent(b).expect("get").expect("exists");
    assert_eq!(
        (failed.state, failed.error),
        (IntentState::Failed, Some(error))
    );
    assert!(store.pending_intents("r").expect("pending").is_empty());
    assert_eq!(store.intents_for_run(run_id).expect("for run").len(), 2);
}

#[test]
fn an_intent_must_belong_to_a_known_run() {
    let (_dir, mut store) = open();
    let err = store
        .begin_intent(&intent(RunId(42), "p1"))
        .expect_err("no such run");
    assert!(matches!(err, StoreError::Sqlite(_)), "{err:?}");
}

#[test]
fn statuses_and_audit_must_name_a_known_run_in_small_and_big_batches() {
    // Small batches rely on the foreign keys, big ones (256 rows and more)
    // check their run ids once: both refuse an unknown run and write nothing.
    let (_dir, mut store) = open();
    let real = run(&mut store, "r", 1);
    for n in [1, 300] {
        let mut batch = ResultBatch::default();
        for i in 0..n {
            let mut s = status(&format!("p{i}"), SyncStatus::Success, 2);
            s.run_id = Some(if i == n - 1 { RunId(999) } else { real });
            batch.statuses.push(s);
        }
        let err = store.record_results(&batch).expect_err("unknown run");
        if n > 1 {
            expect_test::expect![[r#"status of r/user/p299 names run 999, which is not in the state database; start the run with `start_run` first"#]]
                .assert_eq(&err.to_string());
        }
        assert!(
            store
                .statuses(&StatusFilter::default())
                .expect("statuses")
                .is_empty()
        );
    }
    // And the foreign keys are back on after a big batch.
    let err = store
        .begin_intent(&intent(RunId(42), "p1"))
        .expect_err("no such run");
    assert!(matches!(err, StoreError::Sqlite(_)), "{err:?}");
}

#[test]
fn a_checkpoint_moves_the_wal_into_the_database() {
    let (dir, mut store) = open();
    let links: Vec<Link> = (0..2000)
        .map(|i| link("r", &format!("p{i}"), &format!("D{i}"), 1))
        .collect();
    store.upsert_links(&links).expect("upsert");
    let wal = dir.path().join("state.db-wal");
    let db = dir.path().join("state.db");
    let before = std::fs::metadata(&db).expect("db").len();
    let (frames, done) = store.checkpoint().expect("checkpoint");
    assert!(
        frames > 0 && done == frames,
        "{frames} frames, {done} copied"
    );
    assert!(
        std::fs::metadata(&db).expect("db").len() > before,
        "the database grew"
    );
    assert!(std::fs::metadata(&wal).is_ok());
    assert_eq!(store.links_for_rule("r").expect("links").len(), 2000);
}

#[test]
fn every_row_of_a_mixed_batch_reads_back_as_written() {
    // Rows that differ from their neighbour in any one field: the store
    // binds only what changed from the previous row, so each must land whole.
    let (_dir, mut store) = open();
    let r1 = run(&mut store, "r1", 1);
    let r2 = run(&mut store, "r2", 2);
    let mut batch = ResultBatch::default();
    for i in 0..600 {
        let rule = if i % 7 < 4 { "r1" } else { "r2" };
        let kind = if i % 5 == 0 {
            ObjectKind::Admin
        } else {
            ObjectKind::User
        };
        let source = format!("p{:03}", (i * 37) % 600);
        let failed = i % 3 == 0;
        batch.statuses.push(StatusUpdate {
            key: ObjectKey::new(rule, kind, source.clone()),
            display_name: format!("name {i}"),
            status: if failed {
                SyncStatus::Failed
            } else {
                SyncStatus::Success
            },
            error: failed.then(|| ErrorInfo {
                code: format!("4000{}", i % 2),
                message: format!("bad {i}"),
                attribute: (i % 2 == 0).then(|| "email".to_owned()),
            }),
            run_id: [Some(r1), None, Some(r2)][i % 3],
            at: 1000 + (i as i64 / 4),
        });
        batch.link_upserts.push(Link {
            rule: rule.into(),
            kind,
            source_id: source.clone(),
            target_id: format!("D{i}"),
            attrs: json!({ "n": i }),
            fingerprint: i as u64,
            origin: [Origin::Source, Origin::Adopted, Origin::Target][i % 3],
            first_synced: 10 + (i as i64 % 4),
            last_synced: 20 + (i as i64 / 3),
        });
        batch.audit.push(AuditEntry {
            run_id: [Some(r1), Some(r2), None][i % 3],
            key: ObjectKey::new(rule, kind, source),
            op: [Op::Create, Op::Update, Op::Delete][i % 3],
            before: if i % 4 == 0 {
                json!(null)
            } else {
                json!({ "b": i })
            },
            after: json!({ "a": i }),
            at: 3000 + (i as i64 / 2),
        });
    }
    store.record_results(&batch).expect("record");
    for s in &batch.statuses {
        let got = store.get_status(&s.key).expect("status").expect("present");
        assert_eq!(
            (
                &got.display_name,
                got.status,
                &got.last_error,
                got.run_id,
                got.last_attempt
            ),
            (&s.display_name, s.status, &s.error, s.run_id, s.at),
            "{}",
            s.key
        );
    }
    for l in &batch.link_upserts {
        let got = store.get_link(&l.key()).expect("link").expect("present");
        assert_eq!(&got, l, "{}", l.key());
    }
    for a in &batch.audit {
        let got = store.audit_for_object(&a.key, 1).expect("audit");
        assert_eq!(got.as_slice(), std::slice::from_ref(a), "{}", a.key);
    }
}

#[test]
fn a_failing_batch_writes_nothing() {
    let (_dir, mut store) = open();
    let run_id = run(&mut store, "r", 1);
    let id = store.begin_intent(&intent(run_id, "p1")).expect("begin");
    store
        .finish_intent(id, IntentOutcome::Done { target_id: None }, 2)
        .expect("finish");

    let batch = ResultBatch {
        link_upserts: vec![link("r", "p1", "D1", 3)],
        statuses: vec![status("p1", SyncStatus::Success, 3)],
        // Finishing it again fails after the link and status rows were written.
        intents: vec![FinishedIntent {
            id,
            outcome: IntentOutcome::Done { target_id: None },
            at: 3,
        }],
        ..ResultBatch::default()
    };
    assert!(store.record_results(&batch).is_err());
    assert!(store.links_for_rule("r").expect("links").is_empty());
    assert!(
        store
            .get_status(&ObjectKey::new("r", ObjectKind::User, "p1"))
            .expect("status")
            .is_none()
    );
}

#[test]
fn statuses_count_attempts_until_a_success() {
    let (_dir, mut store) = open();
    let key = ObjectKey::new("r", ObjectKind::User, "p1");
    for (at, s) in [
        (1, SyncStatus::Success),
        (2, SyncStatus::Failed),
        (3, SyncStatus::Failed),
    ] {
        store
            .record_results(&ResultBatch {
                statuses: vec![status("p1", s, at)],
                ..ResultBatch::default()
            })
            .expect("record");
    }
    let st = store.get_status(&key).expect("get").expect("exists");
    assert_eq!(
        (st.status, st.attempts, st.last_attempt, st.last_success),
        (SyncStatus::Failed, 2, 3, Some(1))
    );
    assert_eq!(
        st.last_error.as_ref().map(|e| e.attribute.as_deref()),
        Some(Some("email"))
    );

    store
        .record_results(&ResultBatch {
            statuses: vec![status("p1", SyncStatus::Success, 4)],
            ..ResultBatch::default()
        })
        .expect("record");
    let st = store.get_status(&key).expect("get").expect("exists");
    assert_eq!(
        (st.status, st.attempts, st.last_success, st.last_error),
        (SyncStatus::Success, 0, Some(4), None)
    );
}

#[test]
fn status_lists_filter_by_rule_and_by_not_in_step() {
    let (_dir, mut store) = open();
    let mut other = status("q1", SyncStatus::Partial, 1);
    other.key.rule = "other".into();
    let statuses = vec![
        status("p1", SyncStatus::Success, 1),
        status("p2", SyncStatus::Unsynced, 1),
        status("p3", SyncStatus::Failed, 1),
        other,
    ];
    store
        .record_results(&ResultBatch {
            statuses,
            ..ResultBatch::default()
        })
        .expect("record");
    let ids = |store: &Store, f: StatusFilter| -> Vec<String> {
        store
            .statuses(&f)
            .expect("statuses")
            .into_iter()
            .map(|s| s.key.source_id)
            .collect()
    };
    assert_eq!(
        ids(&store, StatusFilter::default()),
        ["q1", "p1", "p2", "p3"]
    );
    assert_eq!(
        ids(
            &store,
            StatusFilter {
                rule: Some("r".into()),
                not_in_step: true,
                ..Default::default()
            }
        ),
        ["p2", "p3"]
    );
    assert_eq!(
        ids(
            &store,
            StatusFilter {
                rule: Some("r".into()),
                limit: Some(1),
                ..Default::default()
            }
        ),
        ["p1"]
    );
    assert_eq!(
        ids(
            &store,
            StatusFilter {
                kind: Some(ObjectKind::Group),
                ..Default::default()
            }
        ),
        Vec::<String>::new()
    );
    let counts = store.status_counts("r").expect("counts");
    assert_eq!(
        counts,
        [
            (ObjectKind::User, SyncStatus::Failed, 1),
            (ObjectKind::User, SyncStatus::Success, 1),
            (ObjectKind::User, SyncStatus::Unsynced, 1)
        ]
    );

    store
        .record_results(&ResultBatch {
            status_deletes: vec![ObjectKey::new("r", ObjectKind::User, "p3")],
            ..ResultBatch::default()
        })
        .expect("forget");
    assert_eq!(
        ids(
            &store,
            StatusFilter {
                rule: Some("r".into()),
                not_in_step: true,
                ..Default::default()
            }
        ),
        ["p2"]
    );
}

#[test]
fn runs_record_outcome_and_counts_and_interrupted_runs_are_closed() {
    let (_dir, mut store) = open();
    let first = run(&mut store, "r", 10);
    let mut counts = RunCounts::default();
    counts.by_op.insert(Op::Create, 3);
    counts.by_status.insert(SyncStatus::Failed, 1);
    let end = RunEnd {
        ended: 20,
        outcome: RunOutcome::PartiallyFailed,
        counts: counts.clone(),
        plan_hash: None,
    };
    assert!(store.finish_run(first, &end).expect("finish"));
    assert!(!store.finish_run(RunId(999), &end).expect("finish unknown"));
    let second = run(&mut store, "r", 30);
    let _other = run(&mut store, "other", 40);

    let recent = store.recent_runs(Some("r"), 10).expect("recent");
    assert_eq!(
        recent.iter().map(|r| r.id).collect::<Vec<_>>(),
        [second, first]
    );
    assert_eq!(recent[1].counts, counts);
    assert_eq!(
        recent[1].plan_hash.as_deref(),
        Some("abc"),
        "kept when the end gives none"
    );
    assert_eq!(store.recent_runs(None, 2).expect("all").len(), 2);

    let closed = store.close_interrupted_runs(50).expect("close");
    assert_eq!(closed.len(), 2);
    let r = store.get_run(second).expect("get").expect("exists");
    assert_eq!(
        (r.outcome, r.ended),
        (Some(RunOutcome::Interrupted), Some(50))
    );
}

#[test]
fn prune_drops_old_runs_and_audit_but_keeps_runs_with_pending_intents() {
    let (_dir, mut store) = open();
    let end = RunEnd {
        ended: 2,
        outcome: RunOutcome::Succeeded,
        counts: RunCounts::default(),
        plan_hash: None,
    };
    let old = run(&mut store, "r", 1);
    store.finish_run(old, &end).expect("finish");
    let done = store.begin_intent(&intent(old, "p1")).expect("begin");
    store
        .finish_intent(done, IntentOutcome::Done { target_id: None }, 2)
        .expect("finish");
    let stuck = run(&mut store, "r", 1);
    store.finish_run(stuck, &end).expect("finish");
    store.begin_intent(&intent(stuck, "p2")).expect("begin");
    let recent = run(&mut store, "r", 500);

    let audit = |at, run_id| AuditEntry {
        run_id: Some(run_id),
        key: ObjectKey::new("r", ObjectKind::User, "p1"),
        op: Op::Update,
        before: json!({ "email": "a@x" }),
        after: json!({ "email": "b@x" }),
        at,
    };
    store
        .record_results(&ResultBatch {
            audit: vec![audit(1, old), audit(600, recent)],
            ..ResultBatch::default()
        })
        .expect("audit");

    let report = store.prune(100).expect("prune");
    assert_eq!((report.runs, report.intents, report.audit), (1, 1, 1));
    assert!(store.get_run(old).expect("get").is_none());
    assert!(
        store.get_run(stuck).expect("get").is_some(),
        "pending intents keep their run"
    );
    assert_eq!(store.pending_intents("r").expect("pending").len(), 1);
    let left = store
        .audit_for_object(&ObjectKey::new("r", ObjectKind::User, "p1"), 10)
        .expect("audit");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].after, json!({ "email": "b@x" }));
    assert!(store.integrity_check().expect("check").is_empty());
}

#[test]
fn read_only_store_sees_committed_data_and_refuses_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let mut writer = Store::open(&path, Options::default()).expect("open");
    writer
        .upsert_links(&[link("r", "p1", "D1", 1)])
        .expect("upsert");
    writer
        .kv_set("last_full_sync", "1700000000000")
        .expect("kv");

    let mut reader = Store::open_read_only(&path).expect("read-only while the writer is open");
    assert!(!reader.is_writable());
    assert_eq!(reader.links_for_rule("r").expect("links").len(), 1);
    writer
        .upsert_links(&[link("r", "p2", "D2", 1)])
        .expect("upsert");
    assert_eq!(
        reader.links_for_rule("r").expect("links").len(),
        2,
        "sees later commits"
    );
    let err = reader.kv_set("x", "y").expect_err("read-only");
    assert!(
        matches!(
            err,
            StoreError::ReadOnly {
                operation: "kv_set"
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("read-only"));
    drop(writer);
    assert_eq!(
        reader.kv_get("last_full_sync").expect("kv").as_deref(),
        Some("1700000000000")
    );
    drop(reader);
    let reader = Store::open_read_only(&path).expect("read-only with no writer");
    assert_eq!(reader.count_links("r").expect("count"), 2);
}

#[test]
fn read_only_open_of_a_missing_file_says_the_agent_has_not_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nope.db");
    let err = Store::open_read_only(&path).expect_err("missing");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("nope.db"));
    assert!(!path.exists(), "a read-only open creates nothing");
}

#[test]
fn a_second_writer_in_the_same_process_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let first = Store::open(&path, Options::default()).expect("open");
    let err = Store::open(&path, Options::default()).expect_err("locked");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    drop(first);
    Store::open(&path, Options::default()).expect("free again after drop");
}

#[test]
fn secret_named_fields_are_refused_and_nothing_is_stored() {
    let (_dir, mut store) = open();
    let mut bad = link("r", "p1", "D1", 1);
    bad.attrs = json!({ "username": "ann", "password": "hunter2-very-secret" });
    let err = store
        .upsert_links(&[link("r", "p0", "D0", 1), bad])
        .expect_err("secret");
    let text = err.to_string();
    assert!(
        matches!(err, StoreError::SecretField { ref field, .. } if field == "password"),
        "{err:?}"
    );
    assert!(
        !text.contains("hunter2"),
        "the value never reaches the error: {text}"
    );
    assert!(text.contains("r/user/p1"), "{text}");
    assert!(
        store.links_for_rule("r").expect("links").is_empty(),
        "the whole call is refused"
    );

    let audit = AuditEntry {
        run_id: None,
        key: ObjectKey::new("r", ObjectKind::User, "p1"),
        op: Op::Update,
        before: json!(null),
        after: json!({ "nested": [{ "client_secret": "s3cr3t" }] }),
        at: 1,
    };
    let err = store
        .record_results(&ResultBatch {
            audit: vec![audit],
            ..ResultBatch::default()
        })
        .expect_err("secret");
    assert!(!format!("{err:?}").contains("s3cr3t"));
    assert!(
        store
            .audit_for_object(&ObjectKey::new("r", ObjectKind::User, "p1"), 10)
            .expect("audit")
            .is_empty()
    );

    let run_id = run(&mut store, "r", 1);
    let mut i = intent(run_id, "p1");
    i.summary = json!({ "apiKey": "k" });
    assert!(matches!(
        store.begin_intent(&i),
        Err(StoreError::SecretField { .. })
    ));
    assert!(store.pending_intents("r").expect("pending").is_empty());
}

#[test]
fn scheduler_state_is_kept() {
    let (_dir, mut store) = open();
    assert_eq!(store.kv_get("k").expect("get"), None);
    store.kv_set("k", "1").expect("set");
    store.kv_set("k", "2").expect("set");
    assert_eq!(store.kv_get("k").expect("get").as_deref(), Some("2"));
    assert!(store.kv_delete("k").expect("delete"));
    assert!(!store.kv_delete("k").expect("delete"));
}

#[test]
fn in_memory_store_works_for_other_crates_tests() {
    let mut store = Store::open_in_memory().expect("memory");
    store
        .upsert_links(&[link("r", "p1", "D1", 1)])
        .expect("upsert");
    assert_eq!(store.links_for_rule("r").expect("links").len(), 1);
}

#[test]
fn the_database_its_wal_and_its_lock_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, mut store) = open();
    store.kv_set("k", "v").unwrap();
    for name in ["state.db", "state.db-wal", "state.db.lock"] {
        let mode = std::fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{name} is {mode:o}");
    }
}

#[test]
fn an_empty_file_is_refused_not_reinitialised() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    std::fs::write(&path, b"").unwrap();
    let err = Store::open(&path, Options::default()).unwrap_err();
    assert!(matches!(err, StoreError::EmptyFile { .. }), "{err}");
    assert!(err.to_string().contains("not re-initialised"), "{err}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "left as it was");
}

#[test]
fn two_names_for_one_database_share_one_writer_lock() {
    let (dir, _store) = open();
    let alias = dir.path().join("alias.db");
    std::os::unix::fs::symlink(dir.path().join("state.db"), &alias).unwrap();
    let err = Store::open(&alias, Options::default()).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
}

#[test]
fn recovery_resolves_what_interrupted_runs_left_pending_so_they_prune() {
    let (_dir, mut store) = open();
    // A run killed mid-way: three creates and an update journaled, no outcome.
    let killed = run(&mut store, "r", 1);
    let linked = store.begin_intent(&intent(killed, "p1")).expect("begin");
    let retried = store.begin_intent(&intent(killed, "p2")).expect("begin");
    let left_scope = store.begin_intent(&intent(killed, "p3")).expect("begin");
    let update = store
        .begin_intent(&NewIntent {
            op: Op::Update,
            target_id: Some("D9".into()),
            ..intent(killed, "p9")
        })
        .expect("begin");
    store.close_interrupted_runs(2).expect("close");
    // The next run links p1 (found by key) and journals a new create of p2,
    // whose answer is lost again; p3 has left the scope, unlinked.
    let next = run(&mut store, "r", 3);
    store
        .record_results(&ResultBatch {
            link_upserts: vec![link("r", "p1", "D1", 3)],
            ..ResultBatch::default()
        })
        .expect("link");
    let again = store.begin_intent(&intent(next, "p2")).expect("begin");
    assert_eq!(store.resolve_pending("r", next, 4).expect("resolve"), 3);
    let state = |id| store.get_intent(id).expect("get").expect("exists").state;
    assert_eq!(state(linked), IntentState::Resolved, "its object is linked");
    assert_eq!(
        state(retried),
        IntentState::Resolved,
        "a newer create carries it"
    );
    assert_eq!(
        state(update),
        IntentState::Resolved,
        "the next run re-read the target"
    );
    assert_eq!(
        state(left_scope),
        IntentState::Pending,
        "its object may exist unlinked: kept"
    );
    assert_eq!(
        state(again),
        IntentState::Pending,
        "this run's own intents are left alone"
    );
    // Another rule's intents are not touched.
    assert_eq!(
        store
            .resolve_pending("other", RunId(i64::MAX), 5)
            .expect("resolve"),
        0
    );
    store
        .record_results(&ResultBatch {
            link_upserts: vec![link("r", "p3", "D3", 5)],
            ..ResultBatch::default()
        })
        .expect("link");
    let later = run(&mut store, "r", 6);
    assert_eq!(store.resolve_pending("r", later, 7).expect("resolve"), 1);
    let end = RunEnd {
        ended: 8,
        outcome: RunOutcome::Succeeded,
        counts: RunCounts::default(),
        plan_hash: None,
    };
    store.finish_run(later, &end).expect("finish");
    let report = store.prune(100).expect("prune");
    assert_eq!(report.runs, 2, "the interrupted run and the last prune");
    assert!(store.get_run(killed).expect("get").is_none());
    assert!(
        store.get_run(next).expect("get").is_some(),
        "its create is still pending"
    );
    assert!(store.integrity_check().expect("check").is_empty());
}

#[test]
fn one_commit_holds_results_and_the_next_intents() {
    let (_dir, mut store) = open();
    let run_id = run(&mut store, "r", 1);
    let first = store.begin_intent(&intent(run_id, "p1")).expect("begin");
    let results = ResultBatch {
        intents: vec![FinishedIntent {
            id: first,
            outcome: IntentOutcome::Done {
                target_id: Some("D1".into()),
            },
            at: 2,
        }],
        link_upserts: vec![link("r", "p1", "D1", 2)],
        ..ResultBatch::default()
    };
    let ids = store
        .commit_journal(&results, &[intent(run_id, "p2"), intent(run_id, "p3")])
        .expect("commit");
    assert_eq!(ids.len(), 2);
    let pending: Vec<_> = store
        .pending_intents("r")
        .expect("pending")
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(pending, ids);
    assert!(
        store
            .get_link(&ObjectKey::new("r", ObjectKind::User, "p1"))
            .expect("get")
            .is_some()
    );
    // A bad intent rolls back the whole commit, results included.
    let bad = NewIntent {
        summary: json!({ "password": "x" }),
        ..intent(run_id, "p4")
    };
    let again = ResultBatch {
        link_upserts: vec![link("r", "p5", "D5", 3)],
        ..ResultBatch::default()
    };
    store
        .commit_journal(&again, &[bad])
        .expect_err("secret refused");
    assert!(
        store
            .get_link(&ObjectKey::new("r", ObjectKind::User, "p5"))
            .expect("get")
            .is_none()
    );
    assert_eq!(store.pending_intents("r").expect("pending").len(), 2);
}

#[test]
fn runs_record_a_notification_trigger_and_refuse_unknown_ones() {
    let (dir, mut store) = open();
    let id = store
        .start_run(&NewRun {
            rule: "r".into(),
            trigger: Trigger::Notification,
            started: 1,
            plan_hash: None,
        })
        .expect("start_run");
    let r = store.get_run(id).expect("get").expect("exists");
    assert_eq!(r.trigger, Trigger::Notification);
    drop(store);
    let conn = rusqlite::Connection::open(dir.path().join("state.db")).expect("open");
    conn.execute(
        "INSERT INTO runs (rule, trigger, started) VALUES ('r', 'whim', 1)",
        [],
    )
    .expect_err("the CHECK refuses an unknown trigger");
}
