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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::UsernameCase;

    fn enroll(st: &mut Store, pairs: &[(&str, &str)]) -> Result<Value, ApiError> {
        st.enroll(&Params::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn enroll_validates_as_duo_documents_and_records_each_email() {
        let mut st = Store::new(UsernameCase::Insensitive, 1);
        let code = |e: Result<Value, ApiError>| e.unwrap_err().body()["code"].clone();
        assert_eq!(code(enroll(&mut st, &[("email", "a@x")])), 40001);
        assert_eq!(code(enroll(&mut st, &[("username", "a")])), 40001);
        assert_eq!(
            code(enroll(&mut st, &[("username", "a"), ("email", "nope")])),
            40002
        );
        for bad in ["-1", "1.5", "soon"] {
            let p = [("username", "a"), ("email", "a@x"), ("valid_secs", bad)];
            assert_eq!(code(enroll(&mut st, &p)), 40002, "{bad}");
        }
        assert!(st.enrollments.is_empty(), "refused requests send nothing");
        let ok = enroll(&mut st, &[("username", "a"), ("email", "a@x")]).unwrap();
        assert_eq!(ok, json!("enroll-000001"));
        enroll(
            &mut st,
            &[("username", "b"), ("email", "b@x"), ("valid_secs", "0")],
        )
        .unwrap();
        let sent: Vec<(&str, i64)> = st
            .enrollments
            .iter()
            .map(|e| (e.username.as_str(), e.valid_secs))
            .collect();
        assert_eq!(sent, [("a", DEFAULT_VALID_SECS), ("b", 0)]);
    }
}
