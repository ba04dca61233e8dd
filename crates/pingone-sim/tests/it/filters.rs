//! SCIM filters over HTTP: what selects whom, and 400 INVALID_FILTER for the rest;
//! plus property tests of the parser.

use crate::common::{filtered, start};
use pingone_sim::SimConfig;
use pingone_sim::filter::{self, Filter, Literal, MemberKind, Op};
use proptest::prelude::*;
use serde_json::json;

#[tokio::test]
async fn filters_select_the_right_users() {
    let api = start(SimConfig::default()).await;
    api.sim.declare_attribute("costCenter");
    for (u, given, family, title, cc) in [
        ("w.smith", "Will", "Smith", "Eng", "US"),
        ("j.smith", "Jane", "Smith", "Ops", "CA"),
        ("w.jones", "Wanda", "Jones", "Eng", "US"),
    ] {
        api.sim
            .create_user(json!({"username": u, "email": format!("{u}@example.com"), "name": {"given": given, "family": family},
                                "title": title, "address": {"countryCode": cc}, "costCenter": format!("cc-{title}")}))
            .unwrap();
    }
    let d = api.sim.state().users[2].id.clone();
    api.sim.set_user_enabled(&d, false).unwrap();
    let cases = [
        (r#"username eq "w.smith""#, vec!["w.smith"]),
        (
            r#"(name.family eq "Smith") and (name.given sw "W")"#,
            vec!["w.smith"],
        ),
        (
            r#"name.given sw "W" or address.countryCode eq "CA""#,
            vec!["w.smith", "j.smith", "w.jones"],
        ),
        (
            r#"title eq "Eng" and (name.family eq "Jones" or name.given eq "Jane")"#,
            vec!["w.jones"],
        ),
        (r#"costCenter eq "cc-Ops""#, vec!["j.smith"]),
        (r#"enabled eq false"#, vec!["w.jones"]),
        (r#"username EQ "W.SMITH""#, vec![]),
        (r#"email sw "j.""#, vec!["j.smith"]),
        (
            r#"email ew "smith@example.com""#,
            vec!["w.smith", "j.smith"],
        ),
        (r#"title co "n""#, vec!["w.smith", "w.jones"]),
    ];
    for (f, want) in cases {
        let (users, _) = api.all(&filtered("/users", f, ""), "users").await;
        let got: Vec<&str> = users
            .iter()
            .map(|u| u["username"].as_str().unwrap())
            .collect();
        assert_eq!(got, want, "{f}");
    }
}

#[tokio::test]
async fn unsupported_filters_are_invalid_filter() {
    let api = start(SimConfig::default()).await;
    for (path, f) in [
        ("/users", r#"username pr"#),
        ("/users", r#"username ne "x""#),
        ("/users", r#"population.id co "x""#),
        ("/users", r#"updatedAt gt "2024-01-01""#),
        ("/users", r#"lifecycle.status eq "ACCOUNT_OK""#),
        ("/users", r#"population.id sw "x""#),
        ("/users", r#"username eq "x" and"#),
        ("/users", r#"(username eq "x""#),
        ("/users", r#"memberOfGroups[name eq "x"]"#),
        ("/groups", r#"description eq "x""#),
        ("/populations", r#"memberOfGroups[id eq "x"]"#),
    ] {
        let r = api.get(&filtered(path, f, "")).await;
        assert_eq!(r.status, 400, "{f}");
        assert_eq!(r.body["code"], "INVALID_DATA");
        assert_eq!(r.body["details"][0]["code"], "INVALID_FILTER", "{f}");
    }
}

fn attr() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "username",
        "email",
        "name.family",
        "title",
        "population.id",
        "externalId",
        "costCenter",
    ])
    .prop_map(str::to_string)
}

fn value() -> impl Strategy<Value = String> {
    // Quotes, backslashes, brackets and keywords inside values must survive.
    "[a-zA-Z0-9 \"\\\\()\\[\\]._@-]{0,12}|and|or|eq"
}

fn leaf() -> impl Strategy<Value = Filter> {
    prop_oneof![
        (attr(), any::<bool>(), value()).prop_map(|(attr, sw, v)| {
            let op = if sw && attr != "population.id" {
                Op::Sw
            } else {
                Op::Eq
            };
            Filter::Cmp {
                attr,
                op,
                value: Literal::Str(v),
            }
        }),
        (
            "[a-f0-9-]{1,36}",
            prop::sample::select(vec![
                MemberKind::Any,
                MemberKind::Direct,
                MemberKind::Indirect
            ])
        )
            .prop_map(|(group, kind)| Filter::MemberOf { group, kind }),
    ]
}

fn tree() -> impl Strategy<Value = Filter> {
    leaf().prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
        ]
    })
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn render(f: &Filter) -> String {
    match f {
        Filter::And(a, b) => format!("({}) and ({})", render(a), render(b)),
        Filter::Or(a, b) => format!("({}) or ({})", render(a), render(b)),
        Filter::Cmp {
            attr,
            op,
            value: Literal::Str(v),
        } => {
            format!(
                "{attr} {} {}",
                if *op == Op::Eq { "eq" } else { "sw" },
                quote(v)
            )
        }
        Filter::Cmp {
            attr,
            value: Literal::Bool(b),
            ..
        } => format!("{attr} eq {b}"),
        Filter::MemberOf { group, kind } => match kind {
            MemberKind::Any => format!("memberOfGroups[id eq {}]", quote(group)),
            MemberKind::Direct => format!(
                "memberOfGroups[id eq {} and type eq \"DIRECT\"]",
                quote(group)
            ),
            MemberKind::Indirect => format!(
                "memberOfGroups[id eq {} and type eq \"INDIRECT\"]",
                quote(group)
            ),
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn rendered_filters_parse_back_to_the_same_tree(f in tree()) {
        let text = render(&f);
        prop_assert_eq!(filter::USERS.parse(&text), Ok(f), "{}", text);
    }

    #[test]
    fn the_parser_never_panics(s in "\\PC{0,60}") {
        let _ = filter::parse(&s);
    }
}
