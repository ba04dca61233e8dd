//! A state-machine property test: random sequences of link, intent, status
//! and batch operations (and reopening the file) run against the store and a
//! plain in-memory model; after every step both must agree.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::json;
use state_store::{
    ErrorInfo, FinishedIntent, IntentId, IntentOutcome, Link, NewIntent, NewRun, ObjectKey,
    ObjectKind, Op, Options, Origin, ResultBatch, RunId, StatusFilter, StatusUpdate, Store,
    StoreError, SyncStatus, Trigger,
};

const RULES: [&str; 2] = ["a", "b"];

#[derive(Debug, Clone)]
enum Step {
    UpsertLink {
        rule: usize,
        src: u8,
        target: u8,
        fp: u64,
    },
    DeleteLink {
        rule: usize,
        src: u8,
    },
    BeginIntent {
        rule: usize,
        src: u8,
    },
    FinishIntent {
        pick: usize,
        done: bool,
        target: Option<u8>,
    },
    Status {
        rule: usize,
        src: u8,
        status: SyncStatus,
    },
    /// Several results in one batch; `finish` may pick a finished intent,
    /// which must make the whole batch fail and change nothing.
    Batch {
        links: Vec<(u8, u8)>,
        statuses: Vec<(u8, SyncStatus)>,
        finish: Option<usize>,
    },
    Reopen,
}

fn status_strategy() -> impl Strategy<Value = SyncStatus> {
    prop::sample::select(SyncStatus::ALL.to_vec())
}

fn step_strategy() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..2usize, 0..6u8, 0..4u8, any::<u64>()).prop_map(|(rule, src, target, fp)| Step::UpsertLink { rule, src, target, fp }),
        1 => (0..2usize, 0..6u8).prop_map(|(rule, src)| Step::DeleteLink { rule, src }),
        2 => (0..2usize, 0..6u8).prop_map(|(rule, src)| Step::BeginIntent { rule, src }),
        2 => (any::<usize>(), any::<bool>(), prop::option::of(0..4u8)).prop_map(|(pick, done, target)| Step::FinishIntent { pick, done, target }),
        3 => (0..2usize, 0..6u8, status_strategy()).prop_map(|(rule, src, status)| Step::Status { rule, src, status }),
        2 => (prop::collection::vec((0..6u8, 0..4u8), 0..4), prop::collection::vec((0..6u8, status_strategy()), 0..4), prop::option::of(any::<usize>()))
            .prop_map(|(links, statuses, finish)| Step::Batch { links, statuses, finish }),
        1 => Just(Step::Reopen),
    ]
}

#[derive(Debug, Clone, PartialEq)]
struct ModelIntent {
    rule: usize,
    pending: bool,
    target: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct ModelStatus {
    status: SyncStatus,
    attempts: u32,
    last_attempt: i64,
    last_success: Option<i64>,
}

#[derive(Default)]
struct Model {
    links: BTreeMap<ObjectKey, Link>,
    intents: BTreeMap<IntentId, ModelIntent>,
    statuses: BTreeMap<ObjectKey, ModelStatus>,
}

impl Model {
    fn upsert(&mut self, l: Link) {
        let first = self
            .links
            .get(&l.key())
            .map_or(l.first_synced, |old| old.first_synced);
        self.links.insert(
            l.key(),
            Link {
                first_synced: first,
                ..l
            },
        );
    }

