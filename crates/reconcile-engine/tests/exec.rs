//! Executor behaviour: bounded concurrency, cancellation that lets in-flight
//! ops finish and be journaled, dependents skipped after a failure, and an
//! unknown create outcome resolved by key instead of a second create.

mod common;

use std::sync::atomic::Ordering::SeqCst;

use common::*;
use reconcile_engine::*;
use tokio_util::sync::CancellationToken;

fn users(n: usize) -> DModel {
    let objs = (0..n)
        .map(|i| DObj {
            kind: Kind::User,
            sid: format!("s{i:02}"),
            key: format!("user{i:02}"),
            attrs: vec![Some(Value::Str(format!("u{i}@x"))), None, None],
            enabled: true,
            phone: None,
        })
        .collect();
    DModel {
        objs,
        members: vec![],
        ..DModel::default()
    }
}

fn pol() -> Policy {
    Policy {
        allow_destructive: true,
        ..Policy::default()
    }
}

#[tokio::test(start_paused = true)]
async fn concurrency_is_bounded() {
    let (t, j) = (MemTarget::default(), MemJournal::default());
    t.yield_in_calls.store(true, SeqCst);
    let p = plan_now(&users(20), &t, &j, &pol(), false);
    let r = execute(
        &p,
        &t,
        &j,
        ExecOptions {
            concurrency: 3,
            ..ExecOptions::default()
        },
    )
    .await;
    assert_eq!(r.users.success, 20);
    let max = t.max_in_flight.load(SeqCst);
    assert!((2..=3).contains(&max), "max in flight {max}");
}

#[tokio::test(start_paused = true)]
async fn cancellation_starts_nothing_new_and_journals_in_flight_ops() {
    let (t, j) = (MemTarget::default(), MemJournal::default());
    t.yield_in_calls.store(true, SeqCst);
    let cancel = CancellationToken::new();
    *t.cancel_at.lock().unwrap() = Some((2, cancel.clone()));
    let p = plan_now(&users(10), &t, &j, &pol(), false);
    let r = execute(
        &p,
        &t,
        &j,
        ExecOptions {
            concurrency: 2,
            cancel,
            ..ExecOptions::default()
        },
    )
    .await;
    assert!(r.cancelled);
    let done = r
        .results
        .iter()
        .filter(|x| matches!(x.outcome, Outcome::Succeeded { .. }))
        .count();
    let not_started = r
        .results
        .iter()
        .filter(|x| x.outcome == Outcome::NotStarted)
        .count();
    // The two ops in flight when the token fired finished; nothing else started.
    assert_eq!(done, 2, "{:?}", r.results);
    assert_eq!(not_started, 8);
    assert_eq!(t.snapshot().objs.len(), 2);
    {
        let s = j.s.lock().unwrap();
        assert_eq!(s.links.len(), 2, "finished creates are linked");
        let (sent, unsent): (Vec<_>, Vec<_>) = s.intents.values().partition(|i| i.4.is_some());
        assert_eq!(sent.len(), 2, "the sent ops have their outcomes");
        // Intents journaled ahead but never sent stay pending, like a lost answer.
        assert_eq!(unsent.len(), 8);
    }
    assert_eq!(r.users.unsynced, 8);
    assert_eq!(j.pending().len(), 8);
    // The next run resolves them by key: no duplicate, nothing left pending.
    let p2 = plan_now(&users(10), &t, &j, &pol(), false);
    let lookups = p2
        .ops
        .iter()
        .filter(|o| {
            matches!(
                o.action,
                Action::Create {
                    lookup_first: true,
                    ..
                }
            )
        })
        .count();
    assert_eq!(lookups, 8, "{}", p2.render());
    let r2 = execute(&p2, &t, &j, ExecOptions::default()).await;
    assert_eq!(r2.users.success, 8);
    assert_eq!(t.snapshot().created.len(), 10, "created once each");
    assert!(j.pending().is_empty());
}

/// A target that records, for every create, whether its intent was
/// durable (journaled, no outcome yet) when the call was made.
fn checked(
    t: &MemTarget,
    j: &std::sync::Arc<MemJournal>,
) -> std::sync::Arc<std::sync::Mutex<Vec<String>>> {
    let unjournaled = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (j, out) = (j.clone(), unjournaled.clone());
    *t.on_create.lock().unwrap() = Some(Box::new(move |key: &str| {
        let s = j.s.lock().unwrap();
        if !s.intents.values().any(|i| i.2 == key && i.4.is_none()) {
            out.lock().unwrap().push(key.to_owned());
        }
    }));
    unjournaled
}

