//! Typed user calls: list (filter, `expand=population`, paged), get (with
//! `include=memberOfGroupIDs`), create, PATCH update, delete, enable/disable, move population.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::{PingOneClient, Replay, Request};
use crate::error::{Error, Result};
use crate::filter::{Filter, FilterResource};
use crate::model::{ObjectRef, User, UserFields};
use crate::paging::PageStream;

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// Only users matching this filter.
    pub filter: Option<Filter>,
    /// Embed each user's population (`expand=population`).
    pub expand_population: bool,
    /// Requested page size; PingOne caps users pages at 200 and may send fewer. Default 200.
    pub limit: Option<u32>,
}

impl UserQuery {
    /// Every user, 200 a page.
    pub fn all() -> Self {
        Self::default()
    }

    /// Users matching `filter`.
    pub fn filtered(filter: Filter) -> Self {
        Self {
            filter: Some(filter),
            ..Self::default()
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Enabled {
    enabled: bool,
}

impl PingOneClient {
    /// Lists users page by page (`GET /users`), following `_links.next` verbatim.
    /// A filter PingOne cannot evaluate fails as the stream's first item.
    pub fn list_users(&self, query: &UserQuery) -> PageStream<User> {
        let first = (|| {
            let mut url = self.env_url("users");
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("limit", &query.limit.unwrap_or(200).to_string());
                if let Some(f) = &query.filter {
                    f.check_for(FilterResource::Users)?;
                    q.append_pair("filter", &f.to_string());
                }
                if query.expand_population {
                    q.append_pair("expand", "population");
                }
            }
            Ok(url)
        })();
        self.pages(first, "users", "the user list".into())
    }

    /// Reads one user with its group ids (`include=memberOfGroupIDs`).
    pub async fn get_user(&self, user_id: &str) -> Result<User> {
        let mut url = self.env_url(&format!("users/{}", seg(user_id)));
        url.query_pairs_mut()
            .append_pair("include", "memberOfGroupIDs");
        self.send_json(get(url, format!("user {user_id}"))).await
    }

    /// Finds a user by username (`username eq "..."`), compared case-insensitively as
    /// PingOne does; `None` if there is none.
    pub async fn find_user_by_username(&self, username: &str) -> Result<Option<User>> {
        use futures::TryStreamExt;
        let query = UserQuery {
            filter: Some(Filter::eq("username", username)?),
            limit: Some(2),
            ..UserQuery::default()
        };
        let mut pages = self.list_users(&query);
        while let Some(page) = pages.try_next().await? {
            // PingOne usernames are case-insensitive (`Alice` is `alice`).
            if let Some(u) = page
                .items
                .into_iter()
                .find(|u| u.username.to_lowercase() == username.to_lowercase())
            {
                return Ok(Some(u));
            }
        }
        Ok(None)
    }

    /// The names of the User schema's enabled attributes, core and custom
    /// (`GET /schemas`, then `GET /schemas/{id}/attributes`). PingOne ignores
    /// an attribute that is not among them.
    pub async fn user_schema_attributes(&self) -> Result<Vec<String>> {
        let env = self.environment_id().to_owned();
        let schemas = self
            .raw(Method::GET, &format!("/environments/{env}/schemas"), None)
            .await?
            .unwrap_or_default();
        let id = schemas["_embedded"]["schemas"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["name"] == "User"))
            .and_then(|s| s["id"].as_str())
            .map(str::to_owned);
        let Some(id) = id else {
            return Ok(Vec::new());
        };
        let attrs = self
            .raw(
                Method::GET,
                &format!("/environments/{env}/schemas/{id}/attributes"),
                None,
            )
            .await?
            .unwrap_or_default();
        Ok(attrs["_embedded"]["attributes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["enabled"].as_bool() != Some(false))
            .filter_map(|a| a["name"].as_str().map(str::to_owned))
            .collect())
    }

    /// Creates a user (`POST /users`, 201). Not re-sent when the outcome is unknown:
    /// that is [`Error::OutcomeUnknown`]; look the username up before trying again.
    pub async fn create_user(&self, fields: &UserFields) -> Result<User> {
        let object = format!(
            "new user \"{}\"",
            fields.username.as_deref().unwrap_or("(no username)")
        );
        let url = self.env_url("users");
        self.send_json(body(Method::POST, url, fields, object, Replay::Unsafe)?)
            .await
    }

    /// Changes only the attributes given (`PATCH /users/{id}`).
    pub async fn update_user(&self, user_id: &str, fields: &UserFields) -> Result<User> {
        let url = self.env_url(&format!("users/{}", seg(user_id)));
        self.send_json(body(
            Method::PATCH,
            url,
            fields,
            format!("user {user_id}"),
            Replay::Safe,
        )?)
        .await
    }

    /// Deletes a user for good (`DELETE /users/{id}`, 204).
    pub async fn delete_user(&self, user_id: &str) -> Result<()> {
        let url = self.env_url(&format!("users/{}", seg(user_id)));
        self.send(Request {
            method: Method::DELETE,
            url,
            body: None,
            object: format!("user {user_id}"),
            replay: Replay::Safe,
        })
        .await
        .map(drop)
    }

    /// Enables or disables a user (`PUT /users/{id}/enabled`); returns the new state.
    pub async fn set_user_enabled(&self, user_id: &str, enabled: bool) -> Result<bool> {
        let url = self.env_url(&format!("users/{}/enabled", seg(user_id)));
        let out: Enabled = self
            .send_json(body(
                Method::PUT,
                url,
                &Enabled { enabled },
                format!("user {user_id} (field `enabled`)"),
                Replay::Safe,
            )?)
            .await?;
        Ok(out.enabled)
    }

    /// Moves a user to another population (`PUT /users/{id}/population`).
    pub async fn set_user_population(&self, user_id: &str, population_id: &str) -> Result<()> {
        let url = self.env_url(&format!("users/{}/population", seg(user_id)));
        self.send(body(
            Method::PUT,
            url,
            &ObjectRef::new(population_id),
            format!("user {user_id} (field `population.id`)"),
            Replay::Safe,
        )?)
        .await
        .map(drop)
    }
}

/// A GET request.
pub(crate) fn get(url: reqwest::Url, object: String) -> Request {
    Request {
        method: Method::GET,
        url,
        body: None,
        object,
        replay: Replay::Safe,
    }
}

/// A request with a JSON body.
pub(crate) fn body<T: Serialize>(
    method: Method,
    url: reqwest::Url,
    value: &T,
    object: String,
    replay: Replay,
) -> Result<Request> {
    let body = serde_json::to_vec(value).map_err(|e| Error::Decode {
        object: object.clone(),
        message: format!("the request body could not be encoded: {e}"),
    })?;
    Ok(Request {
        method,
        url,
        body: Some(body),
        object,
        replay,
    })
}

/// Percent-encodes an id for use as one path segment. Empty and dot-only ids are left as
/// `_` so they can never climb out of the collection; PingOne answers 404 for them.
pub(crate) fn seg(id: &str) -> String {
    if id.is_empty() || id.chars().all(|c| c == '.') {
        return "_".into();
    }
    percent_encoding::utf8_percent_encode(id, SEGMENT).to_string()
}

const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
