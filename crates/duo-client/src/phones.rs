//! Typed calls for phones: list, get, find by number, create, modify,
//! delete, associate with and disassociate from a user.

use futures::FutureExt as _;
use futures::stream::BoxStream;
use reqwest::Method;

use crate::canon::Params;
use crate::client::{DuoClient, Idempotency, seg};
use crate::error::DuoError;
use crate::pace::EndpointClass;
use crate::paging::LARGE_PAGE;
use crate::types::{ONE_TO_MANY_LIMIT, Page, Phone, PhoneSpec};

impl DuoClient {
    /// Every phone (`GET /admin/v1/phones`, pages of 500).
    pub async fn list_phones(&self) -> Result<Vec<Phone>, DuoError> {
        self.collect_all("/admin/v1/phones".into(), Params::new(), LARGE_PAGE)
            .await
    }

    /// Every phone, one page (500) at a time.
    pub fn phone_pages(&self) -> BoxStream<'static, Result<Page<Phone>, DuoError>> {
        self.page_stream("/admin/v1/phones".into(), Params::new(), LARGE_PAGE)
    }

    /// One phone by id (`GET /admin/v1/phones/{id}`).
    pub async fn get_phone(&self, phone_id: &str) -> Result<Phone, DuoError> {
        let path = format!("/admin/v1/phones/{}", seg(phone_id));
        self.get_typed(&path).await
    }

    /// The phone with this number (and extension), if any
    /// (`GET /admin/v1/phones?number=`).
    pub async fn find_phone_by_number(
        &self,
        number: &str,
        extension: Option<&str>,
    ) -> Result<Option<Phone>, DuoError> {
        let mut params = Params::new().with("number", number);
        params.push_opt("extension", extension);
        let (phones, _): (Vec<Phone>, _) = self
            .call_typed(
                Method::GET,
                "/admin/v1/phones",
                &params,
                // A list endpoint: Duo counts it as a page read (200/min), as duo-sim does.
                EndpointClass::Page,
                Idempotency::Idempotent,
            )
            .await?;
        Ok(phones.into_iter().next())
    }

    /// Creates a phone (`POST /admin/v1/phones`). Never re-sent once it may
    /// have reached Duo.
    pub async fn create_phone(&self, phone: &PhoneSpec) -> Result<Phone, DuoError> {
        let (created, _) = self
            .call_typed(
                Method::POST,
                "/admin/v1/phones",
                &phone.params(),
                EndpointClass::Write,
                Idempotency::NonIdempotent,
            )
            .await?;
        Ok(created)
    }

    /// Modifies a phone (`POST /admin/v1/phones/{id}`).
    pub async fn modify_phone(
        &self,
        phone_id: &str,
        update: &PhoneSpec,
    ) -> Result<Phone, DuoError> {
        let path = format!("/admin/v1/phones/{}", seg(phone_id));
        let (phone, _) = self
            .call_typed(
                Method::POST,
                &path,
                &update.params(),
                EndpointClass::Write,
                Idempotency::Idempotent,
            )
            .await?;
        Ok(phone)
    }

    /// Deletes a phone (`DELETE /admin/v1/phones/{id}`).
    pub async fn delete_phone(&self, phone_id: &str) -> Result<(), DuoError> {
        let path = format!("/admin/v1/phones/{}", seg(phone_id));
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

    /// Attaches a phone to a user (`POST /admin/v1/users/{id}/phones`). A 500
    /// (Duo's generic 50001) is retried unless counting shows the user's
    /// phones or the phone's users at the limit: then [`DuoError::LimitExceeded`].
    pub async fn associate_phone(&self, user_id: &str, phone_id: &str) -> Result<(), DuoError> {
        let path = format!("/admin/v1/users/{}/phones", seg(user_id));
        let params = Params::new().with("phone_id", phone_id);
        let check = || self.phones_at_limit(user_id, phone_id).boxed();
        self.associate(&path, &params, &check).await
    }

    /// `Some(what)` when the user has as many phones, or the phone as many
    /// users, as Duo allows.
    async fn phones_at_limit(
        &self,
        user_id: &str,
        phone_id: &str,
    ) -> Result<Option<String>, DuoError> {
        let n = self.user_phones(user_id).await?.len();
        if n >= ONE_TO_MANY_LIMIT {
            return Ok(Some(format!("the user already has {n} phones")));
        }
        let users = self.get_phone(phone_id).await?.users.len();
        Ok((users >= ONE_TO_MANY_LIMIT)
            .then(|| format!("the phone already belongs to {users} users")))
    }

    /// Detaches a phone from a user (`DELETE /admin/v1/users/{id}/phones/{pid}`);
    /// the phone itself stays.
    pub async fn disassociate_phone(&self, user_id: &str, phone_id: &str) -> Result<(), DuoError> {
        let path = format!("/admin/v1/users/{}/phones/{}", seg(user_id), seg(phone_id));
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
