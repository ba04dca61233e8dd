//! The enrollment action: who gets an enrollment email or the one reminder,
//! and how `plan` shows it.

use expect_test::expect;
use proptest::prelude::*;
use reconcile_engine::*;

const DAY: i64 = 86_400;

/// One user: key, email, enabled; `Some(state)`: linked to an observed
/// account in that enrollment state; `None`: new (created by the plan).
struct U {
    key: &'static str,
    email: Option<&'static str>,
    enabled: bool,
    state: Option<Enrollment>,
}

fn plan_for(users: &[U], enroll: Option<Enroll>) -> Plan {
    let mut schema = Schema::new();
    let email = schema.define("email", EmptyPolicy::Keep, WritePolicy::Always);
    let (mut desired, mut observed, mut links) =
        (DesiredSet::new(), ObservedSet::new(), LinkSet::new());
    for u in users {
        let sid = format!("s-{}", u.key);
        let attrs = [(email, u.email.map(ValueRef::Str))];
        desired
            .push(NewDesired {
                kind: Kind::User,
                source_id: &sid,
                key: u.key,
                attrs: &attrs,
                enabled: u.enabled,
                phone: None,
                fingerprint: 7,
            })
            .unwrap();
        if let Some(state) = u.state {
            let tid = format!("D{}", u.key);
            observed
                .push(NewObserved {
                    kind: Kind::User,
                    target_id: &tid,
                    key: u.key,
                    attrs: &attrs,
                    enabled: u.enabled,
                    phones: &[],
                    groups: &[],
                    fingerprint: Some(7),
                })
                .unwrap();
            observed.enrollment_last(state);
            links.push(Kind::User, &sid, &tid, 7).unwrap();
        }
    }
    let policy = Policy {
        enroll,
        ..Policy::default()
    };
    plan(&Inputs {
        rule: "workforce",
        rule_deleted: false,
        schema: &schema,
        desired: &desired,
        observed: &observed,
        links: &links,
        pending: &[],
        policy: &policy,
    })
}

fn on(remind_after_secs: Option<u64>, now_secs: i64) -> Option<Enroll> {
    Some(Enroll {
        valid_secs: 30 * DAY as u64,
        remind_after_secs,
        email_attr: "email".into(),
        now_secs,
    })
}

fn state(enrolled: bool, sent_at: Option<i64>, reminded: bool) -> Option<Enrollment> {
    Some(Enrollment {
        enrolled,
        sent_at,
        reminded,
    })
}

fn enrolled_keys(p: &Plan) -> Vec<(String, bool)> {
    p.ops
        .iter()
        .filter_map(|o| match o.action {
            Action::Enroll { reminder, .. } => Some((o.name.clone(), reminder)),
            _ => None,
        })
        .collect()
}

