//! JSON shapes of single resources (users, groups, populations, memberships)
//! with their HAL `_links`, and the `application/hal+json` response helper.

use crate::directory::{Directory, Group, Population, User};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// A JSON response with PingOne's content type.
pub(crate) fn hal(status: StatusCode, body: Value) -> Response {
    let mut res = (status, axum::Json(body)).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/hal+json;charset=UTF-8"),
    );
    res
}

fn href(s: String) -> Value {
    json!({ "href": s })
}

impl Directory {
    pub(crate) fn env_url(&self) -> String {
        format!("{}/environments/{}", self.api_base, self.env_id)
    }

    /// A user as PingOne returns it; `include` adds memberOfGroupIDs/Names.
    pub(crate) fn render_user(
        &self,
        u: &User,
        include: Option<&str>,
        expand_population: bool,
    ) -> Value {
        let base = format!("{}/users/{}", self.env_url(), u.id);
        let mut links = Map::new();
        links.insert("self".into(), href(base.clone()));
        for (rel, path) in [
            ("password", "password"),
            ("password.set", "password"),
            ("password.reset", "password"),
            ("password.check", "password"),
            ("password.recover", "password"),
            ("account.sendVerificationCode", "account"),
            ("linkedAccounts", "linkedAccounts"),
        ] {
            links.insert(rel.into(), href(format!("{base}/{path}")));
        }
        let mut v = Map::new();
        v.insert("_links".into(), Value::Object(links));
        v.insert("id".into(), json!(u.id));
        v.insert("environment".into(), json!({"id": self.env_id}));
        v.insert(
            "account".into(),
            json!({"canAuthenticate": u.enabled, "status": "OK"}),
        );
        v.insert("createdAt".into(), json!(u.created_at));
        v.insert("enabled".into(), json!(u.enabled));
        v.insert("identityProvider".into(), json!({"type": "PING_ONE"}));
        v.insert("lifecycle".into(), json!({"status": u.lifecycle}));
        v.insert("mfaEnabled".into(), json!(u.mfa_enabled));
        v.insert("population".into(), json!({"id": u.population_id}));
        v.insert("updatedAt".into(), json!(u.updated_at));
        v.insert("verifyStatus".into(), json!("NOT_INITIATED"));
        for (k, val) in &u.attrs {
            v.insert(k.clone(), val.clone());
        }
        if let Some(include) = include {
            let mut groups = self.memberships(&u.id);
            if self.rules.member_of_ids_direct {
                groups.retain(|_, t| *t == "DIRECT");
            }
            if include == "memberOfGroupIDs" {
                v.insert(
                    "memberOfGroupIDs".into(),
                    json!(groups.keys().collect::<Vec<_>>()),
                );
            } else {
                let names: Vec<&str> = groups
                    .keys()
                    .filter_map(|g| self.group(g).ok().map(|g| g.name.as_str()))
                    .collect();
                v.insert("memberOfGroupNames".into(), json!(names));
            }
        }
        if expand_population && let Ok(p) = self.population(&u.population_id) {
            v.insert(
                "_embedded".into(),
                json!({"population": self.render_population(p)}),
            );
        }
        Value::Object(v)
    }

    pub(crate) fn render_group(&self, g: &Group, total_counts: bool) -> Value {
        let mut v = Map::new();
        v.insert(
            "_links".into(),
            json!({"self": href(format!("{}/groups/{}", self.env_url(), g.id)), "environment": href(self.env_url())}),
        );
        v.insert("id".into(), json!(g.id));
        v.insert("environment".into(), json!({"id": self.env_id}));
        v.insert("name".into(), json!(g.name));
        if let Some(p) = &g.population_id {
            v.insert("population".into(), json!({"id": p}));
        }
        for (k, val) in &g.attrs {
            v.insert(k.clone(), val.clone());
        }
        v.insert(
            "directMemberCounts".into(),
            json!({"users": self.direct_users(&g.id), "groups": self.direct_children(&g.id)}),
        );
        if total_counts {
            v.insert(
                "totalMemberCounts".into(),
                json!({"users": self.total_users(&g.id)}),
            );
        }
        v.insert("createdAt".into(), json!(g.created_at));
        v.insert("updatedAt".into(), json!(g.updated_at));
        Value::Object(v)
    }

    pub(crate) fn render_population(&self, p: &Population) -> Value {
        let mut v = Map::new();
        v.insert(
            "_links".into(),
            json!({"self": href(format!("{}/populations/{}", self.env_url(), p.id)), "environment": href(self.env_url())}),
        );
        v.insert("id".into(), json!(p.id));
        v.insert("environment".into(), json!({"id": self.env_id}));
        v.insert("name".into(), json!(p.name));
        v.insert("default".into(), json!(p.is_default));
        for (k, val) in &p.attrs {
            v.insert(k.clone(), val.clone());
        }
        v.insert("userCount".into(), json!(self.user_count(&p.id)));
        v.insert("createdAt".into(), json!(p.created_at));
        v.insert("updatedAt".into(), json!(p.updated_at));
        Value::Object(v)
    }

    /// A user's membership in a group (`type` DIRECT or INDIRECT).
    pub(crate) fn render_membership(
        &self,
        user: &str,
        g: &Group,
        kind: &str,
        expand: bool,
    ) -> Value {
        let mut v = json!({
            "_links": {
                "self": href(format!("{}/users/{}/memberOfGroups/{}", self.env_url(), user, g.id)),
                "user": href(format!("{}/users/{}", self.env_url(), user)),
                "group": href(format!("{}/groups/{}", self.env_url(), g.id)),
                "environment": href(self.env_url()),
            },
            "id": g.id,
            "environment": {"id": self.env_id},
            "name": g.name,
            "type": kind,
        });
        if expand {
            v["_embedded"] = json!({"group": self.render_group(g, false)});
        }
        v
    }

    /// A group's nesting in a parent group.
    pub(crate) fn render_nesting(&self, child: &str, parent: &str, kind: &str) -> Value {
        json!({
            "_links": {
                "self": href(format!("{}/groups/{}/memberOfGroups/{}", self.env_url(), child, parent)),
                "group": href(format!("{}/groups/{}", self.env_url(), parent)),
            },
            "id": parent,
            "type": kind,
        })
    }
}
