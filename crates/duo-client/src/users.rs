//! Typed calls for users: list, get, create, modify, delete, and a user's
//! groups and phones.

use futures::stream::BoxStream;
use reqwest::Method;

use crate::canon::Params;
use crate::client::{DuoClient, Idempotency, seg};
use crate::error::DuoError;
use crate::pace::EndpointClass;
use crate::paging::{LARGE_PAGE, USERS_PAGE};
use crate::types::{Group, NewUser, Page, Phone, User, UserUpdate};

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
                EndpointClass::Read,
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

    /// Adds the user to a group (`POST /admin/v1/users/{id}/groups`).
    pub async fn add_user_to_group(&self, user_id: &str, group_id: &str) -> Result<(), DuoError> {
        let path = format!("/admin/v1/users/{}/groups", seg(user_id));
        let params = Params::new().with("group_id", group_id);
        self.call_typed::<serde::de::IgnoredAny>(
            Method::POST,
            &path,
            &params,
            EndpointClass::Write,
            Idempotency::Idempotent,
        )
        .await?;
        Ok(())
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