    fn status(&mut self, s: &StatusUpdate) {
        let old = self.statuses.get(&s.key).cloned();
        let success = s.status == SyncStatus::Success;
        self.statuses.insert(
            s.key.clone(),
            ModelStatus {
                status: s.status,
                attempts: if success {
                    0
                } else {
                    old.as_ref().map_or(0, |o| o.attempts) + 1
                },
                last_attempt: s.at,
                last_success: if success {
                    Some(s.at)
                } else {
                    old.and_then(|o| o.last_success)
                },
            },
        );
    }
}

fn key(rule: usize, src: u8) -> ObjectKey {
    ObjectKey::new(RULES[rule], ObjectKind::User, format!("s{src}"))
}

fn link(rule: usize, src: u8, target: u8, fp: u64, at: i64) -> Link {
    Link {
        rule: RULES[rule].into(),
        kind: ObjectKind::User,
        source_id: format!("s{src}"),
        target_id: format!("t{target}"),
        attrs: json!({ "username": format!("s{src}"), "n": at }),
        fingerprint: fp,
        origin: if target.is_multiple_of(2) {
            Origin::Source
        } else {
            Origin::Adopted
        },
        first_synced: at,
        last_synced: at,
    }
}

fn status(rule: usize, src: u8, status: SyncStatus, at: i64) -> StatusUpdate {
    StatusUpdate {
        key: key(rule, src),
        display_name: format!("s{src}"),
        status,
        error: (status != SyncStatus::Success).then(|| ErrorInfo {
            code: "E".into(),
            message: "m".into(),
            attribute: None,
        }),
        run_id: None,
        at,
    }
}

fn outcome(done: bool, target: Option<u8>) -> IntentOutcome {
    if done {
        IntentOutcome::Done {
            target_id: target.map(|t| format!("t{t}")),
        }
    } else {
        IntentOutcome::Failed {
            error: ErrorInfo {
                code: "E".into(),
                message: "refused".into(),
                attribute: None,
            },
        }
    }
}

fn check(store: &Store, model: &Model) -> Result<(), TestCaseError> {
    for (i, rule) in RULES.iter().enumerate() {
        let stored = store.links_for_rule(rule).expect("links");
        let expected: Vec<Link> = model
            .links
            .values()
            .filter(|l| l.rule == *rule)
            .cloned()
            .collect();
        prop_assert_eq!(stored, expected);
        let pending: Vec<(IntentId, Option<String>)> = store
            .pending_intents(rule)
            .expect("pending")
            .into_iter()
            .map(|p| (p.id, p.target_id))
            .collect();
        let expected: Vec<(IntentId, Option<String>)> = model
            .intents
            .iter()
            .filter(|(_, m)| m.rule == i && m.pending)
            .map(|(id, m)| (*id, m.target.clone()))
            .collect();
        prop_assert_eq!(pending, expected);
    }
    let stored: BTreeMap<ObjectKey, ModelStatus> = store
        .statuses(&StatusFilter::default())
        .expect("statuses")
        .into_iter()
        .map(|s| {
            (
                s.key,
                ModelStatus {
                    status: s.status,
                    attempts: s.attempts,
                    last_attempt: s.last_attempt,
                    last_success: s.last_success,
                },
            )
        })
        .collect();
    prop_assert_eq!(&stored, &model.statuses);
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn store_agrees_with_a_simple_model(steps in prop::collection::vec(step_strategy(), 1..40)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.db");
        let mut store = Store::open(&path, Options::default()).expect("open");
        let runs: Vec<RunId> = RULES.iter().map(|r| store.start_run(&NewRun { rule: (*r).into(), trigger: Trigger::Schedule, started: 0, plan_hash: None }).expect("run")).collect();
        let mut model = Model::default();

        for (n, step) in steps.into_iter().enumerate() {
            let at = n as i64 + 1;
            match step {
                Step::UpsertLink { rule, src, target, fp } => {
                    let l = link(rule, src, target, fp, at);
                    store.upsert_links(std::slice::from_ref(&l)).expect("upsert");
                    model.upsert(l);
                }
                Step::DeleteLink { rule, src } => {
                    let n = store.delete_links(&[key(rule, src)]).expect("delete");
                    prop_assert_eq!(n, u64::from(model.links.remove(&key(rule, src)).is_some()));
                }
                Step::BeginIntent { rule, src } => {
                    let id = store.begin_intent(&NewIntent {
                        run_id: runs[rule], rule: RULES[rule].into(), kind: ObjectKind::User,
                        source_id: format!("s{src}"), op: Op::Create, key: format!("s{src}"),
                        target_id: None, summary: json!({}), created_at: at,
                    }).expect("begin");
                    model.intents.insert(id, ModelIntent { rule, pending: true, target: None });
                }
                Step::FinishIntent { pick, done, target } => {
                    if model.intents.is_empty() { continue; }
                    let id = *model.intents.keys().nth(pick % model.intents.len()).expect("pick");
                    let result = store.finish_intent(id, outcome(done, target), at);
                    let m = model.intents.get_mut(&id).expect("model intent");
                    if m.pending {
                        result.expect("finish a pending intent");
                        m.pending = false;
                        if done && target.is_some() { m.target = target.map(|t| format!("t{t}")); }
                    } else {
                        let refused = matches!(result, Err(StoreError::IntentNotPending { .. }));
                        prop_assert!(refused, "finishing {:?} twice must be refused", id);
                    }
                }
                Step::Status { rule, src, status: s } => {
                    let update = status(rule, src, s, at);
                    store.record_results(&ResultBatch { statuses: vec![update.clone()], ..ResultBatch::default() }).expect("record");
                    model.status(&update);
                }
                Step::Batch { links, statuses, finish } => {
                    let finish = finish.and_then(|pick| (!model.intents.is_empty()).then(|| *model.intents.keys().nth(pick % model.intents.len()).expect("pick")));
                    let batch = ResultBatch {
                        intents: finish.map(|id| FinishedIntent { id, outcome: outcome(true, None), at }).into_iter().collect(),
                        link_upserts: links.iter().map(|(src, t)| link(0, *src, *t, u64::from(*t), at)).collect(),
                        statuses: statuses.iter().map(|(src, s)| status(1, *src, *s, at)).collect(),
                        ..ResultBatch::default()
                    };
                    let result = store.record_results(&batch);
                    if finish.is_some_and(|id| !model.intents[&id].pending) {
                        prop_assert!(result.is_err(), "finishing a finished intent fails the batch");
                    } else {
                        result.expect("record batch");
                        if let Some(id) = finish { model.intents.get_mut(&id).expect("intent").pending = false; }
                        for l in batch.link_upserts { model.upsert(l); }
                        for s in &batch.statuses { model.status(s); }
                    }
                }
                Step::Reopen => {
                    drop(store);
                    store = Store::open(&path, Options::default()).expect("reopen");
                }
            }
            check(&store, &model)?;
        }
        prop_assert!(store.integrity_check().expect("check").is_empty());
    }
}
