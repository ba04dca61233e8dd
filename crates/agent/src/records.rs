//! The neutral inputs of one rule's plan, shared by both directions, and small
//! conversions between `mapping`'s and the engine's policy types.

use reconcile_engine::{
    AttrId, DesiredSet, EmptyPolicy, Kind, LinkSet, ObservedSet, PendingIntent, Schema, Value,
    WritePolicy,
};
use std::collections::HashMap;

/// Everything the planner needs for one rule, plus what the journal and the
/// reports need to name objects.
#[derive(Default)]
pub struct Inputs {
    pub schema: Schema,
    pub desired: DesiredSet,
    pub observed: ObservedSet,
    pub links: LinkSet,
    pub pending: Vec<PendingIntent>,
    /// Source id → the name people know (username, group name).
    pub names: HashMap<String, String>,
    /// Mapped values per (kind, source id) as JSON text, stored with links as
    /// "last synced values"; its keys are the objects the source wants.
    pub attrs_json: HashMap<(Kind, String), String>,
}

/// A mapped record's values as stored with a link ("last synced values"):
/// attribute → value, `null` where the source was empty; compact JSON text,
/// a tenth of the memory of a JSON value for every user in scope.
pub fn last_values(rec: &mapping::MappedRecord) -> String {
    let map: serde_json::Map<String, serde_json::Value> = rec
        .attrs
        .iter()
        .map(|(name, a)| {
            let v = serde_json::to_value(&a.value).unwrap_or(serde_json::Value::Null);
            (name.clone(), v)
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// The engine's empty policy for a mapping's.
pub fn engine_empty(e: mapping::EmptyPolicy) -> EmptyPolicy {
    match e {
        mapping::EmptyPolicy::Keep => EmptyPolicy::Keep,
        mapping::EmptyPolicy::Clear => EmptyPolicy::Clear,
    }
}

/// The engine's write policy for a mapping's.
pub fn engine_when(w: mapping::When) -> WritePolicy {
    match w {
        mapping::When::Always => WritePolicy::Always,
        mapping::When::OnCreate => WritePolicy::OnCreate,
    }
}

/// Resolve attribute names to schema ids (unknown names are dropped).
pub fn attr_pairs(
    schema: &Schema,
    attrs: &[(String, Option<Value>)],
) -> Vec<(AttrId, Option<Value>)> {
    attrs
        .iter()
        .filter_map(|(n, v)| schema.get(n).map(|id| (id, v.clone())))
        .collect()
}
