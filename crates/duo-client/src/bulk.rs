//! Duo's bulk endpoints: `users/bulk_create`, `/admin/v1/bulk` (create, modify and delete user,
//! add and remove user group) and `username_list` lookups, with typed per-object results.
//! Duo publishes neither their maxima nor their rate limits: callers adapt (see the agent).

use reqwest::Method;
use serde_json::Value;

use crate::canon::Params;
use crate::client::{DuoClient, Idempotency, Slot, code_of, seg};
use crate::error::{ApiFailure, DuoError, classify_failure};
use crate::pace::EndpointClass;
use crate::types::{NewUser, User, UserUpdate};

/// The most names one `username_list` lookup takes (Duo's docs, as quoted).
pub const LOOKUP_MAX: usize = 100;

/// One operation of `/admin/v1/bulk`: the five Duo's Ruby client lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BulkOperation {
    /// `POST /admin/v1/users`.
    CreateUser(NewUser),
    /// `POST /admin/v1/users/{user_id}`.
    ModifyUser {
        /// The user.
        user_id: String,
        /// What to change.
        update: UserUpdate,
    },
    /// `DELETE /admin/v1/users/{user_id}` (permanent, as the single call).
    DeleteUser {
        /// The user.
        user_id: String,
    },
    /// `POST /admin/v1/users/{user_id}/groups`.
    AddUserToGroup {
        /// The user.
        user_id: String,
        /// The group.
        group_id: String,
    },
    /// `DELETE /admin/v1/users/{user_id}/groups/{group_id}`.
    RemoveUserFromGroup {
        /// The user.
        user_id: String,
        /// The group.
        group_id: String,
    },
}

impl BulkOperation {
    fn wire(&self) -> (&'static str, String, Params) {
        use BulkOperation::*;
        match self {
            CreateUser(u) => ("POST", "/admin/v1/users".into(), u.params()),
            ModifyUser { user_id, update } => (
                "POST",
                format!("/admin/v1/users/{}", seg(user_id)),
                update.params(),
            ),
            DeleteUser { user_id } => (
                "DELETE",
                format!("/admin/v1/users/{}", seg(user_id)),
                Params::new(),
            ),
            AddUserToGroup { user_id, group_id } => (
                "POST",
                format!("/admin/v1/users/{}/groups", seg(user_id)),
                Params::new().with("group_id", group_id.as_str()),
            ),
            RemoveUserFromGroup { user_id, group_id } => (
                "DELETE",
                format!("/admin/v1/users/{}/groups/{}", seg(user_id), seg(group_id)),
                Params::new(),
            ),
        }
    }
}

/// One operation's outcome: the user for a create or modify, `None` for the others.
pub type BulkItem = Result<Option<User>, DuoError>;

fn object(p: &Params) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in p.iter() {
        m.insert(k.to_owned(), Value::String(v.to_owned()));
    }
    Value::Object(m)
}

/// One item of `/admin/v1/bulk`'s answer. Duo does not document its shape; duo-sim answers
/// each in Duo's envelope. An item without `stat` is taken as applied.
fn item(method: &str, path: &str, v: Value) -> BulkItem {
    let stat = v.get("stat").and_then(Value::as_str).map(str::to_owned);
    match stat.as_deref() {
        Some("OK") => Ok(v
            .get("response")
            .and_then(|r| serde_json::from_value::<User>(r.clone()).ok())
            .filter(|u| !u.user_id.is_empty())),
        None => Ok(serde_json::from_value::<User>(v)
            .ok()
            .filter(|u| !u.user_id.is_empty())),
        Some(other) => {
            let code = v.get("code").and_then(code_of);
            // The item carries no HTTP status: Duo's codes start with it (40401 → 404).
            let status = code
                .map(|c| (c / 100) as u16)
                .filter(|s| (400..600).contains(s))
                .unwrap_or(400);
            let failure = ApiFailure {
                status,
                code,
                message: v
                    .get("message")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("stat {other}"), str::to_owned),
                message_detail: v
                    .get("message_detail")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            };
            Err(classify_failure(method, path, failure, 1))
        }
    }
}

