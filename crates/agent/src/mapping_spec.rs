//! The `[rules.mapping]` tables: checked when the config is loaded, compiled
//! by the `mapping` crate when a rule runs.

use crate::config::Direction;

/// Duo attributes an outbound mapping may set.
pub const OUTBOUND_TARGETS: &[&str] = &[
    "username",
    "email",
    "realname",
    "firstname",
    "lastname",
    "notes",
    "alias1",
    "alias2",
    "alias3",
    "alias4",
    "phones",
    "enabled",
    "status",
    "userType",
    "adminRole",
];

/// Report every problem of one rule's mapping through `problem(key, message)`.
pub fn check(
    direction: Direction,
    mapping: &[(String, toml::Value)],
    key: &str,
    problem: &mut dyn FnMut(String, String),
) {
    for (target, value) in mapping {
        let k = format!("{key}.{}", quote_key(target));
        if direction == Direction::Outbound && !OUTBOUND_TARGETS.contains(&target.as_str()) {
            problem(
                k.clone(),
                format!(
                    "{target:?} is not a Duo user attribute; expected one of {}",
                    OUTBOUND_TARGETS.join(", ")
                ),
            );
            continue;
        }
        match value {
            toml::Value::String(s) if s.trim().is_empty() => {
                problem(k, "expected an expression over the source user such as \"email\", got an empty string".into());
            }
            toml::Value::String(_) | toml::Value::Table(_) => {}
            other => problem(
                k,
                format!(
                    "expected an expression string such as \"email\", got a {}",
                    other.type_str()
                ),
            ),
        }
    }
}

fn quote_key(k: &str) -> String {
    if k.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_owned()
    } else {
        format!("{k:?}")
    }
}