#[test]
fn plan_shows_enrollment_emails_reminders_and_who_gets_none() {
    let users = [
        U {
            key: "new",
            email: Some("new@x"),
            enabled: true,
            state: None,
        },
        U {
            key: "fresh",
            email: Some("fresh@x"),
            enabled: true,
            state: state(false, None, false),
        },
        U {
            key: "due",
            email: Some("due@x"),
            enabled: true,
            state: state(false, Some(0), false),
        },
        U {
            key: "done",
            email: Some("done@x"),
            enabled: true,
            state: state(true, None, false),
        },
        U {
            key: "noemail",
            email: None,
            enabled: true,
            state: state(false, None, false),
        },
        U {
            key: "waiting",
            email: Some("w@x"),
            enabled: true,
            state: state(false, Some(6 * DAY), false),
        },
    ];
    let p = plan_for(&users, on(Some(7 * DAY as u64), 7 * DAY));
    expect![[r#"
        Plan for rule "workforce": 1 to create, 0 to adopt, 0 to update, 0 to rename, 0 to enable, 0 to disable, 0 to delete, 0 memberships to add, 0 to remove, 0 phones to add, 0 to remove, 0 link changes, 0 problems.
        3 enrollment emails to send.
        + create user new (email="new@x")
        + enroll user due: enrollment reminder to "due@x" (link valid 30 days)
        + enroll user fresh: enrollment email to "fresh@x" (link valid 30 days)
        + enroll user new: enrollment email to "new@x" (link valid 30 days)
        note: no enrollment email for user "noemail": not enrolled but has no email
    "#]]
    .assert_eq(&p.render().lines().filter(|l| !l.starts_with("hash")).map(|l| format!("{l}\n")).collect::<String>());
    assert_eq!(p.summary.enroll, 3);
    // The new user's email waits for its create.
    let create = p
        .ops
        .iter()
        .find(|o| o.name == "new" && o.action.verb() == "create")
        .unwrap();
    let mail = p
        .ops
        .iter()
        .find(|o| o.name == "new" && o.action.verb() == "enroll")
        .unwrap();
    assert_eq!(mail.target, Some(TargetRef::Created(create.id)));
    assert!(mail.deps.contains(&create.id));
    // Not destructive: nothing is blocked, even with a zero limit everywhere.
    assert!(p.blocked.is_empty());
}

#[test]
fn enroll_off_sends_nothing_and_notes_nothing() {
    let users = [
        U {
            key: "new",
            email: Some("new@x"),
            enabled: true,
            state: None,
        },
        U {
            key: "noemail",
            email: None,
            enabled: true,
            state: state(false, None, false),
        },
    ];
    let p = plan_for(&users, None);
    assert!(enrolled_keys(&p).is_empty());
    assert!(p.notes.is_empty());
    assert_eq!(p.summary.enroll, 0);
}

#[test]
fn no_reminder_without_remind_after_or_after_one_was_sent() {
    let sent = [U {
        key: "a",
        email: Some("a@x"),
        enabled: true,
        state: state(false, Some(0), false),
    }];
    assert!(enrolled_keys(&plan_for(&sent, on(None, 100 * DAY))).is_empty());
    let reminded = [U {
        key: "a",
        email: Some("a@x"),
        enabled: true,
        state: state(false, Some(0), true),
    }];
    assert!(enrolled_keys(&plan_for(&reminded, on(Some(1), 100 * DAY))).is_empty());
    let disabled = [U {
        key: "a",
        email: Some("a@x"),
        enabled: false,
        state: state(false, None, false),
    }];
    assert!(enrolled_keys(&plan_for(&disabled, on(None, 0))).is_empty());
}

proptest! {
    /// Each user gets at most one email per plan; never when enrolled, without
    /// an email or disabled; a reminder only when one was sent, none was
    /// reminded and `remind_after` has passed; the same inputs give the same plan.
    #[test]
    fn enrollment_decisions(
        rows in prop::collection::vec(
            (any::<bool>(), any::<bool>(), any::<bool>(), prop::option::of(0i64..20), any::<bool>(), any::<bool>()),
            0..12),
        remind in prop::option::of(0u64..20),
        now in 0i64..40,
    ) {
        let keys: Vec<&'static str> = (0..rows.len())
            .map(|i| &*Box::leak(format!("u{i}").into_boxed_str()))
            .collect();
        let users: Vec<U> = rows.iter().zip(&keys).map(|(r, k)| U {
            key: k,
            email: r.0.then_some("m@x"),
            enabled: r.1,
            state: (!r.5).then_some(Enrollment { enrolled: r.2, sent_at: r.3, reminded: r.4 }),
        }).collect();
        let p = plan_for(&users, on(remind, now));
        prop_assert_eq!(p.to_json(), plan_for(&users, on(remind, now)).to_json());
        let sent = enrolled_keys(&p);
        for (u, r) in users.iter().zip(&rows) {
            let got: Vec<bool> = sent.iter().filter(|(k, _)| k == u.key).map(|(_, r)| *r).collect();
            let st = u.state.unwrap_or_default();
            let want = if !u.enabled || u.email.is_none() || st.enrolled {
                None
            } else if st.sent_at.is_none() {
                Some(false)
            } else if remind.is_some_and(|a| !r.4 && now >= r.3.unwrap_or(0) + a as i64) {
                Some(true)
            } else {
                None
            };
            prop_assert_eq!(got, want.into_iter().collect::<Vec<_>>(), "user {}", u.key);
        }
    }
}
