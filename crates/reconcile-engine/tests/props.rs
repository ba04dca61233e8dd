//! Property tests of the planner and executor against an in-memory target:
//! convergence, idempotence, ownership, minimality, determinism, safety
//! limits, and convergence without duplicates under faults and crashes.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use proptest::prelude::*;
use reconcile_engine::*;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(128)
}

const USER_KEYS: [&str; 5] = ["alice", "Alice", "bob", "carol", "dave"];
const GROUP_KEYS: [&str; 4] = ["Sales", "sales", "Ops", "Dev"];
const NUMBERS: [&str; 3] = ["+1555", "+1666", "+1777"];

fn val() -> impl Strategy<Value = Option<Value>> {
    prop::option::of(
        prop::sample::select(vec!["a", "b", "c"]).prop_map(|s| Value::Str(s.to_owned())),
    )
}

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(vec![Kind::User, Kind::User, Kind::Admin, Kind::Group])
}

fn key_for(k: Kind, i: usize) -> String {
    match k {
        Kind::Group => GROUP_KEYS[i % GROUP_KEYS.len()].to_owned(),
        _ => USER_KEYS[i % USER_KEYS.len()].to_owned(),
    }
}

fn dmodel() -> impl Strategy<Value = DModel> {
    let obj = (
        kind(),
        0usize..5,
        0usize..5,
        [val(), val(), val()],
        any::<bool>(),
        prop::option::of(0usize..3),
    );
    (
        prop::collection::vec(obj, 0..8),
        prop::collection::vec((0usize..5, 0usize..5), 0..8),
    )
        .prop_map(|(objs, mem)| {
            let mut seen = BTreeSet::new();
            let mut out = DModel::default();
            for (k, sid, key, attrs, en, ph) in objs {
                let sid = if k == Kind::Group {
                    format!("g{sid}")
                } else {
                    format!("s{sid}")
                };
                if !seen.insert((k, sid.clone())) {
                    continue;
                }
                let groups = k == Kind::Group;
                out.objs.push(DObj {
                    kind: k,
                    sid,
                    key: key_for(k, key),
                    attrs: attrs.to_vec(),
                    enabled: en || groups,
                    phone: ph.filter(|_| !groups).map(|i| NUMBERS[i].to_owned()),
                });
            }
            out.members = mem
                .into_iter()
                .map(|(g, u)| (format!("g{g}"), format!("s{u}")))
                .collect();
            out
        })
}

/// A starting target world plus the journal's links.
fn world() -> impl Strategy<Value = (World, Vec<(Kind, String, String)>)> {
    let obj = (
        kind(),
        0usize..5,
        [val(), val(), val()],
        any::<bool>(),
        prop::collection::vec(0usize..3, 0..2),
        prop::collection::vec(0usize..8, 0..3),
    );
    let phones = prop::collection::vec(any::<bool>(), 3);
    let link = (kind(), 0usize..5, 0usize..10);
    (
        prop::collection::vec(obj, 0..8),
        phones,
        prop::collection::vec(link, 0..6),
    )
        .prop_map(|(objs, phones, links)| {
            let mut w = World::default();
            for (i, act) in phones.iter().enumerate() {
                w.phones
                    .insert(format!("ph{i}"), (NUMBERS[i].to_owned(), *act));
            }
            let ids: Vec<(String, Kind)> = objs
                .iter()
                .enumerate()
                .map(|(i, o)| (format!("o{i}"), o.0))
                .collect();
            let group_ids: Vec<&String> = ids
                .iter()
                .filter(|x| x.1 == Kind::Group)
                .map(|x| &x.0)
                .collect();
            for (i, (k, key, attrs, en, ph, gs)) in objs.into_iter().enumerate() {
                let names = ["email", "title", "dept"];
                let attrs = attrs
                    .iter()
                    .zip(names)
                    .filter_map(|(v, n)| v.clone().map(|v| (n.to_owned(), v)))
                    .collect();
                let account = k.is_account();
                w.objs.insert(
                    format!("o{i}"),
                    MemObj {
                        kind: k,
                        key: key_for(k, key),
                        attrs,
                        enabled: en || !account,
                        phones: if account {
                            ph.iter().map(|p| format!("ph{p}")).collect()
                        } else {
                            BTreeSet::new()
                        },
                        groups: if account && !group_ids.is_empty() {
                            gs.iter()
                                .map(|g| group_ids[g % group_ids.len()].clone())
                                .collect()
                        } else {
                            BTreeSet::new()
                        },
                    },
                );
            }
            let mut seen = BTreeSet::new();
            let mut ls = Vec::new();
            for (k, s, t) in links {
                let sid = if k == Kind::Group {
                    format!("g{s}")
                } else {
                    format!("s{s}")
                };
                if seen.insert((k, sid.clone())) {
                    // Link to an object of the same kind when there is one, else to a missing id.
                    let tid = ids
                        .iter()
                        .filter(|x| x.1 == k)
                        .nth(t)
                        .map_or_else(|| format!("gone{t}"), |x| x.0.clone());
                    ls.push((k, sid, tid));
                }
            }
            (w, ls)
        })
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        any::<[bool; 5]>(),
        prop::sample::select(vec![RemoveAction::Delete, RemoveAction::Disable]),
        prop::sample::select(vec![
            PhoneCleanup::Keep,
            PhoneCleanup::RemoveUnused,
            PhoneCleanup::RemoveUnusedIncludingActivated,
        ]),
    )
        .prop_map(|([c, u, d, dp, g], ra, pc)| Policy {
            create: c,
            update: u,
            disable: d,
            deprovision: dp,
            remove_action: ra,
            phone_cleanup: pc,
            group_push: g,
            limits: Limits::none(),
            allow_destructive: true,
            ..Policy::default()
        })
}

