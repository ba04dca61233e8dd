//! `POST /admin/v1/users/enroll`: email a user an enrollment link.

use reqwest::Method;

use crate::canon::Params;
use crate::client::{DuoClient, Idempotency};
use crate::error::DuoError;
use crate::pace::EndpointClass;

impl DuoClient {
    /// Emails `username` an enrollment link at `email`, valid `valid_secs`
    /// seconds (0: never expires); returns Duo's enroll code. Never re-sent
    /// once it may have reached Duo: a second email is worse than none.
    pub async fn enroll_user(
        &self,
        username: &str,
        email: &str,
        valid_secs: u64,
    ) -> Result<String, DuoError> {
        let params = Params::new()
            .with("username", username)
            .with("email", email)
            .with("valid_secs", valid_secs.to_string());
        let (code, _) = self
            .call_typed(
                Method::POST,
                "/admin/v1/users/enroll",
                &params,
                EndpointClass::Write,
                Idempotency::NonIdempotent,
            )
            .await?;
        Ok(code)
    }
}
