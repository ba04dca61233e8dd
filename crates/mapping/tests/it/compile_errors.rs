//! Snapshot table of every compile error: each names the target and, inside an expression,
//! shows the column with a caret.

use expect_test::expect;
use mapping::{Direction, Mapping, MappingSpec, Options};

fn errors(direction: Direction, pairs: &[(&str, &str)]) -> String {
    match Mapping::compile(direction, &MappingSpec::from_pairs(pairs.iter().copied())) {
        Ok(_) => "compiled\n".to_owned(),
        Err(e) => format!("{e}\n"),
    }
}

/// One bad expression in an otherwise fine outbound table.
fn expr_error(expr: &str) -> String {
    errors(
        Direction::Outbound,
        &[("username", "username"), ("realname", expr)],
    )
}

#[test]
fn expression_errors() {
    let cases = [
        "",
        "lowr(name.given)",
        "lower()",
        "lower(a, b)",
        "replace(username, 'a')",
        "switch(dept, 'a', 'b')",
        "switch(dept, 'a', 'b', 'c', 'd')",
        "'unterminated",
        r#""bad \q escape""#,
        "name.given name.family",
        "name.",
        "lower(username",
        "lower(username; x)",
        "replace(username, '', 'x')",
        "substring(username, -1)",
        "e164(primaryPhone, 'XX')",
        "\"${name.given\"",
        "+15551234",
        "99999999999999999999",
    ];
    let out: String = cases.iter().map(|c| expr_error(c)).collect();
    expect![[r#"
        1 error in the attribute mapping:
        mapping target "realname", column 1: empty expression: write an attribute path such as `username`, or '' for an empty constant
        1 error in the attribute mapping:
        mapping target "realname", column 1: unknown function `lowr`; the functions are: coalesce, e164, join, lower, replace, substring, switch, trim, upper
            lowr(name.given)
            ^
        1 error in the attribute mapping:
        mapping target "realname", column 1: `lower` takes 1 argument but was given 0; write lower(value)
            lower()
            ^
        1 error in the attribute mapping:
        mapping target "realname", column 1: `lower` takes 1 argument but was given 2; write lower(value)
            lower(a, b)
            ^
        1 error in the attribute mapping:
        mapping target "realname", column 1: `replace` takes 3 arguments but was given 2; write replace(value, search, replacement)
            replace(username, 'a')
            ^
        1 error in the attribute mapping:
        mapping target "realname", column 1: `switch` takes at least 4 arguments but was given 3; write switch(value, case, result, ..., default)
            switch(dept, 'a', 'b')
            ^
        1 error in the attribute mapping:
        mapping target "realname", column 1: `switch` needs a value, then case/result pairs, then a default (an even number of arguments) but was given 5; write switch(value, case, result, ..., default)
            switch(dept, 'a', 'b', 'c', 'd')
            ^
        1 error in the attribute mapping:
        mapping target "realname", column 1: this string is not closed: add a closing '
            'unterminated
            ^
        1 error in the attribute mapping:
        mapping target "realname", column 6: unknown escape: use \\, \", \', \$, \n, \t or \r
            "bad \q escape"
                 ^
        1 error in the attribute mapping:
        mapping target "realname", column 12: unexpected `n` after the end of the expression (functions take their arguments in parentheses, separated by commas)
            name.given name.family
                       ^
        1 error in the attribute mapping:
        mapping target "realname", column 6: expected an attribute name after `.`
            name.
                 ^
        1 error in the attribute mapping:
        mapping target "realname", column 15: the call to `lower` is not closed: add `)`
            lower(username
                          ^
        1 error in the attribute mapping:
        mapping target "realname", column 15: unexpected `;` in the arguments of `lower`: expected `,` or `)`
            lower(username; x)
                          ^
        1 error in the attribute mapping:
        mapping target "realname", column 19: `replace` needs a non-empty search text
            replace(username, '', 'x')
                              ^
        1 error in the attribute mapping:
        mapping target "realname", column 21: `substring` positions and lengths count characters from 0 and cannot be negative
            substring(username, -1)
                                ^
        1 error in the attribute mapping:
        mapping target "realname", column 20: unknown phone region "XX": use a two-letter ISO 3166 code such as "US" or "DE"
            e164(primaryPhone, 'XX')
                               ^
        1 error in the attribute mapping:
        mapping target "realname", column 14: expected `}` to close the `${` interpolation
            "${name.given"
                         ^
        1 error in the attribute mapping:
        mapping target "realname", column 1: unexpected `+`: expected an attribute path, a quoted string or a function call
            +15551234
            ^
        1 error in the attribute mapping:
        mapping target "realname", column 1: `99999999999999999999` is not a whole number that fits in 64 bits
            99999999999999999999
            ^
    "#]]
    .assert_eq(&out);
}

#[test]
fn nesting_and_length_limits() {
    let deep = format!("{}username{}", "lower(".repeat(40), ")".repeat(40));
    let long = format!("'{}'", "x".repeat(10_001));
    let out = expr_error(&deep);
    assert!(out.contains("nests deeper than 32 levels"), "{out}");
    let out = expr_error(&long);
    assert!(out.contains("longer than 10000 characters"), "{out}");
}

#[test]
fn table_errors() {
    let out = [
        errors(
            Direction::Outbound,
            &[
                ("username", "username"),
                ("displayName", "x"),
                ("phone", "x"),
            ],
        ),
        errors(
            Direction::Inbound,
            &[("username", "username"), ("givenName", "x")],
        ),
        errors(
            Direction::Inbound,
            &[
                ("username", "username"),
                ("custom.", "x"),
                ("custom.a b", "x"),
            ],
        ),
        errors(
            Direction::Inbound,
            &[("username", "username"), ("custom.email", "x")],
        ),
        errors(
            Direction::Outbound,
            &[
                ("username", "username"),
                ("enabled", "enabled"),
                ("status", "'bypass'"),
            ],
        ),
        errors(
            Direction::Outbound,
            &[("username", "username"), ("adminRole", "'Billing'")],
        ),
        errors(Direction::Outbound, &[("email", "email")]),
        errors(Direction::Inbound, &[]),
        errors(Direction::Group, &[("desc", "description")]),
        errors(
            Direction::Group,
            &[("name", "name"), ("description", "description")],
        ),
    ]
    .concat();
    expect![[r#"
        2 errors in the attribute mapping:
        mapping target "displayName": is not an outbound target attribute; the valid ones are: username, email, realname, firstname, lastname, notes, alias1, alias2, alias3, alias4, phones, enabled, status, userType, adminRole
        mapping target "phone": is not an outbound target attribute; the valid ones are: username, email, realname, firstname, lastname, notes, alias1, alias2, alias3, alias4, phones, enabled, status, userType, adminRole
        1 error in the attribute mapping:
        mapping target "givenName": is not an inbound target attribute; the valid ones are: username, email, name.given, name.family, name.formatted, primaryPhone, mobilePhone, enabled, title, locale, externalId, custom.<name> (a PingOne custom attribute)
        2 errors in the attribute mapping:
        mapping target "custom.": is not a valid custom attribute name: after `custom.` use letters, digits, `_` or `-`
        mapping target "custom.a b": is not a valid custom attribute name: after `custom.` use letters, digits, `_` or `-`
        1 error in the attribute mapping:
        mapping target "custom.email": `email` is a standard PingOne attribute, not a custom one: map it by its own name if it is a target, or pick another name
        1 error in the attribute mapping:
        mapping target "status": map either `enabled` or `status`, not both: both set Duo's status
        1 error in the attribute mapping:
        mapping target "adminRole": applies only to administrators: map `userType` too ("user" or "admin")
        1 error in the attribute mapping:
        mapping target "username": is required in an outbound mapping: add for example username = "username"
        1 error in the attribute mapping:
        mapping target "username": is required in an inbound mapping: add for example username = "username"
        1 error in the attribute mapping:
        mapping target "name": is required in a group mapping: add for example name = "name"
        1 error in the attribute mapping:
        mapping target "description": is not a group target attribute; the valid ones are: name, desc
    "#]]
    .assert_eq(&out);
}

#[test]
fn option_errors() {
    let e = Mapping::compile_with(
        Direction::Outbound,
        &Mapping::default_spec(Direction::Outbound),
        &Options {
            default_region: "Atlantis".to_owned(),
            allow_owner: false,
        },
    )
    .unwrap_err();
    expect![[r#"
        1 error in the attribute mapping:
        mapping target "(options)": default_region "Atlantis" is not a known phone region: use a two-letter ISO 3166 code such as "US""#]]
    .assert_eq(&e.to_string());
}

#[test]
fn every_error_is_reported_at_once() {
    let e = Mapping::compile(
        Direction::Outbound,
        &MappingSpec::from_pairs([("realname", "lowr(x)"), ("emial", "email"), ("notes", "'")]),
    )
    .unwrap_err();
    let targets: Vec<&str> = e.0.iter().map(|e| e.target.as_str()).collect();
    assert_eq!(targets, ["emial", "notes", "realname", "username"]);
}
