//! The agent's scope filter and pingone-sim's filter engine agree: on random
//! expressions of the grammar both accept and random users, each keeps the
//! same users. (The simulator stands in for PingOne; the local evaluation is
//! what decides the scope, the pushdown only narrows the listing.)

use mapping::scope::{Dialect, JsonSubject, Membership, ScopeFilter};
use pingone_sim::filter::{self as sim, MemberKind};
use proptest::prelude::*;
use serde_json::{Value, json};

/// A user: attributes, direct groups, and groups reached through nesting.
#[derive(Debug, Clone)]
struct User {
    attrs: serde_json::Map<String, Value>,
    direct: Vec<&'static str>,
    indirect: Vec<&'static str>,
}

impl sim::Subject for User {
    fn attr(&self, path: &str) -> Option<Value> {
        sim::lookup(&self.attrs, path).cloned()
    }
    fn member_of(&self, group: &str, kind: MemberKind) -> bool {
        let d = self.direct.contains(&group);
        let i = self.indirect.contains(&group);
        match kind {
            MemberKind::Any => d || i,
            MemberKind::Direct => d,
            MemberKind::Indirect => i && !d,
        }
    }
}

fn value() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", "a", "ab", "ba", "b", "A", "a b", "é"])
}

fn attr() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "title",
        "name.family",
        "costCenter",
        "address.countryCode",
    ])
}

fn filter() -> impl Strategy<Value = String> {
    let op = prop::sample::select(vec!["eq", "sw", "ew", "co", "EQ"]);
    let group = prop::sample::select(vec!["G1", "G2"]);
    let kind = prop::sample::select(vec![
        "",
        " and type eq \"DIRECT\"",
        " and type eq \"INDIRECT\"",
    ]);
    let leaf = prop_oneof![
        (attr(), op, value()).prop_map(|(a, o, v)| format!("{a} {o} \"{v}\"")),
        any::<bool>().prop_map(|b| format!("enabled eq {b}")),
        (group, kind).prop_map(|(g, k)| format!("memberOfGroups[id eq \"{g}\"{k}]")),
    ];
    leaf.prop_recursive(4, 20, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} OR {b}")),
            inner.prop_map(|a| format!("({a})")),
        ]
    })
}

fn user() -> impl Strategy<Value = User> {
    let v = prop_oneof![
        Just(None),
        value().prop_map(|s| Some(json!(s))),
        (value(), value()).prop_map(|(a, b)| Some(json!([a, b]))),
    ];
    let groups = prop::sample::subsequence(vec!["G1", "G2"], 0..=2);
    (
        v.clone(),
        v.clone(),
        v.clone(),
        v,
        any::<bool>(),
        groups.clone(),
        groups,
    )
        .prop_map(|(title, family, cc, country, enabled, direct, indirect)| {
            let mut attrs = serde_json::Map::new();
            let mut put = |path: &str, v: Option<Value>| {
                if let Some(v) = v {
                    match path.split_once('.') {
                        Some((a, b)) => {
                            attrs.insert(a.into(), json!({ b: v }));
                        }
                        None => {
                            attrs.insert(path.into(), v);
                        }
                    }
                }
            };
            put("title", title);
            put("name.family", family);
            put("costCenter", cc);
            put("address.countryCode", country);
            attrs.insert("enabled".into(), json!(enabled));
            User {
                attrs,
                direct,
                indirect,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn the_local_evaluator_agrees_with_the_simulators_filter_engine(text in filter(), u in user()) {
        let theirs = sim::USERS.parse(&text).expect("the simulator accepts the filter");
        let ours = ScopeFilter::parse(&text, Dialect::PingOne).expect("the agent accepts the filter");
        let json = Value::Object(u.attrs.clone());
        let subject = JsonSubject {
            json: &json,
            member_of: |g: &str, k: Membership| {
                let kind = match k {
                    Membership::Any => MemberKind::Any,
                    Membership::Direct => MemberKind::Direct,
                    Membership::Indirect => MemberKind::Indirect,
                };
                sim::Subject::member_of(&u, g, kind)
            },
        };
        prop_assert_eq!(ours.matches(&subject), theirs.matches(&u), "{} on {:?}", text, u);
    }
}
