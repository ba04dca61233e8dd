//! Property tests of the safety invariants: a failed source is held, a target
//! is never handed to another source, guarded objects are never written,
//! adoption is exact and confirmed, adopted groups are never deleted, accounts
//! deprovisioned by disabling leave the pushed groups, and a shrinking source
//! is blocked while a handful of changes in a small rule is not.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use proptest::prelude::*;
use reconcile_engine::*;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256)
}

const KEYS: [&str; 6] = ["alice", "bob", "carol", "dave", "erin", "frank"];
const GROUPS: [(&str, &str); 2] = [("g0", "Sales"), ("g1", "Ops")];

/// What becomes of a source user in this cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Present,
    Failed,
    Gone,
}

/// One source user and the target account that may exist for it.
#[derive(Clone, Debug)]
struct Person {
    fate: Fate,
    /// The target account: key in other case, email differs, member of groups.
    account: Option<(bool, bool, [bool; 2])>,
    /// Linked to its own account, to another one, or not at all.
    link: Option<usize>,
    guard: Option<Guard>,
    groups: [bool; 2],
}

#[derive(Clone, Debug)]
struct Case {
    people: Vec<Person>,
    /// Group links: (linked, adopted), and whether the group stays pushed.
    group_links: [(bool, bool); 2],
    pushed: [bool; 2],
    group_case: bool,
    policy: Policy,
}

fn person() -> impl Strategy<Value = Person> {
    (
        prop::sample::select(vec![Fate::Present, Fate::Present, Fate::Failed, Fate::Gone]),
        prop::option::of((any::<bool>(), any::<bool>(), any::<[bool; 2]>())),
        prop::option::of(0usize..8),
        prop::option::of(prop::sample::select(vec![
            Guard::Protected,
            Guard::OwnedElsewhere,
        ])),
        any::<[bool; 2]>(),
    )
        .prop_map(|(fate, account, link, guard, groups)| Person {
            fate,
            account,
            link,
            guard: guard.filter(|_| link.is_some_and(|l| l % 3 == 0)),
            groups,
        })
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(person(), 1..7),
        any::<[(bool, bool); 2]>(),
        any::<[bool; 2]>(),
        any::<[bool; 4]>(),
        prop::sample::select(vec![RemoveAction::Delete, RemoveAction::Disable]),
    )
        .prop_map(|(people, group_links, pushed, flags, ra)| Case {
            people,
            group_links,
            pushed,
            group_case: flags[0],
            policy: Policy {
                remove_action: ra,
                phone_cleanup: PhoneCleanup::RemoveUnused,
                limits: Limits::none(),
                allow_destructive: true,
                adoption: if flags[1] {
                    Adoption::default()
                } else {
                    Adoption {
                        groups: flags[2],
                        ..Adoption::default()
                    }
                },
                deprovision_on_rule_deletion: flags[3],
                ..Policy::default()
            },
        })
}

