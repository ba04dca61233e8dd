//! Inbound (Duo → PingOne): Duo users become PingOne users in the rule's target
//! population; the engine `Target` over the PingOne client (users only, as in
//! PingOne's own Duo connection).

use crate::AgentError;
use crate::config::Rule;
use crate::outbound::DuoSnapshot;
use crate::records::{Inputs, attr_pairs, engine_empty, engine_when};
use futures::TryStreamExt;
use pingone_client::{ObjectRef, PingOneClient, UserFields};
use reconcile_engine::{
    self as engine, AttrChange, ErrorClass, Failure, Found, Kind, NewDesired, NewObserved, TResult,
    Target, TargetError, Value, ValueRef,
};
use serde_json::{Map, Value as Json};
use std::collections::HashSet;

/// What PingOne has: every user (usernames are unique per environment) and
/// the id of the rule's target population.
#[derive(Debug, Default)]
pub struct PingOneUsers {
    pub users: Vec<pingone_client::User>,
    pub population_id: String,
}

/// Read PingOne's users and resolve the target population.
pub async fn read_pingone(p1: &PingOneClient, rule: &Rule) -> Result<PingOneUsers, AgentError> {
    let want = rule.target_population.clone().unwrap_or_default();
    let pops: Vec<_> = p1
        .list_populations()
        .try_collect::<Vec<_>>()
        .await
        .map_err(|e| AgentError::PingOne(format!("listing populations: {e}")))?
        .into_iter()
        .flat_map(|p| p.items)
        .collect();
    let Some(pop) = pops.iter().find(|p| p.id == want || p.name == want) else {
        return Err(AgentError::PingOne(format!(
            "population {want:?} named in rule {:?} target.population does not exist in the PingOne environment; fix the name or create it",
            rule.name
        )));
    };
    let users: Vec<_> = p1
        .list_users(&Default::default())
        .try_collect::<Vec<_>>()
        .await
        .map_err(|e| AgentError::PingOne(format!("listing users: {e}")))?
        .into_iter()
        .flat_map(|p| p.items)
        .collect();
    Ok(PingOneUsers {
        users,
        population_id: pop.id.clone(),
    })
}

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

