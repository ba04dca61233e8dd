//! Snapshot table of the expression language: paths, literals, templates and every function,
//! including their runtime errors.

use expect_test::expect;
use mapping::{AttrValue, Direction};
use serde_json::json;

use crate::compile;

/// Evaluate each expression into the inbound custom attribute `out` and show the result.
fn table(cases: &[&str]) -> String {
    let src = json!({
        "username": "Alice.Smith",
        "name": {"given": "Alice", "family": "Smith"},
        "email": "  Alice@Example.COM ",
        "primaryPhone": "(734) 555-1212",
        "population": {"name": "Staff"},
        "tags": ["a", "b", ""],
        "count": 42,
        "flag": true,
        "dept": "ENG",
        "obj": {"x": 1},
        "region": "GB",
        "accent": "Zoë Ærøskøbing",
    });
    let mut out = String::new();
    for expr in cases {
        let m = compile(
            Direction::Inbound,
            &[("username", "'u'"), ("custom.out", expr)],
        );
        let shown = match m.apply(&src) {
            Ok(r) => match r.get("out").and_then(|a| a.value.clone()) {
                Some(AttrValue::Text(s)) => format!("{s:?}"),
                Some(AttrValue::Bool(b)) => b.to_string(),
                None => "(empty)".to_owned(),
            },
            Err(e) => format!("error: {}", e[0]),
        };
        out.push_str(&format!("{expr:<58} => {shown}\n"));
    }
    out
}