/// The inputs of a case: desired model, target world, journal links.
fn build(c: &Case) -> (DModel, MemTarget, MemJournal) {
    let mut m = DModel::default();
    let mut w = World::default();
    for (i, p) in c.people.iter().enumerate() {
        let (sid, key) = (format!("s{i}"), KEYS[i % KEYS.len()].to_owned());
        let email = format!("{key}@x");
        match p.fate {
            Fate::Present => {
                m.objs.push(DObj {
                    kind: Kind::User,
                    sid: sid.clone(),
                    key: key.clone(),
                    attrs: vec![Some(Value::Str(email.clone())), None, None],
                    enabled: true,
                    phone: None,
                });
                for (g, on) in p.groups.iter().enumerate() {
                    if *on {
                        m.members.push((GROUPS[g].0.into(), sid.clone()));
                    }
                }
            }
            Fate::Failed => m.failures.push(Failure {
                kind: Kind::User,
                source_id: sid.clone(),
                name: key.clone(),
                message: "bad".into(),
                cause: "attribute \"x\": bad".into(),
                attribute: None,
            }),
            Fate::Gone => {}
        }
        if let Some((upper, other_email, groups)) = p.account {
            let okey = if upper {
                key.to_uppercase()
            } else {
                key.clone()
            };
            let mut attrs = BTreeMap::new();
            let e = if other_email {
                "someone@else".into()
            } else {
                email
            };
            attrs.insert("email".to_owned(), Value::Str(e));
            let groups = GROUPS
                .iter()
                .enumerate()
                .filter(|(g, _)| groups[*g])
                .map(|(g, _)| format!("og{g}"))
                .collect();
            w.objs.insert(
                format!("o{i}"),
                MemObj {
                    kind: Kind::User,
                    key: okey,
                    attrs,
                    enabled: true,
                    phones: BTreeSet::new(),
                    groups,
                },
            );
            if let Some(g) = p.guard {
                w.guards.insert(format!("o{i}"), (g, "is guarded".into()));
            }
        }
    }
    for (g, (sid, name)) in GROUPS.iter().enumerate() {
        let oname = if c.group_case {
            name.to_lowercase()
        } else {
            (*name).to_owned()
        };
        w.objs.insert(
            format!("og{g}"),
            MemObj {
                kind: Kind::Group,
                key: oname,
                attrs: BTreeMap::new(),
                enabled: true,
                phones: BTreeSet::new(),
                groups: BTreeSet::new(),
            },
        );
        if c.pushed[g] {
            m.objs.push(DObj {
                kind: Kind::Group,
                sid: (*sid).into(),
                key: (*name).into(),
                attrs: vec![None, None, None],
                enabled: true,
                phone: None,
            });
        }
    }
    let j = MemJournal::default();
    {
        let mut s = j.s.lock().unwrap();
        for (i, p) in c.people.iter().enumerate() {
            if let Some(t) = p.link {
                let t = if t < 4 { i } else { t % c.people.len() };
                let sid = format!("s{i}");
                let taken = s.links.values().any(|l| l.target_id == format!("o{t}"));
                if !taken {
                    s.links.insert(
                        (Kind::User, sid.clone()),
                        Link {
                            kind: Kind::User,
                            source_id: sid,
                            target_id: format!("o{t}"),
                            fingerprint: 1,
                            adopted: None,
                        },
                    );
                }
            }
        }
        for (g, (linked, adopted)) in c.group_links.iter().enumerate() {
            if *linked {
                let sid = GROUPS[g].0.to_owned();
                s.links.insert(
                    (Kind::Group, sid.clone()),
                    Link {
                        kind: Kind::Group,
                        source_id: sid,
                        target_id: format!("og{g}"),
                        fingerprint: 1,
                        adopted: Some(*adopted),
                    },
                );
            }
        }
    }
    (m, MemTarget::new(w), j)
}

