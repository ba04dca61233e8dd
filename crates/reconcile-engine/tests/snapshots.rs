//! Snapshot tests: a plan with every kind of op rendered for people and as
//! JSON, a blocked plan, and a small executor run's report.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use expect_test::expect;
use reconcile_engine::*;

fn s(v: &str) -> Option<Value> {
    Some(Value::Str(v.to_owned()))
}

fn user(
    sid: &str,
    key: &str,
    email: Option<Value>,
    title: Option<Value>,
    enabled: bool,
    phone: Option<&str>,
) -> DObj {
    DObj {
        kind: Kind::User,
        sid: sid.into(),
        key: key.into(),
        attrs: vec![email, title, s("Eng")],
        enabled,
        phone: phone.map(Into::into),
    }
}

fn group(sid: &str, key: &str) -> DObj {
    DObj {
        kind: Kind::Group,
        sid: sid.into(),
        key: key.into(),
        attrs: vec![None, None, None],
        enabled: true,
        phone: None,
    }
}

fn obj(
    kind: Kind,
    key: &str,
    attrs: &[(&str, &str)],
    enabled: bool,
    phones: &[&str],
    groups: &[&str],
) -> MemObj {
    MemObj {
        kind,
        key: key.into(),
        attrs: attrs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::Str((*v).to_owned())))
            .collect(),
        enabled,
        phones: phones.iter().map(|p| (*p).to_owned()).collect(),
        groups: groups
            .iter()
            .map(|g| (*g).to_owned())
            .collect::<BTreeSet<_>>(),
    }
}

/// A directory with one of everything.
fn scenario() -> (DModel, MemTarget, MemJournal) {
    let model = DModel {
        objs: vec![
            user(
                "s-alice",
                "alice",
                s("alice@x"),
                s("Dev"),
                true,
                Some("+15550001"),
            ),
            user("s-bob", "bob", s("bob@new"), None, true, None),
            user("s-carol", "carol", s("carol@x"), None, true, None),
            user("s-erin", "erin", s("erin@x"), None, false, None),
            user("s-frank", "frank", s("frank@x"), None, true, None),
            user("s-gina", "gina", s("gina@new"), None, true, None),
            user("s-ivan", "ivan", s("ivan@x"), None, true, None),
            group("g-sales", "Sales"),
            group("g-ops", "Operations"),
        ],
        members: vec![
            ("g-sales".into(), "s-alice".into()),
            ("g-ops".into(), "s-bob".into()),
            ("g-ops".into(), "s-hank".into()),
        ],
        failures: vec![Failure {
            kind: Kind::User,
            source_id: "s-hank".into(),
            name: "hank".into(),
            message: "attribute \"phones\" = \"call 12\": not a phone number".into(),
            cause: "attribute \"phones\": not a phone number".into(),
            attribute: Some("phones".into()),
        }],
    };
    let mut w = World::default();
    w.phones.insert("DP1".into(), ("+15559999".into(), false));
    w.objs.insert(
        "DU1".into(),
        obj(
            Kind::User,
            "bob",
            &[("email", "bob@old"), ("title", "Boss")],
            true,
            &["DP1"],
            &["DG2"],
        ),
    );
    w.objs.insert(
        "DU2".into(),
        obj(Kind::User, "carol", &[("email", "carol@x")], true, &[], &[]),
    );
    w.objs.insert(
        "DU3".into(),
        obj(
            Kind::User,
            "dave",
            &[("email", "dave@x")],
            true,
            &[],
            &["DG2"],
        ),
    );
    w.objs.insert(
        "DU4".into(),
        obj(Kind::User, "erin", &[("email", "erin@x")], true, &[], &[]),
    );
    w.objs
        .insert("DU5".into(), obj(Kind::User, "frank", &[], true, &[], &[]));
    w.objs
        .insert("DU6".into(), obj(Kind::User, "FRANK", &[], true, &[], &[]));
    w.objs.insert(
        "DU7".into(),
        obj(
            Kind::User,
            "zoe",
            &[("email", "zoe@unmanaged")],
            true,
            &[],
            &["DG2"],
        ),
    );
    w.objs.insert(
        "DU8".into(),
        obj(Kind::User, "gina", &[("email", "gina@old")], true, &[], &[]),
    );
    w.objs.insert(
        "DU9".into(),
        obj(Kind::User, "hank", &[], true, &[], &["DG1"]),
    );
    w.objs.insert(
        "DU10".into(),
        obj(Kind::User, "ivan", &[("email", "ivan@x")], true, &[], &[]),
    );
    w.guards.insert(
        "DU10".into(),
        (Guard::Protected, "is a Duo Owner administrator".into()),
    );
    w.objs
        .insert("DG1".into(), obj(Kind::Group, "Ops", &[], true, &[], &[]));
    w.objs
        .insert("DG2".into(), obj(Kind::Group, "Old", &[], true, &[], &[]));
    let j = MemJournal::default();
    {
        let mut st = j.s.lock().unwrap();
        let links = [
            (Kind::User, "s-bob", "DU1"),
            (Kind::User, "s-dave", "DU3"),
            (Kind::User, "s-erin", "DU4"),
            (Kind::User, "s-hank", "DU9"),
            (Kind::Group, "g-ops", "DG1"),
            (Kind::Group, "g-old", "DG2"),
        ];
        for (k, sid, tid) in links {
            st.links.insert(
                (k, sid.into()),
                Link {
                    kind: k,
                    source_id: sid.into(),
                    target_id: tid.into(),
                    fingerprint: 1,
                    adopted: None,
                },
            );
        }
    }
    (model, MemTarget::new(w), j)
}