impl DuoClient {
    /// Creates users in one call (`POST /admin/v1/users/bulk_create`, `users` as a JSON
    /// string). Duo's maximum is unpublished (100 by third-party notes) and the call is
    /// probably all or nothing. Never re-sent once it may have reached Duo
    /// ([`DuoError::OutcomeUnknown`]): look the users up by name instead. Answers the users
    /// created (match them by username: a partial Duo would leave some out).
    pub async fn bulk_create_users(
        &self,
        users: &[NewUser],
        slot: Option<Slot>,
    ) -> Result<Vec<User>, DuoError> {
        let list: Vec<Value> = users.iter().map(|u| object(&u.params())).collect();
        let params = Params::new().with("users", Value::Array(list).to_string());
        self.call_prepaid(
            Method::POST,
            "/admin/v1/users/bulk_create",
            &params,
            EndpointClass::Bulk,
            Idempotency::NonIdempotent,
            slot,
        )
        .await
    }

    /// Runs operations in one call (`POST /admin/v1/bulk`, `operations` as a JSON string);
    /// Duo runs them in order, each on its own. One result per operation, in order. Re-sent
    /// after a lost answer only when no operation creates (the others are idempotent).
    pub async fn bulk_operations(
        &self,
        ops: &[BulkOperation],
        slot: Option<Slot>,
    ) -> Result<Vec<BulkItem>, DuoError> {
        let wire: Vec<(&str, String, Params)> = ops.iter().map(BulkOperation::wire).collect();
        let list: Vec<Value> = wire
            .iter()
            .map(|(m, p, b)| serde_json::json!({"method": m, "path": p, "body": object(b)}))
            .collect();
        let params = Params::new().with("operations", Value::Array(list).to_string());
        let idempotency = if ops
            .iter()
            .any(|o| matches!(o, BulkOperation::CreateUser(_)))
        {
            Idempotency::NonIdempotent
        } else {
            Idempotency::Idempotent
        };
        let answer: Vec<Value> = self
            .call_prepaid(
                Method::POST,
                "/admin/v1/bulk",
                &params,
                EndpointClass::Bulk,
                idempotency,
                slot,
            )
            .await?;
        if answer.len() != ops.len() {
            return Err(DuoError::Decode {
                call: "POST /admin/v1/bulk".into(),
                detail: format!("{} results for {} operations", answer.len(), ops.len()),
            });
        }
        Ok(wire
            .iter()
            .zip(answer)
            .map(|((m, p, _), v)| item(m, p, v))
            .collect())
    }

    /// The users whose username (or alias) is one of `names`, in one call
    /// (`GET /admin/v1/users?username_list=[…]`, at most [`LOOKUP_MAX`] names; a page read).
    /// Users whose names were not asked for are dropped, so a Duo that ignored the parameter
    /// could not make a stranger look like a match.
    pub async fn get_users_by_usernames(&self, names: &[&str]) -> Result<Vec<User>, DuoError> {
        if names.len() > LOOKUP_MAX {
            return Err(DuoError::Config {
                field: "username_list",
                reason: format!(
                    "has {} names; Duo takes at most {LOOKUP_MAX} per call",
                    names.len()
                ),
            });
        }
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let list = serde_json::to_string(names).unwrap_or_else(|_| "[]".into());
        let params = Params::new().with("username_list", list);
        let (users, _): (Vec<User>, _) = self
            .call_typed(
                Method::GET,
                "/admin/v1/users",
                &params,
                EndpointClass::Page,
                Idempotency::Idempotent,
            )
            .await?;
        let asked: std::collections::HashSet<String> =
            names.iter().map(|n| n.to_lowercase()).collect();
        Ok(users
            .into_iter()
            .filter(|u| {
                std::iter::once(u.username.clone())
                    .chain(u.alias_list())
                    .any(|n| asked.contains(&n.to_lowercase()))
            })
            .collect())
    }
}

impl DuoError {
    /// Duo refused a bulk call for the size of its list `param` (`users`, `operations`):
    /// 400 / 40002 naming it. A smaller batch may pass.
    pub fn refused_for_size(&self, param: &str) -> bool {
        matches!(self, DuoError::BadRequest { failure, .. }
            if failure.code == Some(40002) && failure.message_detail.as_deref() == Some(param))
    }
}
