//! The raw, serde-readable form of a mapping (what the agent's TOML config embeds) and the
//! compile options.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A raw mapping table: `target = "expression"` or
/// `target = { expr = "...", empty = "keep"|"clear", when = "always"|"on_create" }`.
///
/// Compile it with [`crate::Mapping::compile`]; targets are kept in name order so errors
/// and records are deterministic.
///
/// Nested tables flatten to dotted targets, so TOML's dotted keys work unquoted:
/// `name.given = "firstname"` is the target `name.given`. A table holding `expr`, `empty` or
/// `when` is one entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct MappingSpec(pub BTreeMap<String, AttrSpec>);

impl<'de> Deserialize<'de> for MappingSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = BTreeMap::<String, serde_json::Value>::deserialize(d)?;
        let mut out = BTreeMap::new();
        for (key, value) in raw {
            flatten(key, value, &mut out).map_err(serde::de::Error::custom)?;
        }
        Ok(MappingSpec(out))
    }
}

/// The table form of an entry, read strictly so a typo names the field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FullEntry {
    expr: String,
    #[serde(default)]
    empty: EmptyPolicy,
    #[serde(default)]
    when: When,
}

fn flatten(
    key: String,
    value: serde_json::Value,
    out: &mut BTreeMap<String, AttrSpec>,
) -> Result<(), String> {
    use serde_json::Value;
    let entry = match value {
        Value::String(expr) => AttrSpec::Expr(expr),
        // A policy key marks an entry too, so a forgotten `expr` is named rather than
        // read as a nested target.
        Value::Object(m) if ["expr", "empty", "when"].iter().any(|k| m.contains_key(*k)) => {
            let full: FullEntry = serde_json::from_value(Value::Object(m))
                .map_err(|e| format!("mapping target \"{key}\": {e}"))?;
            AttrSpec::Full {
                expr: full.expr,
                empty: full.empty,
                when: full.when,
            }
        }
        Value::Object(m) if !m.is_empty() => {
            for (sub, v) in m {
                flatten(format!("{key}.{sub}"), v, out)?;
            }
            return Ok(());
        }
        other => {
            let found = match other {
                Value::Object(_) => "an empty table".to_owned(),
                v => format!("`{v}`"),
            };
            return Err(format!(
                "mapping target \"{key}\": expected an expression string or a table {{ expr = \"...\", empty = \"keep\"|\"clear\", when = \"always\"|\"on_create\" }}, found {found}"
            ));
        }
    };
    if out.insert(key.clone(), entry).is_some() {
        return Err(format!(
            "mapping target \"{key}\" is given twice (once quoted, once as a dotted key or table): keep one"
        ));
    }
    Ok(())
}

impl MappingSpec {
    /// Build a spec from `(target, expression)` pairs with the default policies.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(t, e)| (t.to_owned(), AttrSpec::Expr(e.to_owned())))
                .collect(),
        )
    }
}

/// One entry of a [`MappingSpec`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttrSpec {
    /// Just the expression; `empty = keep`, `when = always`.
    Expr(String),
    /// The expression with its policies.
    Full {
        /// The expression.
        expr: String,
        /// What an empty value does to the target.
        #[serde(default)]
        empty: EmptyPolicy,
        /// When the attribute is written.
        #[serde(default)]
        when: When,
    },
}

impl AttrSpec {
    /// The expression text.
    pub fn expr(&self) -> &str {
        match self {
            AttrSpec::Expr(e) | AttrSpec::Full { expr: e, .. } => e,
        }
    }
    pub(crate) fn policies(&self) -> (EmptyPolicy, When) {
        match self {
            AttrSpec::Expr(_) => (EmptyPolicy::default(), When::default()),
            AttrSpec::Full { empty, when, .. } => (*empty, *when),
        }
    }
}

/// What an empty source value (missing, null, blank text, empty list) does to the target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmptyPolicy {
    /// Leave the target's value as it is (PingOne's own connection: "can't be cleared").
    #[default]
    Keep,
    /// Clear the target's value.
    Clear,
}

/// When a mapped attribute is written to the target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    /// On create and on every update.
    #[default]
    Always,
    /// Only when the target object is created.
    OnCreate,
}

/// Options that apply to a whole mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Options {
    /// ISO 3166 region used for phone numbers written without a `+country` prefix
    /// (the `phones` target and `e164(value)` without a region). Default `US`, as Duo does.
    pub default_region: String,
    /// Accept `Owner` as a mapped `adminRole`. Off by default: Owner can only be given on purpose.
    pub allow_owner: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            default_region: "US".to_owned(),
            allow_owner: false,
        }
    }
}
