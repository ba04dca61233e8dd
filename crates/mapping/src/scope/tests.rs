//! Scope filter tests: examples, errors with their columns, and properties
//! (never panics; the pushdown never drops a user the filter keeps).

use super::*;
use proptest::prelude::*;
use serde_json::json;

fn user(v: Value, groups: &'static [&'static str]) -> impl Fn(&ScopeFilter) -> Verdict {
    move |f| {
        f.evaluate(&JsonSubject {
            json: &v,
            member_of: |g, _| groups.contains(&g),
        })
    }
}

#[test]
fn the_issue_examples() {
    let f = ScopeFilter::parse(
        r#"(population.name eq "Workforce" and address.countryCode eq "US") or (type eq "Contractor" and title sw "Eng")"#,
        Dialect::PingOne,
    )
    .unwrap();
    let us = user(
        json!({"population": {"name": "Workforce"}, "address": {"countryCode": "US"}}),
        &[],
    );
    assert_eq!(
        us(&f),
        Verdict {
            included: true,
            because: r#"population.name eq "Workforce" (population.name is "Workforce") and address.countryCode eq "US" (address.countryCode is "US")"#.into()
        }
    );
    let ca = user(
        json!({"population": {"name": "Workforce"}, "address": {"countryCode": "CA"}, "type": "Contractor", "title": "Sales"}),
        &[],
    );
    let v = ca(&f);
    assert!(!v.included);
    assert_eq!(
        v.because,
        r#"neither address.countryCode eq "US" (address.countryCode is "CA") nor title sw "Eng" (title is "Sales")"#
    );
    let d = ScopeFilter::parse(
        r#"status eq "active" and email ew "@contractors.example""#,
        Dialect::Duo,
    )
    .unwrap();
    let c = user(
        json!({"status": "active", "email": "x@contractors.example"}),
        &[],
    );
    assert!(c(&d).included);
}