#[tokio::test(start_paused = true)]
async fn a_window_of_intents_is_one_commit_and_each_is_durable_before_its_call() {
    let t = MemTarget::default();
    let j = std::sync::Arc::new(MemJournal::default());
    t.yield_in_calls.store(true, SeqCst);
    let unjournaled = checked(&t, &j);
    let p = plan_now(&users(200), &t, &j, &pol(), false);
    let opts = ExecOptions {
        concurrency: 8,
        ..ExecOptions::default()
    };
    let r = execute(&p, &t, &*j, opts).await;
    assert_eq!(r.users.success, 200);
    assert!(
        unjournaled.lock().unwrap().is_empty(),
        "sent before its intent was durable: {:?}",
        unjournaled.lock().unwrap()
    );
    let s = j.s.lock().unwrap();
    assert_eq!(s.links.len(), 200, "every create linked");
    assert!(
        s.intents.values().all(|i| i.4.is_some()),
        "every outcome recorded"
    );
    // 200 writes, each with an intent and an outcome: a few commits, not 400.
    assert!(
        s.commits <= 200 / 16,
        "{} commits for 200 writes",
        s.commits
    );
}

#[tokio::test(start_paused = true)]
async fn known_outcomes_are_committed_within_the_time_bound_while_a_call_is_slow() {
    let (t, j) = (MemTarget::default(), MemJournal::default());
    t.yield_in_calls.store(true, SeqCst);
    // The first write hangs for a minute; the other nine answer at once.
    *t.slow_write.lock().unwrap() = Some((1, std::time::Duration::from_secs(60)));
    let p = plan_now(&users(10), &t, &j, &pol(), false);
    let opts = ExecOptions {
        concurrency: 4,
        flush_after: std::time::Duration::from_millis(25),
        ..ExecOptions::default()
    };
    let watch = async {
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        j.s.lock().unwrap().links.len()
    };
    let (r, linked_meanwhile) = tokio::join!(execute(&p, &t, &j, opts), watch);
    assert_eq!(
        linked_meanwhile, 9,
        "the nine answered creates are durable while the slow one runs"
    );
    assert_eq!(r.users.success, 10);
    assert_eq!(j.s.lock().unwrap().links.len(), 10);
}

#[test]
fn failed_create_skips_its_dependents_only() {
    let (t, j) = (MemTarget::default(), MemJournal::default());
    let mut m = users(2);
    m.objs[0].phone = Some("+15550100".into());
    m.objs[1].phone = Some("+15550101".into());
    let p = plan_now(&m, &t, &j, &pol(), false);
    // Op order: create user00, create user01, then the phones.
    *t.faults.lock().unwrap() = vec![Fault::Ok, Fault::Transient];
    let r = run(&p, &t, &j, 1).unwrap();
    let by_op: Vec<String> = r
        .results
        .iter()
        .map(|x| {
            let op = &p.ops[x.op as usize];
            let o = match &x.outcome {
                Outcome::Succeeded { .. } => "ok".to_owned(),
                Outcome::Failed { class, .. } => format!("failed {class:?}"),
                Outcome::Skipped { .. } => "skipped".to_owned(),
                Outcome::NotStarted => "not started".to_owned(),
            };
            format!("{} {}: {o}", op.action.verb(), op.name)
        })
        .collect();
    assert_eq!(
        by_op,
        [
            "create user00: ok",
            "create user01: failed Transient",
            "add_phone user00: ok",
            "add_phone user01: skipped"
        ]
    );
    assert_eq!(r.retry_later, 1);
    assert_eq!((r.users.success, r.users.failed), (1, 1));
}

