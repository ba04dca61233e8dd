//! Integration tests of the `mapping` crate through its public API only: snapshot tables
//! (expect-test), property tests (proptest) and the config shape.

mod compile_errors;
mod defaults;
mod functions;
mod limits;
mod props;
mod spec;
mod validation;

use mapping::{AttrError, AttrValue, Direction, MappedRecord, Mapping, MappingSpec};
use serde_json::Value;

/// Compile a table or panic with the readable errors (for tests whose tables must compile).
pub fn compile(direction: Direction, pairs: &[(&str, &str)]) -> Mapping {
    Mapping::compile(direction, &MappingSpec::from_pairs(pairs.iter().copied()))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A record as one line per attribute, plus the user type, role and fingerprint.
pub fn show_record(r: &MappedRecord) -> String {
    let mut out = String::new();
    for (k, a) in &r.attrs {
        let v = match &a.value {
            None => "(empty)".to_owned(),
            Some(AttrValue::Text(s)) => format!("{s:?}"),
            Some(AttrValue::Bool(b)) => b.to_string(),
        };
        out.push_str(&format!(
            "{k} = {v}  [empty={:?}, when={:?}]\n",
            a.empty, a.when
        ));
    }
    if let Some(t) = r.user_type {
        out.push_str(&format!("userType: {t}\n"));
    }
    if let Some(role) = &r.admin_role {
        out.push_str(&format!("adminRole: {}\n", role.as_str()));
    }
    out.push_str(&format!("fingerprint: {:016x}\n", r.fingerprint()));
    out
}

/// Errors as the engine will show them, prefixed with the user and rule.
pub fn show_errors(user: &str, errors: &[AttrError]) -> String {
    errors
        .iter()
        .map(|e| format!("user {user:?} rule \"r1\": {e}\n"))
        .collect()
}

/// Apply and show either the record or the errors.
pub fn show_apply(m: &Mapping, src: &Value) -> String {
    let user: String = src
        .get("username")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .chars()
        .take(12)
        .collect();
    match m.apply(src) {
        Ok(r) => show_record(&r),
        Err(e) => show_errors(&user, &e),
    }
}