fn policy() -> Policy {
    Policy {
        phone_cleanup: PhoneCleanup::RemoveUnused,
        allow_destructive: true,
        ..Policy::default()
    }
}

#[test]
fn renders_every_kind_of_op() {
    let (m, t, j) = scenario();
    let mut model = m;
    let p = plan_now(&model, &t, &j, &policy(), false);
    let mut text = p.render();
    // Strip the hash line: it is checked by the JSON snapshot and determinism tests.
    text.truncate(text.rfind("hash ").unwrap_or(text.len()));
    expect![[r#"
        Plan for rule "test": 2 to create, 1 to adopt, 1 to update, 1 to rename, 0 to enable, 1 to disable, 2 to delete, 2 memberships to add, 1 to remove, 1 phones to add, 1 to remove, 0 link changes, 5 problems.
        1 linked objects held (their source failed; nothing destructive is done to them).
        = adopt user carol → DU2 (existing object; matched key "carol", email "carol@x")
        ~ rename group "Ops" → "Operations"
        + create group Sales
        + create user alice (email="alice@x", title="Dev", dept="Eng")
        ~ update user bob: email "bob@old" → "bob@new", title "Boss" → (empty)
        + add phone +15550001 to user alice
        + add user bob to group Operations
        + add user alice to group Sales
        - remove user bob from group Old
        - remove phone +15559999 (DP1) from user bob, delete phone
        - disable user erin
        - delete user dave
        - delete group Old
        ! failed user frank: 2 target users match key "frank" (DU5, DU6); link one explicitly or remove the duplicates
        ! failed user gina: not adopted: target user DU8 has key "gina" but attribute "email" differs ("gina@new" on the source, "gina@old" on the target); nothing is written to it or created beside it: link it explicitly if it is the same user, or give one of them another key
        ! failed user hank: attribute "phones" = "call 12": not a phone number
        ! held user hank: its source failed, so its linked target user DU9 ("hank") is left as it is (no disable, delete, membership or phone removal) until the source maps again
        ! failed user ivan: not adopted or written: target user DU10 ("ivan") has this key but is a Duo Owner administrator
    "#]]
    .assert_eq(&text);
    model
        .objs
        .push(user("s-zed", "zed", None, None, true, None));
    let p2 = plan_now(
        &model,
        &t,
        &j,
        &Policy {
            create: false,
            update: false,
            ..policy()
        },
        false,
    );
    let problems: Vec<String> = p2
        .problems
        .iter()
        .map(|p| format!("{:?} {}: {}", p.code, p.name, p.message))
        .collect();
    expect![[r#"
        UpdateNotAllowed Operations: target differs (key "Ops" → "Operations") and the rule does not allow updates; enable updates to converge
        CreateNotAllowed Sales: no target group has key "Sales" and the rule does not allow creating it; enable creation or create it by hand
        CreateNotAllowed alice: no target user has key "alice" and the rule does not allow creating it; enable creation or create it by hand
        UpdateNotAllowed bob: target differs (email, title) and the rule does not allow updates; enable updates to converge
        UpdateNotAllowed erin: target differs (disable) and the rule does not allow updates; enable updates to converge
        Ambiguous frank: 2 target users match key "frank" (DU5, DU6); link one explicitly or remove the duplicates
        AdoptRefused gina: not adopted: target user DU8 has key "gina" but attribute "email" differs ("gina@new" on the source, "gina@old" on the target); nothing is written to it or created beside it: link it explicitly if it is the same user, or give one of them another key
        MappingFailed hank: attribute "phones" = "call 12": not a phone number
        Held hank: its source failed, so its linked target user DU9 ("hank") is left as it is (no disable, delete, membership or phone removal) until the source maps again
        Protected ivan: not adopted or written: target user DU10 ("ivan") has this key but is a Duo Owner administrator
        CreateNotAllowed zed: no target user has key "zed" and the rule does not allow creating it; enable creation or create it by hand"#]]
    .assert_eq(&problems.join("\n"));
}

#[test]
fn json_schema_of_a_plan() {
    let (m, t, j) = scenario();
    let model = DModel {
        objs: m.objs[..2].to_vec(),
        members: vec![],
        ..DModel::default()
    };
    let p = plan_now(&model, &t, &j, &policy(), false);
    let v: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
    // Keep the snapshot short: the envelope, the summary and two ops.
    let ops = v["ops"].as_array().unwrap();
    let short = serde_json::json!({
        "keys": v.as_object().unwrap().keys().collect::<Vec<_>>(),
        "summary": v["summary"],
        "blocked": v["blocked"],
        "first_ops": [ops[0], ops[ops.len() - 1]],
    });
    expect![[r#"
        {
          "keys": [
            "version",
            "rule",
            "hash",
            "blocked",
            "summary",
            "ops",
            "problems"
          ],
          "summary": {
            "create": 1,
            "adopt": 0,
            "rename": 0,
            "update": 1,
            "enable": 0,
            "disable": 0,
            "delete": 5,
            "add_phone": 1,
            "remove_phone": 1,
            "add_member": 0,
            "remove_member": 1,
            "link": 0,
            "held": 0,
            "enroll": 0,
            "problems": 0
          },
          "blocked": [],
          "first_ops": [
            {
              "id": 0,
              "kind": "user",
              "name": "alice",
              "source_id": "s-alice",
              "target": null,
              "fingerprint": "284b223268a478c8",
              "action": "create",
              "attrs": [
                {
                  "attr": "email",
                  "before": null,
                  "after": "alice@x"
                },
                {
                  "attr": "title",
                  "before": null,
                  "after": "Dev"
                },
                {
                  "attr": "dept",
                  "before": null,
                  "after": "Eng"
                }
              ],
              "enabled": true,
              "lookup_first": false,
              "deps": []
            },
            {
              "id": 9,
              "kind": "group",
              "name": "Ops",
              "source_id": "g-ops",
              "target": {
                "existing": "DG1"
              },
              "fingerprint": null,
              "action": "delete",
              "deps": []
            }
          ]
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&short).unwrap());
    // The JSON reads back into the same plan, with the same hash.
    let back: Plan = serde_json::from_str(&p.to_json()).unwrap();
    assert_eq!(back, p);
    assert_eq!(back.compute_hash(), p.hash);
}

#[test]
fn blocked_plan_names_the_limit_and_runs_nothing() {
    let (m, t, j) = scenario();
    let pol = Policy {
        limits: Limits {
            user_delete: Limit {
                max_count: Some(0),
                max_percent: None,
                floor: 0,
            },
            user_disable: Limit {
                max_count: None,
                max_percent: Some(10),
                floor: 0,
            },
            ..Limits::none()
        },
        allow_destructive: false,
        ..policy()
    };
    let p = plan_now(&m, &t, &j, &pol, false);
    let reasons: Vec<&str> = p.blocked.iter().map(|b| b.reason.as_str()).collect();
    expect![[r#"
        1 user deletes exceed the limit (more than 0); review the plan and run again with allow_destructive to proceed
        1 user disables exceed the limit (more than 10% of 5 managed); review the plan and run again with allow_destructive to proceed"#]]
    .assert_eq(&reasons.join("\n"));
    let before = t.snapshot();
    let r = run(&p, &t, &j, 4).unwrap();
    assert!(r.blocked);
    assert_eq!(t.snapshot(), before, "a blocked plan changed the target");

    // A plan over part of a bigger rule takes the percentage of the whole.
    let partial = Policy {
        limits: Limits {
            user_disable: Limit {
                max_count: None,
                max_percent: Some(10),
                floor: 0,
            },
            ..Limits::none()
        },
        managed_floor: [(Destructive::UserDisable, 40)].into_iter().collect(),
        ..pol.clone()
    };
    assert!(plan_now(&m, &t, &j, &partial, false).blocked.is_empty());
    let partial = Policy {
        managed_floor: [(Destructive::UserDisable, 9)].into_iter().collect(),
        ..partial
    };
    let p9 = plan_now(&m, &t, &j, &partial, false);
    expect![[r#"1 user disables exceed the limit (more than 10% of 9 managed); review the plan and run again with allow_destructive to proceed"#]]
        .assert_eq(&p9.blocked.iter().map(|b| b.reason.as_str()).collect::<Vec<_>>().join("\n"));

    // The source suddenly returns nothing: blocked by the empty-source guard.
    let empty = DModel::default();
    let pol = Policy {
        empty_source_guard: Some(2),
        limits: Limits::none(),
        allow_destructive: false,
        ..policy()
    };
    let p = plan_now(&empty, &t, &j, &pol, false);
    expect!["the source returned no account while 4 accounts are linked (guard: 2); check the source and the rule's scope, or run again with allow_destructive"]
        .assert_eq(&p.blocked.iter().map(|b| b.reason.as_str()).collect::<Vec<_>>().join("\n"));
}

#[test]
fn run_report_uses_pingone_words() {
    let (m, t, j) = scenario();
    // Creating groups fails: the group and its memberships fail, users do not.
    let p = plan_now(&m, &t, &j, &policy(), false);
    let create_group = p
        .ops
        .iter()
        .position(|o| o.kind == Kind::Group && matches!(o.action, Action::Create { .. }))
        .unwrap();
    let calls_before: usize = p.ops[..create_group]
        .iter()
        .filter(|o| !o.action.is_journal_only())
        .count();
    let mut faults = vec![Fault::Ok; calls_before];
    faults.push(Fault::Transient);
    *t.faults.lock().unwrap() = faults;
    let r = run(&p, &t, &j, 1).unwrap();
    let mut by_status: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for o in &r.objects {
        by_status
            .entry(format!("{:?}", o.status))
            .or_default()
            .push(format!("{} {}", o.kind.as_str(), o.name));
    }
    let text = format!(
        "users: {:?}\ngroups: {:?}\nretry_later: {}\n{:#?}",
        r.users, r.groups, r.retry_later, by_status
    );
    expect![[r#"
        users: UserCounts { impacted: 9, success: 5, unsynced: 0, partial: 0, failed: 4 }
        groups: GroupCounts { impacted: 3, success: 2, failed: 1 }
        retry_later: 1
        {
            "Failed": [
                "group Sales",
                "user frank",
                "user gina",
                "user hank",
                "user ivan",
            ],
            "Success": [
                "group Old",
                "group Operations",
                "user alice",
                "user bob",
                "user carol",
                "user dave",
                "user erin",
            ],
        }"#]]
    .assert_eq(&text);
}

#[test]
fn rule_deletion_deprovisions_or_only_unlinks() {
    let (m, t, j) = scenario();
    let schema = schema();
    let desired = m.build();
    let observed = t.snapshot().observed(false);
    let links = j.links();
    let render = |pol: &Policy| {
        let p = plan(&Inputs {
            rule: "test",
            rule_deleted: true,
            schema: &schema,
            desired: &desired,
            observed: &observed,
            links: &links,
            pending: &[],
            policy: pol,
        });
        p.ops
            .iter()
            .map(|o| format!("{} {} {}", o.action.verb(), o.kind.as_str(), o.name))
            .collect::<Vec<_>>()
            .join("\n")
    };
    // Off: every link is dropped, nothing on the target changes.
    expect![[r#"
        unlink group Old
        unlink group Ops
        unlink user bob
        unlink user dave
        unlink user erin"#]]
    .assert_eq(&render(&Policy {
        deprovision_on_rule_deletion: false,
        ..policy()
    }));
    // On, remove action delete: every linked object is deleted (members that
    // are deleted too need no removal; unmanaged ones go with the group).
    expect![[r#"
        remove_member group Ops
        remove_phone user bob
        delete user bob
        delete user dave
        delete user erin
        delete group Old
        delete group Ops"#]]
    .assert_eq(&render(&Policy {
        deprovision_on_rule_deletion: true,
        ..policy()
    }));
    // On, remove action disable: kept members leave deleted groups first,
    // accounts are disabled, then unlinked.
    expect![[r#"
        remove_member group Old
        remove_member group Old
        remove_member group Ops
        disable user bob
        disable user dave
        disable user erin
        delete group Old
        delete group Ops
        unlink user bob
        unlink user dave
        unlink user erin"#]]
    .assert_eq(&render(&Policy {
        deprovision_on_rule_deletion: true,
        remove_action: RemoveAction::Disable,
        ..policy()
    }));
}
