//! Typed calls for administrators (all need "Grant administrators") and the
//! account summary.

use reqwest::Method;

use crate::canon::Params;
use crate::client::{DuoClient, Idempotency, seg};
use crate::error::DuoError;
use crate::pace::EndpointClass;
use crate::paging::ADMINS_PAGE;
use crate::types::{Admin, AdminUpdate, NewAdmin, Summary};

impl DuoClient {
    /// Every administrator (`GET /admin/v1/admins`, pages of 100).
    pub async fn list_admins(&self) -> Result<Vec<Admin>, DuoError> {
        self.collect_all("/admin/v1/admins".into(), Params::new(), ADMINS_PAGE)
            .await
    }

    /// One administrator (`GET /admin/v1/admins/{id}`).
    pub async fn get_admin(&self, admin_id: &str) -> Result<Admin, DuoError> {
        let path = format!("/admin/v1/admins/{}", seg(admin_id));
        self.get_typed(&path).await
    }

    /// Creates an administrator with an explicit role (`POST /admin/v1/admins`).
    /// Never re-sent once it may have reached Duo.
    pub async fn create_admin(&self, admin: &NewAdmin) -> Result<Admin, DuoError> {
        let (created, _) = self
            .call_typed(
                Method::POST,
                "/admin/v1/admins",
                &admin.params(),
                EndpointClass::Write,
                Idempotency::NonIdempotent,
            )
            .await?;
        Ok(created)
    }

    /// Modifies an administrator (`POST /admin/v1/admins/{id}`).
    pub async fn modify_admin(
        &self,
        admin_id: &str,
        update: &AdminUpdate,
    ) -> Result<Admin, DuoError> {
        let path = format!("/admin/v1/admins/{}", seg(admin_id));
        let (admin, _) = self
            .call_typed(
                Method::POST,
                &path,
                &update.params(),
                EndpointClass::Write,
                Idempotency::Idempotent,
            )
            .await?;
        Ok(admin)
    }

    /// Deletes an administrator (`DELETE /admin/v1/admins/{id}`).
    pub async fn delete_admin(&self, admin_id: &str) -> Result<(), DuoError> {
        let path = format!("/admin/v1/admins/{}", seg(admin_id));
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

    /// Account summary (`GET /admin/v1/info/summary`, needs "Grant read
    /// information"); a cheap connection check.
    pub async fn info_summary(&self) -> Result<Summary, DuoError> {
        let (summary, _) = self
            .call_typed(
                Method::GET,
                "/admin/v1/info/summary",
                &Params::new(),
                EndpointClass::Read,
                Idempotency::Idempotent,
            )
            .await?;
        Ok(summary)
    }
}
