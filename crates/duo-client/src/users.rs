//! Typed calls for users: list, get, create, modify, delete, and a user's
//! groups and phones.

use futures::FutureExt as _;
use futures::stream::BoxStream;
use reqwest::Method;

use crate::canon::Params;
use crate::client::{DuoClient, Idempotency, seg};
use crate::error::DuoError;
use crate::pace::EndpointClass;
use crate::paging::{LARGE_PAGE, USERS_PAGE};
use crate::types::ONE_TO_MANY_LIMIT;
use crate::types::{BulkResult, Group, NewUser, Page, Phone, User, UserUpdate};

impl DuoClient {
    /// Every user (`GET /admin/v1/users`, pages of 300).
    pub async fn list_users(&self) -> Result<Vec<User>, DuoError> {
        self.collect_all("/admin/v1/users".into(), Params::new(), USERS_PAGE)
            .await
    }

    /// Every user, one page (300) at a time.
    pub fn user_pages(&self) -> BoxStream<'static, Result<Page<User>, DuoError>> {
        self.page_stream("/admin/v1/users".into(), Params::new(), USERS_PAGE)
    }

    /// One user by id (`GET /admin/v1/users/{id}`); 404 → [`DuoError::NotFound`].
    pub async fn get_user(&self, user_id: &str) -> Result<User, DuoError> {
        let path = format!("/admin/v1/users/{}", seg(user_id));
        self.get_typed(&path).await
    }

    /// The user whose username or alias is `username`, if any
    /// (`GET /admin/v1/users?username=`).
    pub async fn get_user_by_username(&self, username: &str) -> Result<Option<User>, DuoError> {
        let params = Params::new().with("username", username);
        let (users, _): (Vec<User>, _) = self
            .call_typed(
                Method::GET,
                "/admin/v1/users",
                &params,
                // A list endpoint: Duo counts it as a page read (200/min), as duo-sim does.
                EndpointClass::Page,
                Idempotency::Idempotent,
            )
            .await?;
        Ok(users.into_iter().next())
    }

    /// Creates a user (`POST /admin/v1/users`). Never re-sent once it may
    /// have reached Duo: see [`DuoError::OutcomeUnknown`].
    pub async fn create_user(&self, user: &NewUser) -> Result<User, DuoError> {
        let (created, _) = self
            .call_typed(
                Method::POST,
                "/admin/v1/users",
                &user.params(),
                EndpointClass::Write,
                Idempotency::NonIdempotent,
            )
            .await?;
        Ok(created)
    }

    /// Modifies a user (`POST /admin/v1/users/{id}`); returns the updated user.
    pub async fn modify_user(&self, user_id: &str, update: &UserUpdate) -> Result<User, DuoError> {
        let path = format!("/admin/v1/users/{}", seg(user_id));
        let (user, _) = self
            .call_typed(
                Method::POST,
                &path,
                &update.params(),
                EndpointClass::Write,
                Idempotency::Idempotent,
            )
            .await?;
        Ok(user)
    }

    /// Deletes a user, immediately and permanently (`DELETE /admin/v1/users/{id}`).
    pub async fn delete_user(&self, user_id: &str) -> Result<(), DuoError> {
        let path = format!("/admin/v1/users/{}", seg(user_id));
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

    /// Sends users to Duo's trash (`POST /admin/v1/users/bulk_send_to_trash`, at most 100
    /// ids): status "pending deletion", restorable with [`DuoClient::restore_users`] until Duo
    /// purges them (7 days by default). One result per id.
    pub async fn trash_users(&self, user_ids: &[&str]) -> Result<Vec<BulkResult>, DuoError> {
        self.bulk_user_ids("/admin/v1/users/bulk_send_to_trash", user_ids)
            .await
    }

    /// Restores users from Duo's trash (`POST /admin/v1/users/bulk_restore`, at most 100 ids).
    /// A modify does not: Duo answers 200 and leaves the user in the trash. One result per id.
    pub async fn restore_users(&self, user_ids: &[&str]) -> Result<Vec<BulkResult>, DuoError> {
        self.bulk_user_ids("/admin/v1/users/bulk_restore", user_ids)
            .await
    }

    async fn bulk_user_ids(
        &self,
        path: &str,
        user_ids: &[&str],
    ) -> Result<Vec<BulkResult>, DuoError> {
        if user_ids.len() > 100 {
            return Err(DuoError::Config {
                field: "user_id_list",
                reason: format!("has {} ids; Duo takes at most 100 per call", user_ids.len()),
            });
        }
        // A JSON-encoded string array, as Duo's Ruby client and Postman collection send it.
        let list = serde_json::to_string(user_ids).unwrap_or_else(|_| "[]".into());
        let params = Params::new().with("user_id_list", list);
        let (results, _) = self
            .call_typed(
                Method::POST,
                path,
                &params,
                EndpointClass::Write,
                Idempotency::Idempotent,
            )
            .await?;
        Ok(results)
    }

    /// The user's groups (`GET /admin/v1/users/{id}/groups`, pages of 500).
    pub async fn user_groups(&self, user_id: &str) -> Result<Vec<Group>, DuoError> {
        self.collect_all(
            format!("/admin/v1/users/{}/groups", seg(user_id)),
            Params::new(),
            LARGE_PAGE,
        )
        .await
    }

    /// The user's phones (`GET /admin/v1/users/{id}/phones`, pages of 500).
    pub async fn user_phones(&self, user_id: &str) -> Result<Vec<Phone>, DuoError> {
        self.collect_all(
            format!("/admin/v1/users/{}/phones", seg(user_id)),
            Params::new(),
            LARGE_PAGE,
        )
        .await
    }

    /// Adds the user to a group (`POST /admin/v1/users/{id}/groups`). A 500
    /// (Duo's generic 50001) is retried unless the user's groups, counted,
    /// are at the limit: then [`DuoError::LimitExceeded`].
    pub async fn add_user_to_group(&self, user_id: &str, group_id: &str) -> Result<(), DuoError> {
        let path = format!("/admin/v1/users/{}/groups", seg(user_id));
        let params = Params::new().with("group_id", group_id);
        let check = || self.groups_at_limit(user_id).boxed();
        self.associate(&path, &params, &check).await
    }

    /// `Some(what)` when the user has as many groups as Duo allows.
    async fn groups_at_limit(&self, user_id: &str) -> Result<Option<String>, DuoError> {
        let n = self.user_groups(user_id).await?.len();
        Ok((n >= ONE_TO_MANY_LIMIT).then(|| format!("the user already has {n} groups")))
    }

    /// Removes the user from a group (`DELETE /admin/v1/users/{id}/groups/{gid}`);
    /// succeeds when the user was not a member.
    pub async fn remove_user_from_group(
        &self,
        user_id: &str,
        group_id: &str,
    ) -> Result<(), DuoError> {
        let path = format!("/admin/v1/users/{}/groups/{}", seg(user_id), seg(group_id));
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
}
