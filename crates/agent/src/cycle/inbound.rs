//! Inbound records: Duo users mapped into desired PingOne users, PingOne users
//! into observed ones (only the target population is ever adopted).

use crate::AgentError;
use crate::config::Rule;

use crate::cycle::records::{Inputs, attr_pairs, engine_empty, engine_when, mapping_failure};
use crate::duo::DuoSnapshot;
use crate::pingone::PingOneUsers;
use reconcile_engine::{self as engine, Kind, NewDesired, NewObserved, Value, ValueRef};
use serde_json::Value as Json;
use std::collections::HashSet;

/// Read a dotted path (`name.given`, `email`, a custom attribute) from a PingOne user as text.
fn path_text(user: &Json, path: &str) -> Option<String> {
    let mut v = user;
    for part in path.split('.') {
        v = v.get(part)?;
    }
    match v {
        Json::String(s) if !s.is_empty() => Some(s.clone()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A Duo user as its scope filter sees it: the Admin API's fields, `groups`
/// as the list of its group names.
pub(crate) fn scope_json(u: &duo_client::User) -> serde_json::Value {
    let mut json = serde_json::to_value(u).unwrap_or_default();
    if let Some(obj) = json.as_object_mut() {
        let names = u.groups.iter().map(|g| g.name.clone().into()).collect();
        obj.insert("groups".into(), serde_json::Value::Array(names));
        obj.remove("phones");
    }
    json
}

/// Whether an inbound rule's `scope.filter` keeps the Duo user, and why;
/// `None` without a filter (every user is in scope).
pub(crate) fn scope_verdict(rule: &Rule, u: &duo_client::User) -> Option<mapping::scope::Verdict> {
    let f = rule.scope_filter()?;
    let json = scope_json(u);
    let v = f.evaluate(&mapping::scope::JsonSubject {
        json: &json,
        member_of: |_, _| false,
    });
    Some(mapping::scope::Verdict {
        included: v.included,
        because: format!("scope.filter: {}", v.because),
    })
}

/// Warns once per process and rule that a mapping target is not in
/// PingOne's User schema and is left out (`p1duo check` flags it too).
fn report_missing_once(rule: &str, target: &str) {
    static REPORTED: std::sync::Mutex<std::collections::BTreeSet<(String, String)>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let first = REPORTED
        .lock()
        .map(|mut r| r.insert((rule.to_owned(), target.to_owned())))
        .unwrap_or(true);
    if first {
        tracing::warn!(
            rule,
            target,
            "mapping target not in PingOne's User schema: PingOne would ignore it, so it is left out; add it as a custom attribute (Directory > User Attributes) or remove it from the mapping"
        );
    }
}

/// Build the engine inputs of an inbound rule.
pub fn build(
    rule: &Rule,
    duo: &DuoSnapshot,
    p1: &PingOneUsers,
    excluded_sources: &HashSet<String>,
    outbound_owned: &HashSet<String>,
    foreign: &crate::cycle::records::Foreign,
) -> Result<Inputs, AgentError> {
    // PingOne users an outbound rule provisions (or has in scope) are never written back:
    // skip the Duo users that carry their usernames.
    let owned_names: HashSet<String> = p1
        .users
        .iter()
        .filter(|u| outbound_owned.contains(&u.id))
        .map(|u| u.username.to_lowercase())
        .collect();
    let mut inp = Inputs::default();
    let cap = |_| {
        AgentError::Other(format!(
            "rule {:?}: the snapshot is too large for one rule",
            rule.name
        ))
    };
    let mut names: Vec<String> = Vec::new();
    for (target, spec) in &rule.mapping.spec().0 {
        if target == "username" || target == "enabled" {
            continue;
        }
        let key = target.strip_prefix("custom.").unwrap_or(target).to_owned();
        // PingOne ignores an attribute its schema lacks: written, it would
        // never be seen, and every cycle would write it again.
        let attr = key.split('.').next().unwrap_or(&key);
        if p1.schema.as_ref().is_some_and(|s| !s.contains(attr)) {
            report_missing_once(&rule.name, target);
            continue;
        }
        let (empty, when) = match spec {
            mapping::AttrSpec::Expr(_) => (mapping::EmptyPolicy::Keep, mapping::When::Always),
            mapping::AttrSpec::Full { empty, when, .. } => (*empty, *when),
        };
        inp.schema
            .define(&key, engine_empty(empty), engine_when(when));
        names.push(key);
    }
    for u in &duo.users {
        if excluded_sources.contains(&u.user_id) || owned_names.contains(&u.username.to_lowercase())
        {
            continue;
        }
        if scope_verdict(rule, u).is_some_and(|v| !v.included) {
            continue;
        }
        let json = serde_json::to_value(u).unwrap_or_default();
        match rule.mapping.apply(&json) {
            Err(errs) => {
                let what = format!("Duo user {:?} (rule {:?})", u.username, rule.name);
                let f = mapping_failure(Kind::User, &u.user_id, &u.username, &what, &errs);
                inp.desired.push_failure(f);
                inp.names.insert(u.user_id.clone(), u.username.clone());
            }
            Ok(rec) => {
                let key = rec.text("username").unwrap_or(&u.username).to_owned();
                let enabled = match rec.get("enabled").and_then(|a| a.value.as_ref()) {
                    Some(mapping::AttrValue::Bool(b)) => *b,
                    _ => true,
                };
                let attrs: Vec<(String, Option<Value>)> = names
                    .iter()
                    .map(|n| {
                        let v = rec.get(n).and_then(|a| a.value.as_ref()).map(|v| match v {
                            mapping::AttrValue::Text(s) => Value::Str(s.clone()),
                            mapping::AttrValue::Bool(b) => Value::Str(b.to_string()),
                        });
                        (n.clone(), v)
                    })
                    .collect();
                let pairs = attr_pairs(&inp.schema, &attrs);
                let refs: Vec<_> = pairs
                    .iter()
                    .map(|(a, v)| (*a, v.as_ref().map(Value::as_ref)))
                    .collect();
                inp.desired
                    .push(NewDesired {
                        kind: Kind::User,
                        source_id: &u.user_id,
                        key: &key,
                        attrs: &refs,
                        enabled,
                        phone: None,
                        fingerprint: rec.fingerprint(),
                    })
                    .map_err(cap)?;
                inp.attrs_json.insert(
                    (Kind::User, u.user_id.clone()),
                    crate::cycle::records::last_values(&rec),
                );
                inp.names.insert(u.user_id.clone(), key);
            }
        }
    }
    let ids: Vec<_> = names
        .iter()
        .filter_map(|n| inp.schema.get(n).map(|id| (id, n.clone())))
        .collect();
    for u in &p1.users {
        let json = serde_json::to_value(u).unwrap_or_default();
        let values: Vec<(engine::AttrId, Option<String>)> = ids
            .iter()
            .map(|(id, n)| (*id, path_text(&json, n)))
            .collect();
        let attrs: Vec<_> = values
            .iter()
            .map(|(id, v)| (*id, v.as_deref().map(ValueRef::Str)))
            .collect();
        inp.observed
            .push(NewObserved {
                kind: Kind::User,
                target_id: &u.id,
                key: &u.username,
                attrs: &attrs,
                enabled: u.enabled.unwrap_or(true),
                phones: &[],
                groups: &[],
                fingerprint: None,
            })
            .map_err(cap)?;
        // Adoption only in the target population, and never of a user an
        // outbound rule provisions or scopes; the rule's own links stay its own.
        if foreign.owner(&u.id).is_none() && !foreign.is_mine(&u.id) {
            let why = if u.population_id() != Some(p1.population_id.as_str()) {
                Some(
                    "is in another population than the rule's target population (inbound rules adopt only there)",
                )
            } else if outbound_owned.contains(&u.id) {
                Some("is provisioned or scoped by an outbound rule")
            } else {
                None
            };
            if let Some(why) = why {
                inp.observed
                    .guard_last(engine::Guard::Protected, why)
                    .map_err(cap)?;
            }
        }
        foreign.guard(&mut inp.observed, &u.id).map_err(cap)?;
    }
    Ok(inp)
}