#[test]
fn operators_and_types() {
    let u = json!({"username": "alice", "enabled": true, "title": "Engineer",
        "nums": [1, 5], "tags": ["a", "b"], "empty": "", "last_login": 100});
    let cases = [
        (r#"username ne "bob""#, true),
        (r#"nickname ne "bob""#, true),
        (r#"title co "gin""#, true),
        (r#"title ew "eer""#, true),
        (r#"title gt "A""#, true),
        (r#"title lt "A""#, false),
        (r#"title ge "Engineer" and title le "Engineer""#, true),
        ("enabled eq true", true),
        ("enabled ne true", false),
        ("not (enabled eq true)", false),
        ("title pr", true),
        ("empty pr", false),
        ("nickname pr", false),
        (r#"tags eq "b""#, true),
        (r#"memberOfGroups[id eq "G1"]"#, true),
        (r#"memberOfGroups[id eq "G2" and type eq "DIRECT"]"#, false),
        (r#"USERNAME EQ "alice""#, false),
        (r#"username EQ "alice" AND NOT title sw "X""#, true),
    ];
    for (f, want) in cases {
        let f2 = ScopeFilter::parse(f, Dialect::PingOne).unwrap();
        let got = f2.matches(&JsonSubject {
            json: &u,
            member_of: |g, _| g == "G1",
        });
        assert_eq!(got, want, "{f}");
    }
    let d = ScopeFilter::parse("last_login gt 50 and is_enrolled eq false", Dialect::Duo).unwrap();
    assert!(!d.matches(&JsonSubject {
        json: &json!({"last_login": 100, "is_enrolled": true}),
        member_of: |_, _| false
    }));
}

#[test]
fn errors_name_the_column() {
    let cases: &[(&str, Dialect, &str)] = &[
        ("", Dialect::PingOne, "column 1: the filter is empty"),
        (
            r#"title sw"#,
            Dialect::PingOne,
            "column 9: the filter ends where a value was expected",
        ),
        (
            r#"title is "x""#,
            Dialect::PingOne,
            "column 7: expected an operator (eq ne sw ew co gt ge lt le pr), found \"is\"",
        ),
        (
            r#"(title eq "x""#,
            Dialect::PingOne,
            "column 14: the filter ends where \")\" was expected",
        ),
        (
            r#"title eq "x" title eq "y""#,
            Dialect::PingOne,
            "column 14: unexpected \"title\" after a complete condition (join conditions with and / or)",
        ),
        (
            r#"enabled eq "true""#,
            Dialect::PingOne,
            "column 1: enabled is a boolean: write enabled eq true or enabled eq false, without quotes",
        ),
        (
            r#"title eq true"#,
            Dialect::PingOne,
            "column 1: title is text: quote the value (\"...\")",
        ),
        (
            r#"a eq "x" and cost_center eq "1""#,
            Dialect::Duo,
            "column 1: \"a\" is not a Duo user attribute; use one of user_id, username, realname, firstname, lastname, email, status, notes, alias1, alias2, alias3, alias4, external_id, groups, is_enrolled, created, last_login",
        ),
        (
            r#"memberOfGroups[id eq "G"]"#,
            Dialect::Duo,
            "column 1: memberOfGroups[...] is PingOne's; a Duo user's groups are filtered by name: groups eq \"<group name>\"",
        ),
        (
            r#"memberOfGroups[id eq "G" and type eq "BOTH"]"#,
            Dialect::PingOne,
            "column 38: membership type \"BOTH\": expected \"DIRECT\" or \"INDIRECT\"",
        ),
        (
            r#"title eq "x\q""#,
            Dialect::PingOne,
            "column 12: unknown escape: inside quotes write \\\" for a quote and \\\\ for a backslash",
        ),
        (
            r#"title eq "x"#,
            Dialect::PingOne,
            "column 10: this string has no closing quote",
        ),
        (
            r#"é eq "x" and title ~ "y""#,
            Dialect::PingOne,
            "column 20: unexpected character '~'",
        ),
        (
            r#"last_login sw 5"#,
            Dialect::Duo,
            "column 1: last_login is a number: sw, ew and co compare text; use eq, ne, gt, ge, lt or le",
        ),
    ];
    for (text, d, want) in cases {
        let e = ScopeFilter::parse(text, *d).unwrap_err();
        assert_eq!(e.to_string(), *want, "{text}");
    }
}

#[test]
fn pushdown_keeps_what_it_can() {
    let f = ScopeFilter::parse(
        r#"title sw "Eng" and not (type eq "x") and (a eq "1" or b co "2")"#,
        Dialect::PingOne,
    )
    .unwrap();
    let sent = f.pushdown(
        &mut |l| match l {
            Leaf::Cmp {
                path,
                op: CmpOp::Eq | CmpOp::Sw,
                lit: Lit::Str(v),
            } => Some(format!("{path}={v}")),
            _ => None,
        },
        &|a, b| format!("({a} & {b})"),
        &|a, b| format!("({a} | {b})"),
    );
    assert_eq!(sent.as_deref(), Some("title=Eng"));
}

fn arb_lit() -> impl Strategy<Value = (&'static str, String)> {
    prop_oneof![
        Just(("s", "a")),
        Just(("s", "ab")),
        Just(("s", "b")),
        Just(("s", "")),
        Just(("b", "true")),
        Just(("b", "false")),
    ]
    .prop_map(|(k, v)| (k, v.to_owned()))
}

fn arb_filter() -> impl Strategy<Value = String> {
    let op = prop_oneof![
        Just("eq"),
        Just("ne"),
        Just("sw"),
        Just("ew"),
        Just("co"),
        Just("gt"),
        Just("le")
    ];
    let leaf = prop_oneof![
        (
            prop_oneof![Just("x"), Just("y"), Just("n.m")],
            op,
            arb_lit()
        )
            .prop_map(|(p, op, (k, v))| if k == "s" {
                format!("{p} {op} \"{v}\"")
            } else {
                format!("enabled {} {v}", if op == "ne" { "ne" } else { "eq" })
            }),
        prop_oneof![Just("x pr"), Just("n.m pr")].prop_map(str::to_owned),
        prop_oneof![Just("G1"), Just("G2")].prop_map(|g| format!("memberOfGroups[id eq \"{g}\"]")),
    ];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) or ({b})")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
}

fn arb_user() -> impl Strategy<Value = (Value, Vec<&'static str>)> {
    let v = prop_oneof![
        Just(Value::Null),
        Just(json!("a")),
        Just(json!("ab")),
        Just(json!("b")),
        Just(json!("")),
        Just(json!(["a", "b"]))
    ];
    (
        v.clone(),
        v.clone(),
        v,
        any::<bool>(),
        proptest::sample::subsequence(vec!["G1", "G2"], 0..=2),
    )
        .prop_map(|(x, y, m, e, g)| (json!({"x": x, "y": y, "n": {"m": m}, "enabled": e}), g))
}

proptest! {
    #[test]
    fn never_panics(s in "\\PC{0,40}") {
        if let Err(e) = ScopeFilter::parse(&s, Dialect::PingOne) {
            prop_assert!(e.column >= 1 && e.column <= s.chars().count() + 1);
        }
    }

    /// What the API is sent never drops a user the whole filter keeps.
    #[test]
    fn pushdown_is_weaker((text, (u, groups)) in (arb_filter(), arb_user())) {
        let f = ScopeFilter::parse(&text, Dialect::PingOne).unwrap();
        let subject = JsonSubject { json: &u, member_of: |g: &str, _| groups.contains(&g) };
        let sent = f.pushdown(
            &mut |l| match l {
                Leaf::Cmp { path, op: op @ (CmpOp::Eq | CmpOp::Sw), lit } => Some(match lit {
                    Lit::Str(v) => format!("{path} {} \"{v}\"", if op == CmpOp::Eq { "eq" } else { "sw" }),
                    Lit::Bool(b) => format!("{path} eq {b}"),
                    Lit::Num(n) => format!("{path} eq {n}"),
                }),
                Leaf::MemberOf { group, .. } => Some(format!("memberOfGroups[id eq \"{group}\"]")),
                _ => None,
            },
            &|a, b| format!("({a}) and ({b})"),
            &|a, b| format!("({a}) or ({b})"),
        );
        if f.matches(&subject) && let Some(sent) = sent {
            let g = ScopeFilter::parse(&sent, Dialect::PingOne).unwrap();
            prop_assert!(g.matches(&subject), "{text} keeps {u} but {sent} does not");
        }
        // The verdict agrees with the plain answer.
        prop_assert_eq!(f.evaluate(&subject).included, f.matches(&subject));
    }
}
