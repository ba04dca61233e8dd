//! Hostile inputs: huge strings, amplifying functions and odd source shapes give bounded
//! errors, never a panic or an unbounded allocation.

use mapping::{Direction, Mapping};
use serde_json::json;

use crate::compile;

#[test]
fn a_huge_value_is_an_error_with_a_short_message() {
    let huge = "é".repeat(2_000_000);
    let errors = Mapping::default_outbound()
        .apply(&json!({"username": huge, "email": huge, "primaryPhone": huge}))
        .unwrap_err();
    let attrs: Vec<&str> = errors.iter().map(|e| e.attribute.as_str()).collect();
    assert_eq!(attrs, ["email", "phones", "username"]);
    for e in &errors {
        assert!(e.to_string().len() < 400, "{e}");
    }
}

#[test]
fn amplifying_functions_stop_at_a_megabyte() {
    let m = compile(
        Direction::Outbound,
        &[
            ("username", "'u'"),
            (
                "notes",
                "replace(bio, 'a', '${x}${x}${x}${x}${x}${x}${x}${x}')",
            ),
            ("realname", "join(bio, list)"),
        ],
    );
    let src = json!({
        "bio": "a".repeat(600_000),
        "x": "0123456789",
        "list": vec!["word"; 10_000],
    });
    let errors = m.apply(&src).unwrap_err();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors
            .iter()
            .all(|e| e.rule.contains("longer than 1048576 bytes")),
        "{errors:?}"
    );
}

#[test]
fn any_source_shape_is_read_without_failing() {
    let m = Mapping::default_outbound();
    for src in [
        json!(null),
        json!(42),
        json!("alice"),
        json!([1, 2]),
        json!({"username": {"a": 1}}),
    ] {
        let errors = m.apply(&src).unwrap_err();
        assert!(
            errors.iter().any(|e| e.attribute == "username"),
            "{errors:?}"
        );
    }
}

#[test]
fn source_paths_lists_what_the_mapping_reads() {
    let m = compile(
        Direction::Outbound,
        &[
            ("username", "lower(username)"),
            ("realname", "\"${name.given} ${name.family}\""),
            ("notes", "switch(population.name, 'A', title, 'x')"),
        ],
    );
    let paths: Vec<String> = m.source_paths().into_iter().collect();
    assert_eq!(
        paths,
        [
            "name.family",
            "name.given",
            "population.name",
            "title",
            "username"
        ]
    );
}
