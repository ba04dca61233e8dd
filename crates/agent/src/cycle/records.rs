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

/// Puts the planner's key clashes in people's words: the user's name, the
/// attribute that holds the key, and who already has it, instead of source
/// ids (the engine knows neither names nor attributes). Re-hashes the plan.
pub fn name_key_clashes(plan: &mut reconcile_engine::Plan, names: &HashMap<String, String>) {
    let mut changed = false;
    for p in &mut plan.problems {
        if p.code != reconcile_engine::ProblemCode::KeyTaken || !p.kind.is_account() {
            continue;
        }
        let attr = if p.kind == Kind::Admin {
            "email"
        } else {
            "username"
        };
        let who = |id: &str| names.get(id).map_or(id, String::as_str).to_owned();
        let name = who(&p.source_id);
        let taken_by = p
            .other_source
            .as_deref()
            .map(|other| format!("{} {:?}", p.kind.as_str(), who(other)))
            .unwrap_or_else(|| format!("another {}", p.kind.as_str()));
        p.message = format!(
            "{} {name:?} (rule {:?}): attribute {attr:?} = {:?}: already taken by {taken_by} ({attr}s compare ignoring case); give each {} its own {attr}",
            p.kind.as_str(),
            plan.rule,
            p.name,
            p.kind.as_str(),
        );
        changed = true;
    }
    if changed {
        plan.hash = plan.compute_hash();
    }
}

/// Target objects this rule must keep its hands off because another rule of
/// the same direction owns them (target id -> owning rule), and the rule's
/// own link targets.
#[derive(Debug, Default)]
pub struct Foreign {
    owners: HashMap<String, String>,
    mine: std::collections::HashSet<String>,
}

impl Foreign {
    /// Ownership for rule `me` of `direction`. Rules in configuration order
    /// come first, then rules only the database remembers (removed). A
    /// target linked by another rule is that rule's unless `me` links it too
    /// and comes first; it is never taken over by adoption.
    pub fn read(
        s: &state_store::Store,
        rules: &[(String, crate::config::Direction)],
        me: &str,
        direction: crate::config::Direction,
        mine: &[state_store::LinkHead],
    ) -> state_store::Result<Foreign> {
        let mut order: Vec<String> = rules
            .iter()
            .filter(|(_, d)| *d == direction)
            .map(|(n, _)| n.clone())
            .collect();
        for name in s.link_rules()? {
            if rules.iter().any(|(n, _)| *n == name) {
                continue;
            }
            let dir = super::state::memo(s, &name)?
                .map_or(crate::config::Direction::Outbound, |m| m.direction);
            if dir == direction {
                order.push(name);
            }
        }
        let me_pos = order.iter().position(|n| n == me).unwrap_or(usize::MAX);
        // A removed rule owns nothing against a configured one: its successor
        // (same users, new name) may adopt what it linked, and the removed
        // rule then only forgets those links.
        let configured = rules.iter().filter(|(_, d)| *d == direction).count();
        let mine: std::collections::HashSet<String> =
            mine.iter().map(|l| l.target_id.clone()).collect();
        let mut owners = HashMap::new();
        for (pos, other) in order.iter().enumerate() {
            if other == me || (pos >= configured && me_pos < configured) {
                continue;
            }
            for l in s.link_heads(other)? {
                if !mine.contains(&l.target_id) || pos < me_pos {
                    owners.entry(l.target_id).or_insert_with(|| other.clone());
                }
            }
        }
        Ok(Foreign { owners, mine })
    }
    /// The rule that owns this target object, when it is not this one.
    pub fn owner(&self, target_id: &str) -> Option<&str> {
        self.owners.get(target_id).map(String::as_str)
    }
    /// True when this rule links the target object.
    pub fn is_mine(&self, target_id: &str) -> bool {
        self.mine.contains(target_id)
    }
    /// Guard the object pushed last when another rule owns it.
    pub fn guard(
        &self,
        observed: &mut reconcile_engine::ObservedSet,
        target_id: &str,
    ) -> Result<(), reconcile_engine::CapacityError> {
        match self.owner(target_id) {
            Some(rule) => observed.guard_last(
                reconcile_engine::Guard::OwnedElsewhere,
                &format!(
                    "is owned by rule {rule:?} (one rule per object: the first in the configuration, or the one that linked it first)"
                ),
            ),
            None => Ok(()),
        }
    }
}

/// A source object whose mapping failed, as the engine's `Failure`: the
/// message names the object (`what`) and every attribute error; the cause
/// leaves the object's values out.
pub fn mapping_failure(
    kind: reconcile_engine::Kind,
    source_id: &str,
    name: &str,
    what: &str,
    errs: &[mapping::AttrError],
) -> reconcile_engine::Failure {
    let msg = errs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    reconcile_engine::Failure {
        kind,
        source_id: source_id.to_owned(),
        name: name.to_owned(),
        message: format!("{what}: {msg}"),
        cause: cause_of(errs),
        attribute: errs.first().map(|e| e.attribute.clone()),
    }
}

/// A mapping failure's cause without the object's values: the attributes
/// and the rules they broke, so many failures of one cause read as one.
pub fn cause_of(errs: &[mapping::AttrError]) -> String {
    errs.iter()
        .map(|e| format!("attribute {:?}: {}", e.attribute, e.rule))
        .collect::<Vec<_>>()
        .join("; ")
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
