//! The engine's `Target` over PingOne (users in one population, as PingOne's
//! own Duo connection provisions).

use pingone_client::{ObjectRef, PingOneClient, UserFields};
use reconcile_engine::{AttrChange, ErrorClass, Found, Kind, TResult, Target, TargetError, Value};
use serde_json::{Map, Value as Json};

/// The engine's `Target` over PingOne (users in one population).
pub struct PingOneTarget {
    pub p1: PingOneClient,
    pub population_id: String,
}

fn terr(what: String, e: pingone_client::Error) -> TargetError {
    crate::error::target_error(what, e)
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
        // `enabled` is read-only on create: PingOne creates the user enabled,
        // and a disabled one is disabled right after with PUT /enabled.
        f.enabled = None;
        let u = self
            .p1
            .create_user(&f)
            .await
            .map_err(|e| terr(format!("creating PingOne user {key:?}"), e))?;
        if u.enabled.unwrap_or(true) != enabled {
            self.p1
                .set_user_enabled(&u.id, enabled)
                .await
                .map_err(|e| {
                    terr(
                        format!(
                            "disabling PingOne user {key:?} ({}) right after creating it",
                            u.id
                        ),
                        e,
                    )
                })?;
        }
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
