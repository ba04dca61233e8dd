//! Typed membership calls: add and remove a direct membership, a user's groups (DIRECT and
//! INDIRECT, `expand=group`), a group's members through the `memberOfGroups` filter.

use reqwest::Method;

use crate::client::{PingOneClient, Replay, Request};
use crate::error::Result;
use crate::filter::Filter;
use crate::model::{GroupMembership, ObjectRef, User};
use crate::paging::PageStream;
use crate::users::{UserQuery, body, seg};

/// Which members of a group to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MemberKind {
    /// Direct, nested and dynamic members (what PingOne's own provisioner uses).
    #[default]
    Any,
    /// Direct members only.
    Direct,
}

impl PingOneClient {
    /// Adds a user to a group directly (`POST /users/{id}/memberOfGroups`, 201).
    pub async fn add_user_to_group(
        &self,
        user_id: &str,
        group_id: &str,
    ) -> Result<GroupMembership> {
        let url = self.env_url(&format!("users/{}/memberOfGroups", seg(user_id)));
        self.send_json(body(
            Method::POST,
            url,
            &ObjectRef::new(group_id),
            format!("membership of user {user_id} in group {group_id}"),
            // Like a create: a lost answer is reported, not hidden behind a second add.
            Replay::Unsafe,
        )?)
        .await
    }

    /// Removes a direct membership (`DELETE /users/{id}/memberOfGroups/{groupId}`, 204).
    pub async fn remove_user_from_group(&self, user_id: &str, group_id: &str) -> Result<()> {
        let url = self.env_url(&format!(
            "users/{}/memberOfGroups/{}",
            seg(user_id),
            seg(group_id)
        ));
        self.send(Request {
            method: Method::DELETE,
            url,
            body: None,
            object: format!("membership of user {user_id} in group {group_id}"),
            replay: Replay::Safe,
        })
        .await
        .map(drop)
    }

    /// A user's groups, direct and indirect, each with its group embedded
    /// (`GET /users/{id}/memberOfGroups?expand=group`).
    pub fn list_user_groups(&self, user_id: &str) -> PageStream<GroupMembership> {
        let mut url = self.env_url(&format!("users/{}/memberOfGroups", seg(user_id)));
        url.query_pairs_mut()
            .append_pair("expand", "group")
            .append_pair("limit", "100");
        self.pages(
            Ok(url),
            "groupMemberships",
            format!("the groups of user {user_id}"),
        )
    }

    /// A group's members (`GET /users?filter=memberOfGroups[id eq "G"]`), page by page.
    pub fn list_group_members(&self, group_id: &str, kind: MemberKind) -> PageStream<User> {
        let filter = match kind {
            MemberKind::Any => Filter::member_of(group_id),
            MemberKind::Direct => Filter::direct_member_of(group_id),
        };
        match filter {
            Ok(f) => self.list_users(&UserQuery::filtered(f)),
            Err(e) => self.pages(
                Err(e.into()),
                "users",
                format!("the members of group {group_id}"),
            ),
        }
    }
}