#[test]
fn paths_literals_and_templates() {
    expect![[r#"
        username                                                   => "Alice.Smith"
        name.given                                                 => "Alice"
        population.name                                            => "Staff"
        no.such.path                                               => (empty)
        tags.1                                                     => "b"
        tags.9                                                     => (empty)
        count                                                      => "42"
        flag                                                       => "true"
        'a literal'                                                => "a literal"
        "double \"quoted\" \${not} interpolated"                   => "double \"quoted\" ${not} interpolated"
        "${name.given} ${name.family}"                             => "Alice Smith"
        '${name.family}, ${name.given} (${population.name})'       => "Smith, Alice (Staff)"
        "${missing} ${also.missing}"                               => (empty)
        "${upper(name.family)}-${count}"                           => "SMITH-42"
        tags                                                       => error: attribute "custom.out" = ["a","b",""]: this attribute needs a single text value but found a list of 3; pick one element (`list.0`) or use join(", ", list)
        obj                                                        => error: attribute "custom.out" = {"x":1}: this attribute needs a text value but found an object; name a field inside it (`object.field`)
    "#]]
    .assert_eq(&table(&[
        "username",
        "name.given",
        "population.name",
        "no.such.path",
        "tags.1",
        "tags.9",
        "count",
        "flag",
        "'a literal'",
        r#""double \"quoted\" \${not} interpolated""#,
        r#""${name.given} ${name.family}""#,
        "'${name.family}, ${name.given} (${population.name})'",
        r#""${missing} ${also.missing}""#,
        r#""${upper(name.family)}-${count}""#,
        "tags",
        "obj",
    ]));
}

#[test]
fn text_functions() {
    expect![[r#"
        lower(username)                                            => "alice.smith"
        upper(name.family)                                         => "SMITH"
        lower(accent)                                              => "zoë ærøskøbing"
        upper(accent)                                              => "ZOË ÆRØSKØBING"
        trim(email)                                                => "Alice@Example.COM"
        lower(trim(email))                                         => "alice@example.com"
        lower(missing)                                             => (empty)
        upper(tags)                                                => error: attribute "custom.out" = ["a","b",""]: `upper` needs a single text value but found a list of 3; pick one element (`list.0`) or use join(", ", list)
        replace(username, '.', '_')                                => "Alice_Smith"
        replace(username, 'x', 'y')                                => "Alice.Smith"
        replace(lower(username), 'alice', '')                      => ".smith"
        replace(missing, 'a', 'b')                                 => (empty)
        replace(username, missing, 'b')                            => error: attribute "custom.out" = null: `replace` needs a non-empty search text
        substring(username, 0, 5)                                  => "Alice"
        substring(username, 6)                                     => "Smith"
        substring(accent, 2, 1)                                    => "ë"
        substring(username, 100)                                   => (empty)
        substring(username, '2', 3)                                => "ice"
        substring(username, name.given)                            => error: attribute "custom.out" = "Alice": `substring` start must be a whole number of characters, 0 or more
    "#]]
    .assert_eq(&table(&[
        "lower(username)",
        "upper(name.family)",
        "lower(accent)",
        "upper(accent)",
        "trim(email)",
        "lower(trim(email))",
        "lower(missing)",
        "upper(tags)",
        "replace(username, '.', '_')",
        "replace(username, 'x', 'y')",
        "replace(lower(username), 'alice', '')",
        "replace(missing, 'a', 'b')",
        "replace(username, missing, 'b')",
        "substring(username, 0, 5)",
        "substring(username, 6)",
        "substring(accent, 2, 1)",
        "substring(username, 100)",
        "substring(username, '2', 3)",
        "substring(username, name.given)",
    ]));
}

#[test]
fn choice_functions() {
    expect![[r#"
        coalesce(nickname, name.given)                             => "Alice"
        coalesce(missing, '  ', 'fallback')                        => "fallback"
        coalesce(tags.2, tags.0)                                   => "a"
        coalesce(missing, other)                                   => (empty)
        join(' ', name.given, missing, name.family)                => "Alice Smith"
        join(',', tags)                                            => "a,b"
        join('', name.given, tags)                                 => "Aliceab"
        join('-', missing)                                         => (empty)
        join(', ', obj)                                            => error: attribute "custom.out" = {"x":1}: `join` needs a text value but found an object; name a field inside it (`object.field`)
        switch(dept, 'ENG', 'Engineering', 'OPS', 'Operations', 'Other') => "Engineering"
        switch(dept, 'OPS', 'Operations', population.name)         => "Staff"
        switch(missing, '', 'no department', 'Other')              => "no department"
        switch(flag, 'true', 'admin', 'user')                      => "admin"
    "#]]
    .assert_eq(&table(&[
        "coalesce(nickname, name.given)",
        "coalesce(missing, '  ', 'fallback')",
        "coalesce(tags.2, tags.0)",
        "coalesce(missing, other)",
        "join(' ', name.given, missing, name.family)",
        "join(',', tags)",
        "join('', name.given, tags)",
        "join('-', missing)",
        "join(', ', obj)",
        "switch(dept, 'ENG', 'Engineering', 'OPS', 'Operations', 'Other')",
        "switch(dept, 'OPS', 'Operations', population.name)",
        "switch(missing, '', 'no department', 'Other')",
        "switch(flag, 'true', 'admin', 'user')",
    ]));
}

#[test]
fn e164_function() {
    expect![[r#"
        e164(primaryPhone)                                         => "+17345551212"
        e164('+1 734-555-1212')                                    => "+17345551212"
        e164('+44 20 7946 0958')                                   => "+442079460958"
        e164('020 7946 0958', 'GB')                                => "+442079460958"
        e164('020 7946 0958', region)                              => "+442079460958"
        e164('030 1234567', 'de')                                  => "+49301234567"
        e164('+17345551212 ext. 12')                               => "+17345551212"
        e164('+33 1 42 68 53 00')                                  => "+33142685300"
        e164('+39 06 6982 1234', 'JP')                             => "+390669821234"
        e164('tel:+55-11-98765-4321')                              => "+5511987654321"
        e164('1 (734) 555-1212')                                   => "+17345551212"
        e164(missing)                                              => (empty)
        e164('not a phone')                                        => error: attribute "custom.out" = "not a phone": `e164`: is not a phone number (read with default region US): write it in E.164 form such as +17345551212
        e164('555')                                                => error: attribute "custom.out" = "555": `e164`: is not a valid phone number (no such number range, read with default region US): write it in E.164 form such as +17345551212
        e164('+1 123 456 7890')                                    => error: attribute "custom.out" = "+1 123 456 7890": `e164`: is not a valid phone number (no such number range): write it in E.164 form such as +17345551212
    "#]]
    .assert_eq(&table(&[
        "e164(primaryPhone)",
        "e164('+1 734-555-1212')",
        "e164('+44 20 7946 0958')",
        "e164('020 7946 0958', 'GB')",
        "e164('020 7946 0958', region)",
        "e164('030 1234567', 'de')",
        "e164('+17345551212 ext. 12')",
        "e164('+33 1 42 68 53 00')",
        "e164('+39 06 6982 1234', 'JP')",
        "e164('tel:+55-11-98765-4321')",
        "e164('1 (734) 555-1212')",
        "e164(missing)",
        "e164('not a phone')",
        "e164('555')",
        "e164('+1 123 456 7890')",
    ]));
}
