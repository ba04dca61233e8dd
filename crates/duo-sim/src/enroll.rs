//! `POST /admin/v1/users/enroll`: the enrollment email Duo sends, recorded
//! (`GET /__sim/enrollments`, `DuoSim::enrollments`) instead of mailed.

use serde::Serialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::params::Params;
use crate::store::Store;

/// Duo's default validity of an enrollment link: 30 days.
pub const DEFAULT_VALID_SECS: i64 = 2_592_000;

/// One enrollment email the simulator "sent".
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnrollEmail {
    /// The username as sent.
    pub username: String,
    /// Where the email went.
    pub email: String,
    /// Seconds the link stays valid (0: never expires, as Duo's Python client says).
    pub valid_secs: i64,
    /// The enroll code returned.
    pub code: String,
}

impl Store {
    /// True (once per count) when this enroll request is to be applied and
    /// then left unanswered.
    pub(crate) fn take_enroll_drop(&mut self) -> bool {
        let drop = self.enroll_drops > 0;
        self.enroll_drops = self.enroll_drops.saturating_sub(1);
        drop
    }

    /// `username` and `email` are required; `valid_secs` (default 30 days) is
    /// a whole number of seconds, 0 or more. Answers the enroll code.
    pub(crate) fn enroll(&mut self, p: &Params) -> Result<Value, ApiError> {
        let username = p.required("username")?.to_owned();
        let email = p.required("email")?.to_owned();
        if !email.contains('@') {
            return Err(ApiError::invalid("email"));
        }
        let valid_secs = match p.get("valid_secs") {
            None => DEFAULT_VALID_SECS,
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n >= 0 => n,
                _ => return Err(ApiError::invalid("valid_secs")),
            },
        };
        let code = format!("enroll-{:06}", self.enrollments.len() + 1);
        self.enrollments.push(EnrollEmail {
            username,
            email,
            valid_secs,
            code: code.clone(),
        });
        Ok(json!(code))
    }
}
