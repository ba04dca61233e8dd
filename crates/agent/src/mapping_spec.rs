//! The `[rules.mapping]` tables: read as `mapping`'s serde spec and compiled
//! when the config is loaded, so a bad expression is a config error (exit 2).

use crate::config::Direction;
use mapping::{Mapping, MappingSpec};

/// Compile one rule's mapping (the direction's default when the table is
/// absent); problems are reported through `problem(key, message)`.
pub fn compile(
    direction: Direction,
    table: Option<&toml::Table>,
    key: &str,
    options: &mapping::Options,
    problem: &mut dyn FnMut(String, String),
) -> Option<Mapping> {
    let md = match direction {
        Direction::Outbound => mapping::Direction::Outbound,
        Direction::Inbound => mapping::Direction::Inbound,
    };
    let spec = match table {
        None => Mapping::default_spec(md),
        Some(t) => match toml::Value::Table(t.clone()).try_into::<MappingSpec>() {
            Ok(s) => s,
            Err(_) => {
                // Find the entry that is not an expression or { expr, empty, when }.
                for (k, v) in t {
                    if toml::Value::try_into::<mapping::AttrSpec>(v.clone()).is_err() {
                        problem(
                            format!("{key}.{}", quote_key(k)),
                            "expected an expression string such as \"email\", or { expr = \"...\", empty = \"keep\"|\"clear\", when = \"always\"|\"on_create\" }".into(),
                        );
                    }
                }
                return None;
            }
        },
    };
    match Mapping::compile_with(md, &spec, options) {
        Ok(m) => Some(m),
        Err(errors) => {
            for e in errors.0 {
                let mut msg = e.message.clone();
                if let (Some(expr), Some(col)) = (&e.expr, e.column) {
                    msg = format!("{msg} (in {expr:?} at column {col})");
                }
                let at = if e.target == "(options)" {
                    format!("{key}_options")
                } else {
                    format!("{key}.{}", quote_key(&e.target))
                };
                problem(at, msg);
            }
            None
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
