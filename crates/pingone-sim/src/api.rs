//! The `/v1/environments/{envId}/...` routes: users (with `/enabled`,
//! `/population`, `/memberOfGroups`), groups (with nesting), populations and
//! webhook subscriptions.

use crate::error::{Detail, SimError};
use crate::listing::{self, ListQuery};
use crate::render::hal;
use crate::server::{Shared, json_body};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::Arc;

type S = State<Arc<Shared>>;
type Q = Result<Query<Vec<(String, String)>>, QueryRejection>;
type R = Result<Response, SimError>;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    let e = "/v1/environments/{envId}";
    Router::new()
        .route(e, get(environment))
        .route(&format!("{e}/users"), get(users_list).post(user_create))
        .route(
            &format!("{e}/users/{{userId}}"),
            get(user_get)
                .put(user_put)
                .patch(user_patch)
                .delete(user_delete),
        )
        .route(
            &format!("{e}/users/{{userId}}/enabled"),
            get(enabled_get).put(enabled_put),
        )
        .route(
            &format!("{e}/users/{{userId}}/population"),
            get(population_of_user).put(population_move),
        )
        .route(
            &format!("{e}/users/{{userId}}/memberOfGroups"),
            get(user_groups).post(user_group_add),
        )
        .route(
            &format!("{e}/users/{{userId}}/memberOfGroups/{{groupId}}"),
            get(user_group_get).delete(user_group_remove),
        )
        .route(&format!("{e}/groups"), get(groups_list).post(group_create))
        .route(
            &format!("{e}/groups/{{groupId}}"),
            get(group_get).put(group_put).delete(group_delete),
        )
        .route(
            &format!("{e}/groups/{{groupId}}/memberOfGroups"),
            get(group_parents).post(group_nest),
        )
        .route(
            &format!("{e}/groups/{{groupId}}/memberOfGroups/{{parentId}}"),
            get(group_parent_get).delete(group_unnest),
        )
        .route(
            &format!("{e}/populations"),
            get(populations_list).post(population_create),
        )
        .route(
            &format!("{e}/populations/{{populationId}}"),
            get(population_get)
                .put(population_put)
                .delete(population_delete),
        )
        .route(
            &format!("{e}/subscriptions"),
            get(subscriptions_list).post(subscription_create),
        )
        .route(&format!("{e}/schemas"), get(schemas_list))
        .route(
            &format!("{e}/schemas/{{schemaId}}/attributes"),
            get(schema_attributes),
        )
        .route(
            &format!("{e}/subscriptions/{{subscriptionId}}"),
            get(subscription_get)
                .put(subscription_put)
                .delete(subscription_delete),
        )
}

fn query(uri: &Uri, q: Q) -> Result<ListQuery, SimError> {
    let Query(pairs) =
        q.map_err(|e| SimError::bad_request(format!("The query string is malformed: {e}.")))?;
    Ok(ListQuery {
        path: uri.path().to_string(),
        raw: uri.query().map(str::to_string),
        pairs,
    })
}

fn ok(v: Value) -> R {
    Ok(hal(StatusCode::OK, v))
}

fn created(v: Value) -> R {
    let mut res = hal(StatusCode::CREATED, v.clone());
    if let Some(h) = v["_links"]["self"]["href"]
        .as_str()
        .and_then(|h| h.parse().ok())
    {
        res.headers_mut().insert(header::LOCATION, h);
    }
    Ok(res)
}