/// The target ids an op writes to: its object, and the member it moves.
fn touched(op: &Op) -> Vec<&str> {
    let mut out = Vec::new();
    if let Some(TargetRef::Existing(t)) = &op.target {
        out.push(t.as_str());
    }
    if let Action::AddMember { member, .. } | Action::RemoveMember { member, .. } = &op.action
        && let TargetRef::Existing(t) = member
    {
        out.push(t.as_str());
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Every invariant of one plan over arbitrary mixes of failures, case
    /// variants, stale and crossed links, guards and pre-existing groups.
    #[test]
    fn plans_never_harm_held_guarded_or_foreign_objects(c in case()) {
        let (m, t, j) = build(&c);
        let before = t.snapshot();
        let links: BTreeMap<(Kind, String), Link> = j.s.lock().unwrap().links.clone();
        let p = plan_now(&m, &t, &j, &c.policy, false);
        let failed: BTreeSet<&str> = m.failures.iter().map(|f| f.source_id.as_str()).collect();
        let held: BTreeSet<&str> = links.values()
            .filter(|l| failed.contains(l.source_id.as_str()))
            .map(|l| l.target_id.as_str())
            .collect();
        let deleted_groups: BTreeSet<&str> = p.ops.iter()
            .filter(|o| o.kind == Kind::Group && matches!(o.action, Action::Delete))
            .filter_map(|o| match &o.target { Some(TargetRef::Existing(t)) => Some(t.as_str()), _ => None })
            .collect();
        let render = p.render();
        for op in &p.ops {
            let ts = touched(op);
            // Held: no destructive op on the linked target of a failed source
            // (leaving a group that is itself deleted is part of the delete).
            for t in &ts {
                if !held.contains(t) { continue; }
                let destructive = match &op.action {
                    Action::Disable | Action::Delete | Action::RemovePhone { .. } => true,
                    Action::RemoveMember { .. } => op.target.as_ref().is_some_and(|g| !matches!(g, TargetRef::Existing(g) if deleted_groups.contains(g.as_str()))),
                    _ => false,
                };
                prop_assert!(!destructive, "held {t} harmed by op {}:\n{render}", op.id);
            }
            // Guarded: never written, never adopted; only the journal may forget it.
            for t in &ts {
                if before.guards.contains_key(*t) {
                    prop_assert!(matches!(op.action, Action::Unlink), "guarded {t} touched by op {}:\n{render}", op.id);
                }
            }
            if let Action::Adopt { .. } = op.action {
                let Some(TargetRef::Existing(tid)) = &op.target else { panic!("adopt without target") };
                let src = op.source_id.as_deref().unwrap_or("");
                // No handover: a target linked to any source is never adopted by another.
                prop_assert!(!links.values().any(|l| &l.target_id == tid && l.source_id != src), "handover of {tid}:\n{render}");
                // Exact key, confirming email.
                let o = &before.objs[tid];
                prop_assert_eq!(&o.key, &op.name, "adopted on a case-folded key:\n{}", render);
                if op.kind == Kind::User {
                    let want = m.objs.iter().find(|d| d.sid == src).and_then(|d| d.attrs[0].clone());
                    prop_assert!(want.is_some() && o.attrs.get("email") == want.as_ref(), "adopted without a confirming email:\n{}", render);
                } else {
                    prop_assert!(c.policy.adoption.groups, "group adopted with group adoption off:\n{}", render);
                }
            }
            // Only groups the rule created are deleted.
            if op.kind == Kind::Group && matches!(op.action, Action::Delete) {
                let sid = op.source_id.clone().unwrap_or_default();
                let adopted = links.get(&(Kind::Group, sid)).and_then(|l| l.adopted);
                prop_assert_ne!(adopted, Some(true), "adopted group deleted:\n{}", render);
            }
        }
        // One target, one source: no two ops adopt or create into one object.
        let adopted: Vec<&str> = p.ops.iter().filter(|o| matches!(o.action, Action::Adopt { .. }))
            .filter_map(|o| match &o.target { Some(TargetRef::Existing(t)) => Some(t.as_str()), _ => None }).collect();
        let distinct: BTreeSet<&str> = adopted.iter().copied().collect();
        prop_assert_eq!(adopted.len(), distinct.len());

        // Execute: accounts deprovisioned by disabling are in no kept pushed group.
        run(&p, &t, &j, 3).expect("no crash injected");
        if c.policy.remove_action == RemoveAction::Disable {
            let after = t.snapshot();
            let kept_groups: BTreeSet<String> = j.s.lock().unwrap().links.values()
                .filter(|l| l.kind == Kind::Group && m.objs.iter().any(|d| d.sid == l.source_id))
                .map(|l| l.target_id.clone())
                .collect();
            for l in links.values().filter(|l| l.kind == Kind::User) {
                let gone = !m.objs.iter().any(|d| d.sid == l.source_id) && !failed.contains(l.source_id.as_str());
                let Some(o) = after.objs.get(&l.target_id) else { continue };
                if !gone || before.guards.contains_key(&l.target_id) { continue; }
                // Only its own link counts: a target it shares with another live link stays.
                if links.values().any(|x| x.target_id == l.target_id && x.source_id != l.source_id) { continue; }
                prop_assert!(!o.enabled, "deprovisioned {} still enabled:\n{render}", l.target_id);
                for g in &o.groups {
                    prop_assert!(!kept_groups.contains(g), "deprovisioned {} still in pushed group {g}:\n{render}", l.target_id);
                }
            }
        }
    }

    /// Default limits: a source that shrinks under half of what the rule links
    /// never disables or deletes without consent; a handful of removals in a
    /// rule that keeps most of its users goes through.
    #[test]
    fn default_limits_are_proportional(linked in 10usize..60, removed_frac in 0.0f64..1.0, disable in any::<bool>()) {
        let removed = ((linked as f64) * removed_frac) as usize;
        let remain = linked - removed;
        let mut m = DModel::default();
        let mut w = World::default();
        let j = MemJournal::default();
        for i in 0..linked {
            let (sid, key) = (format!("s{i}"), format!("user{i}"));
            w.objs.insert(format!("o{i}"), MemObj {
                kind: Kind::User, key: key.clone(), attrs: BTreeMap::new(), enabled: true,
                phones: BTreeSet::new(), groups: BTreeSet::new(),
            });
            j.s.lock().unwrap().links.insert((Kind::User, sid.clone()), Link {
                kind: Kind::User, source_id: sid.clone(), target_id: format!("o{i}"), fingerprint: fingerprint(&[None, None, None]), adopted: None,
            });
            if i < remain {
                m.objs.push(DObj { kind: Kind::User, sid, key, attrs: vec![None, None, None], enabled: true, phone: None });
            }
        }
        let pol = Policy {
            remove_action: if disable { RemoveAction::Disable } else { RemoveAction::Delete },
            ..Policy::default()
        };
        let t = MemTarget::new(w);
        let p = plan_now(&m, &t, &j, &pol, false);
        if removed > 0 && remain * 2 < linked {
            prop_assert!(!p.blocked.is_empty(), "{removed} of {linked} removed, not blocked:\n{}", p.render());
        }
        if removed <= 5 && remain * 2 >= linked {
            prop_assert!(p.blocked.is_empty(), "{removed} of {linked} removed, blocked:\n{}", p.render());
        }
        if !p.blocked.is_empty() {
            let r = run(&p, &t, &j, 2).unwrap();
            prop_assert!(r.blocked);
            prop_assert_eq!(t.snapshot().writes, 0);
        }
    }
}

/// All of a rule's sources failing the same way (a mapping over a missing
/// attribute): nothing is disabled, and the plan names the one cause.
#[test]
fn one_cause_failing_everyone_disables_no_one_and_is_named_once() {
    let mut m = DModel::default();
    let mut w = World::default();
    let j = MemJournal::default();
    for i in 0..60 {
        let sid = format!("s{i}");
        w.objs.insert(
            format!("o{i}"),
            MemObj {
                kind: Kind::User,
                key: format!("user{i}"),
                attrs: BTreeMap::new(),
                enabled: true,
                phones: BTreeSet::new(),
                groups: BTreeSet::new(),
            },
        );
        j.s.lock().unwrap().links.insert(
            (Kind::User, sid.clone()),
            Link {
                kind: Kind::User,
                source_id: sid.clone(),
                target_id: format!("o{i}"),
                fingerprint: 1,
                adopted: None,
            },
        );
        m.failures.push(Failure {
            kind: Kind::User,
            source_id: sid,
            name: format!("user{i}"),
            message: format!(
                "user \"user{i}\": attribute \"userType\": source attribute \"type\" is missing"
            ),
            cause: "attribute \"userType\": source attribute \"type\" is missing".into(),
            attribute: None,
        });
    }
    let pol = Policy {
        remove_action: RemoveAction::Disable,
        allow_destructive: true,
        ..Policy::default()
    };
    let t = MemTarget::new(w);
    let p = plan_now(&m, &t, &j, &pol, false);
    assert!(p.ops.is_empty(), "{}", p.render());
    assert_eq!(p.summary.held, 60);
    assert_eq!(p.common_failures.len(), 1);
    assert_eq!(p.common_failures[0].count, 60);
    let text = p.render();
    assert!(
        text.contains("! same cause for 60 users: attribute \"userType\""),
        "{text}"
    );
}