#[test]
fn unknown_create_is_looked_up_not_repeated() {
    let (t, j) = (MemTarget::default(), MemJournal::default());
    let m = users(1);
    let stale = t.snapshot();
    let p = plan_now(&m, &t, &j, &pol(), false);
    *t.faults.lock().unwrap() = vec![Fault::Unknown];
    let r = run(&p, &t, &j, 1).unwrap();
    assert_eq!(r.retry_later, 1);
    assert_eq!(j.pending().len(), 1, "the create stays pending");
    // Next cycle, planned from a snapshot read before the create landed.
    let schema = schema();
    let desired = m.build();
    let observed = stale.observed(false);
    let links = j.links();
    let pending = j.pending();
    let p2 = plan(&Inputs {
        rule: "test",
        rule_deleted: false,
        schema: &schema,
        desired: &desired,
        observed: &observed,
        links: &links,
        pending: &pending,
        policy: &pol(),
    });
    assert!(
        matches!(
            p2.ops[0].action,
            Action::Create {
                lookup_first: true,
                ..
            }
        ),
        "{}",
        p2.render()
    );
    let r2 = run(&p2, &t, &j, 1).unwrap();
    assert_eq!(r2.users.success, 1);
    assert_eq!(t.snapshot().created.len(), 1, "created once");
    assert!(j.pending().is_empty());
    assert!(plan_now(&m, &t, &j, &pol(), false).is_empty());
}

/// Records what an [`ExecObserver`] is told, as the operator's metrics would.
#[derive(Debug, Default)]
struct Watch {
    events: std::sync::Mutex<Vec<String>>,
    in_flight: std::sync::atomic::AtomicI64,
    max_in_flight: std::sync::atomic::AtomicI64,
}

impl ExecObserver for Watch {
    fn started(&self, op: &Op) {
        let n = self.in_flight.fetch_add(1, SeqCst) + 1;
        self.max_in_flight.fetch_max(n, SeqCst);
        self.events
            .lock()
            .unwrap()
            .push(format!("start {} {}", op.action.verb(), op.name));
    }
    fn settled(&self, op: &Op, outcome: &Outcome) {
        if !matches!(outcome, Outcome::Skipped { .. } | Outcome::NotStarted) {
            self.in_flight.fetch_sub(1, SeqCst);
        }
        let o = match outcome {
            Outcome::Succeeded { .. } => "ok",
            Outcome::Failed { .. } => "failed",
            Outcome::Skipped { .. } => "skipped",
            Outcome::NotStarted => "not started",
        };
        self.events
            .lock()
            .unwrap()
            .push(format!("{o} {} {}", op.action.verb(), op.name));
    }
}

#[test]
fn the_observer_sees_each_op_start_and_settle_once_as_it_happens() {
    let (t, j) = (MemTarget::default(), MemJournal::default());
    let mut m = users(2);
    m.objs[0].phone = Some("+15550100".into());
    m.objs[1].phone = Some("+15550101".into());
    let p = plan_now(&m, &t, &j, &pol(), false);
    *t.faults.lock().unwrap() = vec![Fault::Ok, Fault::Transient];
    let watch = std::sync::Arc::new(Watch::default());
    let opts = ExecOptions {
        concurrency: 1,
        observer: Some(watch.clone()),
        ..ExecOptions::default()
    };
    use futures::FutureExt;
    let r = execute(&p, &t, &j, opts).now_or_never().unwrap();
    assert_eq!(r.users.failed, 1);
    // The dependent of the failed create is skipped the moment it fails,
    // not at the end of the run.
    assert_eq!(
        *watch.events.lock().unwrap(),
        [
            "start create user00",
            "ok create user00",
            "start create user01",
            "failed create user01",
            "skipped add_phone user01",
            "start add_phone user00",
            "ok add_phone user00",
        ]
    );
    assert_eq!(watch.in_flight.load(SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn the_observer_sees_ops_in_flight_and_those_a_cancel_left_unstarted() {
    let (t, j) = (MemTarget::default(), MemJournal::default());
    t.yield_in_calls.store(true, SeqCst);
    let cancel = CancellationToken::new();
    *t.cancel_at.lock().unwrap() = Some((2, cancel.clone()));
    let p = plan_now(&users(10), &t, &j, &pol(), false);
    let watch = std::sync::Arc::new(Watch::default());
    let opts = ExecOptions {
        concurrency: 2,
        cancel,
        observer: Some(watch.clone()),
        ..ExecOptions::default()
    };
    let r = execute(&p, &t, &j, opts).await;
    assert!(r.cancelled);
    let events = watch.events.lock().unwrap();
    let count = |prefix: &str| events.iter().filter(|e| e.starts_with(prefix)).count();
    assert_eq!(
        (count("start"), count("ok"), count("not started")),
        (2, 2, 8)
    );
    assert_eq!(watch.max_in_flight.load(SeqCst), 2);
    assert_eq!(watch.in_flight.load(SeqCst), 0);
}