/// Build the engine inputs of an inbound rule.
pub fn build(
    rule: &Rule,
    duo: &DuoSnapshot,
    p1: &PingOneUsers,
    excluded_sources: &HashSet<String>,
    outbound_owned: &HashSet<String>,
    foreign: &crate::records::Foreign,
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
        let json = serde_json::to_value(u).unwrap_or_default();
        match rule.mapping.apply(&json) {
            Err(errs) => {
                let msg = errs
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                inp.desired.push_failure(Failure {
                    kind: Kind::User,
                    source_id: u.user_id.clone(),
                    name: u.username.clone(),
                    message: format!("Duo user {:?} (rule {:?}): {msg}", u.username, rule.name),
                    cause: crate::records::cause_of(&errs),
                });
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
                    crate::records::last_values(&rec),
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

/// The engine's `Target` over PingOne (users in one population).
pub struct PingOneTarget {
    pub p1: PingOneClient,
    pub population_id: String,
}

fn terr(what: String, e: pingone_client::Error) -> TargetError {
    let class = if e.is_outcome_unknown() {
        ErrorClass::OutcomeUnknown
    } else if e.is_transient() {
        ErrorClass::Transient
    } else {
        ErrorClass::Permanent
    };
    TargetError {
        class,
        message: format!("{what}: {e}"),
    }
}

fn unsupported(what: &str) -> TargetError {
    TargetError {
        class: ErrorClass::Permanent,
        message: format!(
            "{what}: inbound rules provision users only (as PingOne's Duo connection)"
        ),
    }
}

/// Build a PingOne user body from dotted attribute paths; `None` clears (null).
fn fields(changes: &[AttrChange], name_base: Option<&Json>) -> Result<UserFields, TargetError> {
    let mut root = Map::new();
    if let Some(Json::Object(name)) = name_base
        && changes.iter().any(|c| c.attr.starts_with("name."))
    {
        root.insert("name".into(), Json::Object(name.clone()));
    }
    for c in changes {
        let v = match &c.after {
            Some(Value::Str(s)) => Json::String(s.clone()),
            Some(Value::Bool(b)) => Json::Bool(*b),
            Some(Value::List(l)) => Json::Array(l.iter().cloned().map(Json::String).collect()),
            None => Json::Null,
        };
        let mut parts: Vec<&str> = c.attr.split('.').collect();
        let last = parts.pop().unwrap_or_default();
        let mut obj = &mut root;
        for p in parts {
            let slot = obj
                .entry(p.to_owned())
                .or_insert_with(|| Json::Object(Map::new()));
            if !slot.is_object() {
                *slot = Json::Object(Map::new());
            }
            obj = slot.as_object_mut().expect("just made an object");
        }
        obj.insert(last.to_owned(), v);
    }
    serde_json::from_value(Json::Object(root)).map_err(|e| TargetError {
        class: ErrorClass::Permanent,
        message: format!(
            "building the PingOne user body: {e}; check the inbound mapping's target attributes"
        ),
    })
}

impl Target for PingOneTarget {
    async fn create(
        &self,
        kind: Kind,
        key: &str,
        attrs: &[AttrChange],
        enabled: bool,
    ) -> TResult<String> {
        if kind != Kind::User {
            return Err(unsupported("creating a PingOne group"));
        }
        let mut f = fields(attrs, None)?;
        f.username = Some(key.to_owned());
        f.population = Some(ObjectRef::new(self.population_id.clone()));
        f.enabled = Some(enabled);
        let u = self
            .p1
            .create_user(&f)
            .await
            .map_err(|e| terr(format!("creating PingOne user {key:?}"), e))?;
        Ok(u.id)
    }

    async fn update(&self, kind: Kind, id: &str, changes: &[AttrChange]) -> TResult<()> {
        if kind != Kind::User {
            return Err(unsupported("updating a PingOne group"));
        }
        // PATCH replaces `name` whole: start from the current name parts.
        let base = if changes.iter().any(|c| c.attr.starts_with("name.")) {
            let u = self
                .p1
                .get_user(id)
                .await
                .map_err(|e| terr(format!("reading PingOne user {id}"), e))?;
            u.name.map(|n| serde_json::to_value(n).unwrap_or_default())
        } else {
            None
        };
        let f = fields(changes, base.as_ref())?;
        self.p1
            .update_user(id, &f)
            .await
            .map_err(|e| terr(format!("updating PingOne user {id}"), e))?;
        Ok(())
    }

    async fn rename(&self, kind: Kind, id: &str, new_key: &str) -> TResult<()> {
        if kind != Kind::User {
            return Err(unsupported("renaming a PingOne group"));
        }
        let f = UserFields {
            username: Some(new_key.to_owned()),
            ..UserFields::default()
        };
        self.p1
            .update_user(id, &f)
            .await
            .map_err(|e| terr(format!("renaming PingOne user {id} to {new_key:?}"), e))?;
        Ok(())
    }

    async fn set_enabled(&self, kind: Kind, id: &str, enabled: bool) -> TResult<()> {
        if kind != Kind::User {
            return Err(unsupported("disabling a PingOne group"));
        }
        self.p1
            .set_user_enabled(id, enabled)
            .await
            .map_err(|e| terr(format!("setting enabled={enabled} on PingOne user {id}"), e))?;
        Ok(())
    }

    async fn delete(&self, kind: Kind, id: &str) -> TResult<()> {
        if kind != Kind::User {
            return Err(unsupported("deleting a PingOne group"));
        }
        match self.p1.delete_user(id).await {
            Err(e) if e.is_not_found() => Ok(()),
            r => r.map_err(|e| terr(format!("deleting PingOne user {id}"), e)),
        }
    }

    async fn add_member(&self, _: &str, _: Kind, _: &str) -> TResult<()> {
        Err(unsupported("group membership in PingOne"))
    }
    async fn remove_member(&self, _: &str, _: Kind, _: &str) -> TResult<()> {
        Err(unsupported("group membership in PingOne"))
    }
    async fn find_phone(&self, _: &str) -> TResult<Option<String>> {
        Err(unsupported("phones in PingOne"))
    }
    async fn create_phone(&self, _: &str) -> TResult<String> {
        Err(unsupported("phones in PingOne"))
    }
    async fn attach_phone(&self, _: Kind, _: &str, _: &str) -> TResult<()> {
        Err(unsupported("phones in PingOne"))
    }
    async fn detach_phone(&self, _: Kind, _: &str, _: &str) -> TResult<()> {
        Err(unsupported("phones in PingOne"))
    }
    async fn delete_phone(&self, _: &str) -> TResult<()> {
        Err(unsupported("phones in PingOne"))
    }

    async fn find_by_key(&self, kind: Kind, key: &str) -> TResult<Option<Found>> {
        if kind != Kind::User {
            return Ok(None);
        }
        let u = self
            .p1
            .find_user_by_username(key)
            .await
            .map_err(|e| terr(format!("looking up PingOne user {key:?}"), e))?;
        Ok(u.map(|u| Found {
            target_id: u.id,
            key: u.username,
        }))
    }
}