fn no_content() -> R {
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn environment(State(s): S) -> R {
    let d = s.dir();
    ok(json!({
        "_links": {"self": {"href": d.env_url()}},
        "id": d.env_id,
        "name": "pingone-sim",
        "region": "NA",
        "type": "SANDBOX",
    }))
}

// ---- users ----

async fn users_list(State(s): S, uri: Uri, q: Q) -> R {
    let q = query(&uri, q)?;
    ok(listing::users(&s.dir(), &q)?)
}

async fn user_create(State(s): S, headers: HeaderMap, body: Bytes) -> R {
    let body = json_body(&headers, &body)?;
    let import = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/vnd.pingidentity.user.import+json"));
    let v = s.mutate(|d| {
        let id = d.create_user(&body, import)?;
        Ok::<_, SimError>(d.render_user(d.user(&id)?, None, false))
    })?;
    created(v)
}

async fn user_get(State(s): S, Path((_, id)): Path<(String, String)>, uri: Uri, q: Q) -> R {
    let q = query(&uri, q)?;
    let include = match q.get("include") {
        None | Some("") => None,
        Some(i @ ("memberOfGroupIDs" | "memberOfGroupNames")) => Some(i),
        Some(other) => {
            return Err(SimError::invalid_parameter(
                "include",
                format!("include takes memberOfGroupIDs or memberOfGroupNames, not {other:?}"),
            ));
        }
    };
    let expand = match q.get("expand") {
        None | Some("") => false,
        Some("population") => true,
        Some(other) => {
            return Err(SimError::invalid_parameter(
                "expand",
                format!("users can only expand population, not {other:?}"),
            ));
        }
    };
    let d = s.dir();
    ok(d.render_user(d.user(&id)?, include, expand))
}

async fn user_put(
    State(s): S,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> R {
    let body = json_body(&headers, &body)?;
    ok(s.mutate(|d| {
        d.replace_user(&id, &body)?;
        Ok::<_, SimError>(d.render_user(d.user(&id)?, None, false))
    })?)
}

async fn user_patch(
    State(s): S,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> R {
    let body = json_body(&headers, &body)?;
    ok(s.mutate(|d| {
        d.patch_user(&id, &body)?;
        Ok::<_, SimError>(d.render_user(d.user(&id)?, None, false))
    })?)
}

async fn user_delete(State(s): S, Path((_, id)): Path<(String, String)>) -> R {
    s.mutate(|d| d.delete_user(&id))?;
    no_content()
}

fn enabled_body(s: &Shared, id: &str) -> Result<Value, SimError> {
    let d = s.dir();
    let u = d.user(id)?;
    let user = format!("{}/users/{}", d.env_url(), id);
    Ok(
        json!({"_links": {"self": {"href": format!("{user}/enabled")}, "user": {"href": user}}, "enabled": u.enabled}),
    )
}

async fn enabled_get(State(s): S, Path((_, id)): Path<(String, String)>) -> R {
    ok(enabled_body(&s, &id)?)
}

async fn enabled_put(
    State(s): S,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> R {
    let body = json_body(&headers, &body)?;
    let enabled = match body.get("enabled") {
        Some(Value::Bool(b)) => *b,
        None | Some(Value::Null) => {
            return Err(SimError::invalid(vec![Detail::new(
                "REQUIRED_VALUE",
                "enabled",
                "enabled is required",
            )]));
        }
        Some(_) => {
            return Err(SimError::invalid(vec![Detail::new(
                "INVALID_VALUE",
                "enabled",
                "enabled must be true or false",
            )]));
        }
    };
    s.mutate(|d| d.set_enabled(&id, enabled))?;
    ok(enabled_body(&s, &id)?)
}

fn user_population_body(s: &Shared, id: &str) -> Result<Value, SimError> {
    let d = s.dir();
    let u = d.user(id)?;
    let user = format!("{}/users/{}", d.env_url(), id);
    Ok(json!({
        "_links": {
            "self": {"href": format!("{user}/population")},
            "user": {"href": user},
            "population": {"href": format!("{}/populations/{}", d.env_url(), u.population_id)},
        },
        "id": u.population_id,
    }))
}

async fn population_of_user(State(s): S, Path((_, id)): Path<(String, String)>) -> R {
    ok(user_population_body(&s, &id)?)
}

async fn population_move(
    State(s): S,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> R {
    let body = json_body(&headers, &body)?;
    let pop = match body.get("id") {
        Some(Value::String(p)) => p.clone(),
        _ => {
            return Err(SimError::invalid(vec![Detail::new(
                "REQUIRED_VALUE",
                "id",
                "id (the population id) is required",
            )]));
        }
    };
    s.mutate(|d| d.set_population(&id, &pop))?;
    ok(user_population_body(&s, &id)?)
}

async fn user_groups(State(s): S, Path((_, id)): Path<(String, String)>, uri: Uri, q: Q) -> R {
    let q = query(&uri, q)?;
    ok(listing::user_memberships(&s.dir(), &id, &q)?)
}

async fn user_group_add(
    State(s): S,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> R {
    let body = json_body(&headers, &body)?;
    let v = s.mutate(|d| {
        let gid = d.add_member_body(&id, &body)?;
        Ok::<_, SimError>(d.render_membership(&id, d.group(&gid)?, "DIRECT", false))
    })?;
    created(v)
}

async fn user_group_get(
    State(s): S,
    Path((_, id, gid)): Path<(String, String, String)>,
    uri: Uri,
    q: Q,
) -> R {
    let q = query(&uri, q)?;
    let expand = listing::expand_group(&q)?;
    let d = s.dir();
    d.user(&id)?;
    let g = d.group(&gid)?;
    match d.memberships(&id).get(&gid) {
        Some(kind) => ok(d.render_membership(&id, g, kind, expand)),
        None => Err(SimError::not_found("group membership", &gid)),
    }
}

async fn user_group_remove(State(s): S, Path((_, id, gid)): Path<(String, String, String)>) -> R {
    s.mutate(|d| d.remove_member(&id, &gid))?;
    no_content()
}

// ---- groups ----

async fn groups_list(State(s): S, uri: Uri, q: Q) -> R {
    let q = query(&uri, q)?;
    ok(listing::groups(&s.dir(), &q)?)
}

async fn group_create(State(s): S, headers: HeaderMap, body: Bytes) -> R {
    let body = json_body(&headers, &body)?;
    let v = s.mutate(|d| {
        let id = d.create_group(&body)?;
        Ok::<_, SimError>(d.render_group(d.group(&id)?, false))
    })?;
    created(v)
}

async fn group_get(State(s): S, Path((_, id)): Path<(String, String)>, uri: Uri, q: Q) -> R {
    let q = query(&uri, q)?;
    let total = match q.get("include") {
        None | Some("") => false,
        Some("totalMemberCounts") => true,
        Some(other) => {
            return Err(SimError::invalid_parameter(
                "include",
                format!("groups can include totalMemberCounts, not {other:?}"),
            ));
        }
    };
    let d = s.dir();
    ok(d.render_group(d.group(&id)?, total))
}

async fn group_put(
    State(s): S,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> R {
    let body = json_body(&headers, &body)?;
    ok(s.mutate(|d| {
        d.replace_group(&id, &body)?;
        Ok::<_, SimError>(d.render_group(d.group(&id)?, false))
    })?)
}

async fn group_delete(State(s): S, Path((_, id)): Path<(String, String)>) -> R {
    s.mutate(|d| d.delete_group(&id))?;
    no_content()
}

async fn group_parents(State(s): S, Path((_, id)): Path<(String, String)>, uri: Uri, q: Q) -> R {
    let q = query(&uri, q)?;
    ok(listing::group_parents(&s.dir(), &id, &q)?)
}

async fn group_nest(
    State(s): S,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> R {
    let body = json_body(&headers, &body)?;
    let v = s.mutate(|d| {
        let parent = d.nest_body(&id, &body)?;
        Ok::<_, SimError>(d.render_nesting(&id, &parent, "DIRECT"))
    })?;
    created(v)
}

async fn group_parent_get(State(s): S, Path((_, id, parent)): Path<(String, String, String)>) -> R {
    let d = s.dir();
    d.group(&id)?;
    match d.group_parents(&id).get(&parent) {
        Some(kind) => ok(d.render_nesting(&id, &parent, kind)),
        None => Err(SimError::not_found("group nesting", &parent)),
    }
}

async fn group_unnest(State(s): S, Path((_, id, parent)): Path<(String, String, String)>) -> R {
    s.mutate(|d| d.unnest(&id, &parent))?;
    no_content()
}

// ---- populations ----

async fn populations_list(State(s): S, uri: Uri, q: Q) -> R {
    let q = query(&uri, q)?;
    ok(listing::populations(&s.dir(), &q)?)
}

async fn population_create(State(s): S, headers: HeaderMap, body: Bytes) -> R {
    let body = json_body(&headers, &body)?;
    let v = s.mutate(|d| {
        let id = d.create_population(&body)?;
        Ok::<_, SimError>(d.render_population(d.population(&id)?))
    })?;
    created(v)
}

async fn population_get(State(s): S, Path((_, id)): Path<(String, String)>) -> R {
    let d = s.dir();
    ok(d.render_population(d.population(&id)?))
}

async fn population_put(
    State(s): S,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> R {
    let body = json_body(&headers, &body)?;
    ok(s.mutate(|d| {
        d.replace_population(&id, &body)?;
        Ok::<_, SimError>(d.render_population(d.population(&id)?))
    })?)
}

async fn population_delete(State(s): S, Path((_, id)): Path<(String, String)>) -> R {
    s.mutate(|d| d.delete_population(&id))?;
    no_content()
}

// ---- schemas ----

/// The id of the environment's one schema (User).
const USER_SCHEMA_ID: &str = "5c4e3a00-0000-4000-8000-00000000005c";

async fn schemas_list(State(s): S, uri: Uri, q: Q) -> R {
    let q = query(&uri, q)?;
    let items = vec![json!({"id": USER_SCHEMA_ID, "name": "User"})];
    ok(listing::envelope(&s.dir(), &q, "schemas", items, None, 1))
}

async fn schema_attributes(
    State(s): S,
    Path((_, id)): Path<(String, String)>,
    uri: Uri,
    q: Q,
) -> R {
    let q = query(&uri, q)?;
    if id != USER_SCHEMA_ID {
        return Err(SimError::not_found("schema", &id));
    }
    let d = s.dir();
    let core = crate::validate::USER_SCHEMA
        .iter()
        .map(|n| json!({"name": n, "schemaType": "CORE", "enabled": true}));
    let custom = d
        .rules
        .custom_attributes
        .iter()
        .map(|n| json!({"name": n, "type": "STRING", "schemaType": "CUSTOM", "enabled": true}));
    let items: Vec<Value> = core.chain(custom).collect();
    let count = items.len() as u64;
    ok(listing::envelope(&d, &q, "attributes", items, None, count))
}

// ---- subscriptions ----

fn with_links(s: &Shared, mut v: Value) -> Value {
    let href = format!(
        "{}/subscriptions/{}",
        s.dir().env_url(),
        v["id"].as_str().unwrap_or("")
    );
    v["_links"] = json!({"self": {"href": href}});
    v
}

async fn subscriptions_list(State(s): S, uri: Uri, q: Q) -> R {
    let q = query(&uri, q)?;
    let items: Vec<Value> = s
        .notifier
        .list()
        .into_iter()
        .map(|v| with_links(&s, v))
        .collect();
    let count = items.len() as u64;
    ok(listing::envelope(
        &s.dir(),
        &q,
        "subscriptions",
        items,
        None,
        count,
    ))
}

async fn subscription_create(State(s): S, headers: HeaderMap, body: Bytes) -> R {
    let body = json_body(&headers, &body)?;
    let id = uuid::Uuid::new_v4().to_string();
    let v = s.notifier.subscribe(id, &s.cfg.env_id, &body)?;
    created(with_links(&s, v))
}

async fn subscription_put(
    State(s): S,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> R {
    let body = json_body(&headers, &body)?;
    let v = s.notifier.update(&id, &s.cfg.env_id, &body)?;
    ok(with_links(&s, v))
}

async fn subscription_get(State(s): S, Path((_, id)): Path<(String, String)>) -> R {
    match s.notifier.get(&id) {
        Some(v) => ok(with_links(&s, v)),
        None => Err(SimError::not_found("subscription", &id)),
    }
}

async fn subscription_delete(State(s): S, Path((_, id)): Path<(String, String)>) -> R {
    if s.notifier.unsubscribe(&id) {
        no_content()
    } else {
        Err(SimError::not_found("subscription", &id))
    }
}