fn all_on(mut p: Policy) -> Policy {
    p.create = true;
    p.update = true;
    p.disable = true;
    p.deprovision = true;
    p
}

fn setup(w: &World, links: &[(Kind, String, String)]) -> (MemTarget, MemJournal) {
    let j = MemJournal::default();
    {
        let mut s = j.s.lock().unwrap();
        for (k, sid, tid) in links {
            s.links.insert(
                (*k, sid.clone()),
                Link {
                    kind: *k,
                    source_id: sid.clone(),
                    target_id: tid.clone(),
                    fingerprint: 7,
                    adopted: None,
                },
            );
        }
    }
    (MemTarget::new(w.clone()), j)
}

/// Objects the rule may touch: validly linked or key-matched by a desired object.
fn owned(w: &World, links: &[(Kind, String, String)], m: &DModel, p: &Policy) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (k, _, t) in links {
        if w.objs.get(t).is_some_and(|o| o.kind == *k) {
            out.insert(t.clone());
        }
    }
    for (id, o) in &w.objs {
        if m.objs
            .iter()
            .any(|d| d.kind == o.kind && key_eq(&d.key, &o.key, p.key_compare))
        {
            out.insert(id.clone());
        }
    }
    out
}

fn check_converged(
    m: &DModel,
    plan1: &Plan,
    t: &MemTarget,
    j: &MemJournal,
    p: &Policy,
) -> Result<(), TestCaseError> {
    let w = t.snapshot();
    let s = j.s.lock().unwrap();
    let bad: BTreeSet<(Kind, &str)> = plan1
        .problems
        .iter()
        .map(|x| (x.kind, x.source_id.as_str()))
        .collect();
    let mut tid_of = BTreeMap::new();
    for d in &m.objs {
        if (d.kind == Kind::Group && !p.group_push) || bad.contains(&(d.kind, d.sid.as_str())) {
            continue;
        }
        let link = s.links.get(&(d.kind, d.sid.clone()));
        prop_assert!(link.is_some(), "desired {:?} {} has no link", d.kind, d.sid);
        let tid = &link.unwrap().target_id;
        let o = w.objs.get(tid);
        prop_assert!(o.is_some(), "desired {} links to missing {}", d.sid, tid);
        let o = o.unwrap();
        prop_assert!(
            key_eq(&o.key, &d.key, p.key_compare),
            "key of {}: {} vs {}",
            d.sid,
            o.key,
            d.key
        );
        for (i, (name, empty, when)) in ATTRS.iter().enumerate() {
            if *when == WritePolicy::OnCreate {
                continue;
            }
            match (&d.attrs[i], *empty) {
                (Some(v), _) => {
                    prop_assert_eq!(o.attrs.get(*name), Some(v), "{} of {}", name, d.sid);
                }
                (None, EmptyPolicy::Clear) => {
                    prop_assert_eq!(o.attrs.get(*name), None, "{} of {}", name, d.sid);
                }
                (None, EmptyPolicy::Keep) => {}
            }
        }
        if d.kind.is_account() {
            prop_assert_eq!(o.enabled, d.enabled, "enabled of {}", d.sid);
            if let Some(n) = &d.phone {
                prop_assert!(
                    o.phones
                        .iter()
                        .any(|ph| w.phones.get(ph).is_some_and(|x| &x.0 == n)),
                    "phone of {}",
                    d.sid
                );
            }
        }
        tid_of.insert((d.kind, d.sid.clone()), tid.clone());
    }
    if p.group_push {
        for (g, u) in &m.members {
            // Members are users first, then admins (as the engine resolves them).
            let user = tid_of.get(&(Kind::User, u.clone()));
            let in_scope = m.objs.iter().any(|d| d.kind == Kind::User && &d.sid == u);
            let ut = if in_scope {
                user
            } else {
                tid_of.get(&(Kind::Admin, u.clone()))
            };
            let (Some(gt), Some(ut)) = (tid_of.get(&(Kind::Group, g.clone())), ut) else {
                continue;
            };
            if !m.objs.iter().any(|d| d.kind == Kind::Group && &d.sid == g) {
                continue;
            }
            let member = w.objs.get(ut).unwrap();
            prop_assert!(member.groups.contains(gt), "{u} not in group {g}");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Execute, then: the target matches the desired state (policy all on),
    /// planning again is empty, unowned objects are untouched, updates are minimal.
    #[test]
    fn converges_idempotent_owned_minimal(m in dmodel(), (w, links) in world(), pol in policy(), all in any::<bool>(), fp in any::<bool>()) {
        let pol = if all { all_on(pol) } else { pol };
        let (t, j) = setup(&w, &links);
        let plan1 = plan_now(&m, &t, &j, &pol, fp);
        prop_assert!(plan1.blocked.is_empty());
        for op in &plan1.ops {
            if let Action::Update { changes } = &op.action {
                prop_assert!(!changes.is_empty());
                for c in changes {
                    prop_assert_ne!(&c.before, &c.after, "op {} writes an unchanged attribute", op.id);
                    prop_assert_ne!(c.attr.as_str(), "dept", "on_create attribute updated");
                }
            }
        }
        let report = run(&plan1, &t, &j, 3).expect("no crash injected");
        prop_assert_eq!(report.retry_later, 0);
        let failed: Vec<_> = report.results.iter().filter(|r| !matches!(r.outcome, Outcome::Succeeded { .. })).collect();
        prop_assert!(failed.is_empty(), "{:?}\n{}", failed, plan1.render());

        // Ownership: objects neither linked nor matched keep everything but
        // memberships of groups the rule deleted.
        let mine = owned(&w, &links, &m, &pol);
        let after = t.snapshot();
        for (id, before) in &w.objs {
            if mine.contains(id) { continue; }
            let now = after.objs.get(id);
            prop_assert!(now.is_some(), "unowned {id} was deleted");
            let now = now.unwrap();
            prop_assert_eq!((&now.key, &now.attrs, now.enabled, &now.phones), (&before.key, &before.attrs, before.enabled, &before.phones), "unowned {} changed", id);
            for g in &before.groups {
                prop_assert!(now.groups.contains(g) || !after.objs.contains_key(g), "unowned {id} left group {g}");
            }
        }

        // A target linked to a source that left is deprovisioned first and
        // never handed over in the same plan: a new source with its key is a
        // problem in the first plan, and may be created by the second.
        let mut plan2 = plan_now(&m, &t, &j, &pol, fp);
        if plan1.problems.iter().any(|p| p.code == ProblemCode::AdoptRefused) && !plan2.is_empty() {
            for op in &plan2.ops {
                prop_assert!(!matches!(op.action, Action::Adopt { .. }), "handover in a later plan:\n{}", plan2.render());
            }
            run(&plan2, &t, &j, 3).expect("no crash injected");
            plan2 = plan_now(&m, &t, &j, &pol, fp);
        }
        prop_assert!(plan2.is_empty(), "not idempotent:\nfirst:\n{}\nsecond:\n{}", plan1.render(), plan2.render());
        if all {
            check_converged(&m, &plan1, &t, &j, &pol)?;
        }
    }

    /// Same inputs give the same plan, byte for byte, whatever the input order.
    #[test]
    fn deterministic(m in dmodel(), (w, links) in world(), pol in policy()) {
        let (t, j) = setup(&w, &links);
        let a = plan_now(&m, &t, &j, &pol, false);
        let b = plan_now(&m, &t, &j, &pol, false);
        prop_assert_eq!(a.to_json(), b.to_json());
        prop_assert_eq!(&a.hash, &a.compute_hash());
        let mut rev = m.clone();
        rev.objs.reverse();
        rev.members.reverse();
        let c = plan_now(&rev, &t, &j, &pol, false);
        prop_assert_eq!(a.render(), c.render());
    }

    /// A plan over a safety limit executes nothing.
    #[test]
    fn blocked_plan_runs_nothing(m in dmodel(), (w, links) in world(), pol in policy()) {
        let mut pol = all_on(pol);
        pol.allow_destructive = false;
        pol.limits = Limits { user_delete: Limit { max_count: Some(0), max_percent: None, floor: 0 }, ..Limits::none() };
        let (t, j) = setup(&w, &links);
        let plan1 = plan_now(&m, &t, &j, &pol, false);
        let deletes = plan1.ops.iter().filter(|o| o.kind == Kind::User && matches!(o.action, Action::Delete)).count();
        prop_assert_eq!(deletes > 0, !plan1.blocked.is_empty());
        let links_before = j.links().len();
        let report = run(&plan1, &t, &j, 2).unwrap();
        if deletes > 0 {
            prop_assert!(report.blocked);
            prop_assert_eq!(t.snapshot(), w);
            prop_assert_eq!(j.links().len(), links_before);
            prop_assert!(j.s.lock().unwrap().intents.is_empty());
        }
    }

    /// Transient failures, lost answers and crashes between intent and
    /// outcome: repeated runs converge and never create a duplicate.
    #[test]
    fn faults_converge_without_duplicates(
        m in dmodel(), (w, links) in world(), pol in policy(),
        faults in prop::collection::vec(prop::sample::select(vec![Fault::Ok, Fault::Ok, Fault::Transient, Fault::Unknown, Fault::Crash]), 0..12),
    ) {
        let mut pol = all_on(pol);
        pol.key_compare = KeyCompare::CaseInsensitive;
        let (t, j) = setup(&w, &links);
        *t.faults.lock().unwrap() = faults;
        let mut converged = false;
        let mut last = None;
        for round in 0..8 {
            if round == 4 {
                t.faults.lock().unwrap().clear();
            }
            let p = plan_now(&m, &t, &j, &pol, false);
            if p.is_empty() {
                converged = true;
                last = Some(p);
                break;
            }
            let _ = run(&p, &t, &j, 3);
        }
        prop_assert!(converged, "no convergence after 8 rounds");
        let after = t.snapshot();
        let mut keys = BTreeSet::new();
        for (k, id) in &after.created {
            if let Some(o) = after.objs.get(id) {
                prop_assert!(keys.insert((*k, o.key.to_lowercase())), "duplicate {:?} {} created", k, o.key);
            }
        }
        let mut nums = BTreeSet::new();
        for id in &after.created_phones {
            if let Some((n, _)) = after.phones.get(id) {
                prop_assert!(nums.insert(n.clone()), "duplicate phone {n} created");
            }
        }
        // Objects with a problem in the final plan are excused (e.g. a key
        // taken by a rename that only succeeded on a later round).
        check_converged(&m, &last.unwrap(), &t, &j, &pol)?;
    }
}

/// Arbitrary (even inconsistent) inputs: duplicate ids and links, links of the
/// wrong kind, odd Unicode keys, memberships naming nothing. Planning never
/// panics, stays deterministic, and a tampered plan never panics the executor.
#[test]
fn never_panics_on_odd_data() {
    let s = prop::sample::select(vec!["a", "A", "\u{212A}", "k", "ß", "SS", "", "x y"]);
    let k = prop::sample::select(vec![Kind::User, Kind::Admin, Kind::Group]);
    let dobj = (
        k.clone(),
        s.clone(),
        s.clone(),
        prop::option::of(s.clone()),
        any::<u64>(),
        any::<bool>(),
    );
    let oobj = (
        k.clone(),
        s.clone(),
        s.clone(),
        prop::collection::vec(s.clone(), 0..3),
        prop::option::of(any::<u64>()),
    );
    let link = (k, s.clone(), s.clone(), any::<u64>());
    let strat = (
        prop::collection::vec(dobj, 0..10),
        prop::collection::vec(oobj, 0..10),
        prop::collection::vec(link, 0..10),
        prop::collection::vec((s.clone(), s), 0..6),
        any::<[bool; 6]>(),
        prop::collection::vec(0u32..20, 0..6),
    );
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: cases(),
        ..ProptestConfig::default()
    });
    runner
        .run(&strat, |(ds, os, ls, ms, flags, bad_ids)| {
            let schema = schema();
            let mut d = DesiredSet::new();
            for (kind, sid, key, v, fp, en) in &ds {
                let attrs = [
                    (AttrId(0), v.map(ValueRef::Str)),
                    (AttrId(9), Some(ValueRef::Bool(true))),
                ];
                d.push(NewDesired {
                    kind: *kind,
                    source_id: sid,
                    key,
                    attrs: &attrs,
                    enabled: *en,
                    phone: v.as_deref(),
                    fingerprint: *fp,
                })
                .unwrap();
            }
            for (g, m) in &ms {
                d.push_membership(g, m).unwrap();
            }
            let mut o = ObservedSet::new();
            for (kind, id, key, groups, fp) in &os {
                let phones = [PhoneRef {
                    id,
                    number: key,
                    activated: flags[0],
                }];
                let attrs = [(AttrId(0), Some(ValueRef::Str(key)))];
                o.push(NewObserved {
                    kind: *kind,
                    target_id: id,
                    key,
                    attrs: &attrs,
                    enabled: flags[1],
                    phones: &phones,
                    groups,
                    fingerprint: *fp,
                })
                .unwrap();
            }
            let mut l = LinkSet::new();
            for (kind, sid, tid, fp) in &ls {
                l.push(*kind, sid, tid, *fp).unwrap();
            }
            let policy = Policy {
                key_compare: if flags[2] {
                    KeyCompare::Exact
                } else {
                    KeyCompare::CaseInsensitive
                },
                phone_cleanup: if flags[3] {
                    PhoneCleanup::RemoveUnusedIncludingActivated
                } else {
                    PhoneCleanup::RemoveUnused
                },
                remove_action: if flags[4] {
                    RemoveAction::Disable
                } else {
                    RemoveAction::Delete
                },
                allow_destructive: flags[5],
                ..Policy::default()
            };
            let pending = [PendingIntent {
                kind: Kind::User,
                source_id: "a".into(),
                key: "a".into(),
            }];
            let inputs = Inputs {
                rule: "odd",
                rule_deleted: flags[0] && flags[1],
                schema: &schema,
                desired: &d,
                observed: &o,
                links: &l,
                pending: &pending,
                policy: &policy,
            };
            let p = plan(&inputs);
            prop_assert_eq!(&p, &plan(&inputs));
            for op in &p.ops {
                prop_assert!(op.deps.iter().all(|&x| x < op.id), "deps point backwards");
            }
            // Tamper with ids and deps, as a hand-edited plan file might.
            let mut bad = p.clone();
            bad.blocked.clear();
            for (op, id) in bad.ops.iter_mut().zip(bad_ids.iter().cycle()) {
                op.id = *id;
                op.deps.push(*id);
            }
            let t = MemTarget::default();
            let j = MemJournal::default();
            let _ = run(&bad, &t, &j, 2);
            Ok(())
        })
        .unwrap();
}
