//! Typed calls for groups: list, get (v2), create, modify/rename, delete,
//! and members (v2).

use futures::stream::BoxStream;
use reqwest::Method;

use crate::canon::Params;
use crate::client::{DuoClient, Idempotency, seg};
use crate::error::DuoError;
use crate::pace::EndpointClass;
use crate::paging::LARGE_PAGE;
use crate::types::{Group, GroupUpdate, NewGroup, Page, UserRef};

impl DuoClient {
    /// Every group (`GET /admin/v1/groups`, pages of 500).
    pub async fn list_groups(&self) -> Result<Vec<Group>, DuoError> {
        self.collect_all("/admin/v1/groups".into(), Params::new(), LARGE_PAGE)
            .await
    }

    /// Every group, one page (500) at a time.
    pub fn group_pages(&self) -> BoxStream<'static, Result<Page<Group>, DuoError>> {
        self.page_stream("/admin/v1/groups".into(), Params::new(), LARGE_PAGE)
    }

    /// One group by id (`GET /admin/v2/groups/{id}`).
    pub async fn get_group(&self, group_id: &str) -> Result<Group, DuoError> {
        let path = format!("/admin/v2/groups/{}", seg(group_id));
        self.get_typed(&path).await
    }

    /// Creates a group (`POST /admin/v1/groups`). Never re-sent once it may
    /// have reached Duo.
    pub async fn create_group(&self, group: &NewGroup) -> Result<Group, DuoError> {
        let (created, _) = self
            .call_typed(
                Method::POST,
                "/admin/v1/groups",
                &group.params(),
                EndpointClass::Write,
                Idempotency::NonIdempotent,
            )
            .await?;
        Ok(created)
    }

    /// Modifies or renames a group (`POST /admin/v1/groups/{id}`).
    pub async fn modify_group(
        &self,
        group_id: &str,
        update: &GroupUpdate,
    ) -> Result<Group, DuoError> {
        let path = format!("/admin/v1/groups/{}", seg(group_id));
        let (group, _) = self
            .call_typed(
                Method::POST,
                &path,
                &update.params(),
                EndpointClass::Write,
                Idempotency::Idempotent,
            )
            .await?;
        Ok(group)
    }

    /// Deletes a group (`DELETE /admin/v1/groups/{id}`).
    pub async fn delete_group(&self, group_id: &str) -> Result<(), DuoError> {
        let path = format!("/admin/v1/groups/{}", seg(group_id));
        self.call_typed::<serde::de::IgnoredAny>(
            Method::DELETE,
            &path,
            &Params::new(),
            EndpointClass::Write,
            Idempotency::Idempotent,
        )
        .await?;
        Ok(())
    }

    /// Every member of a group (`GET /admin/v2/groups/{id}/users`, pages of 500).
    pub async fn group_members(&self, group_id: &str) -> Result<Vec<UserRef>, DuoError> {
        self.collect_all(
            format!("/admin/v2/groups/{}/users", seg(group_id)),
            Params::new(),
            LARGE_PAGE,
        )
        .await
    }

    /// A group's members, one page (500) at a time.
    pub fn group_member_pages(
        &self,
        group_id: &str,
    ) -> BoxStream<'static, Result<Page<UserRef>, DuoError>> {
        self.page_stream(
            format!("/admin/v2/groups/{}/users", seg(group_id)),
            Params::new(),
            LARGE_PAGE,
        )
    }
}
