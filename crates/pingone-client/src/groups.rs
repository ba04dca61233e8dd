//! Typed group calls: list (filter, paged), get, create, replace (PUT), delete.

use reqwest::Method;

use crate::client::{PingOneClient, Replay, Request};
use crate::error::Result;
use crate::filter::{Filter, FilterResource};
use crate::model::{Group, GroupFields};
use crate::paging::PageStream;
use crate::users::{body, get, seg};

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct GroupQuery {
    /// Only groups matching this filter (`id`, `name`, `population.id`, `externalId`).
    pub filter: Option<Filter>,
    /// Requested page size. Default 200.
    pub limit: Option<u32>,
}

impl PingOneClient {
    /// Lists groups page by page (`GET /groups`).
    pub fn list_groups(&self, query: &GroupQuery) -> PageStream<Group> {
        let first = (|| {
            let mut url = self.env_url("groups");
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("limit", &query.limit.unwrap_or(200).to_string());
                if let Some(f) = &query.filter {
                    f.check_for(FilterResource::Groups)?;
                    q.append_pair("filter", &f.to_string());
                }
            }
            Ok(url)
        })();
        self.pages(first, "groups", "the group list".into())
    }

    /// Reads one group.
    pub async fn get_group(&self, group_id: &str) -> Result<Group> {
        let url = self.env_url(&format!("groups/{}", seg(group_id)));
        self.send_json(get(url, format!("group {group_id}"))).await
    }

    /// Creates a group (`POST /groups`, 201). Not re-sent when the outcome is unknown.
    pub async fn create_group(&self, fields: &GroupFields) -> Result<Group> {
        let url = self.env_url("groups");
        let object = format!("new group \"{}\"", fields.name);
        self.send_json(body(Method::POST, url, fields, object, Replay::Unsafe)?)
            .await
    }

    /// Replaces a group (`PUT /groups/{id}`; PingOne has no PATCH for groups).
    pub async fn update_group(&self, group_id: &str, fields: &GroupFields) -> Result<Group> {
        let url = self.env_url(&format!("groups/{}", seg(group_id)));
        self.send_json(body(
            Method::PUT,
            url,
            fields,
            format!("group {group_id}"),
            Replay::Safe,
        )?)
        .await
    }

    /// Deletes a group (`DELETE /groups/{id}`, 204).
    pub async fn delete_group(&self, group_id: &str) -> Result<()> {
        let url = self.env_url(&format!("groups/{}", seg(group_id)));
        self.send(Request {
            method: Method::DELETE,
            url,
            body: None,
            object: format!("group {group_id}"),
            replay: Replay::Safe,
        })
        .await
        .map(drop)
    }
}
