//! The agent's error and outcome types, and the exit code each maps to.

use crate::config::ConfigError;

/// Why a command could not run. Never holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The configuration is wrong (exit code 2).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The command was used wrongly, e.g. an unknown rule (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// Duo could not be used (exit code 1).
    #[error("Duo: {0}")]
    Duo(String),
    /// PingOne could not be used (exit code 1).
    #[error("PingOne: {0}")]
    PingOne(String),
    /// A Duo call failed (exit code 1); the client's error is kept as the source.
    #[error("Duo: {what}: {source}")]
    DuoCall {
        what: String,
        #[source]
        source: Box<duo_client::DuoError>,
    },
    /// A PingOne call failed (exit code 1); the client's error is kept as the source.
    #[error("PingOne: {what}: {source}")]
    PingOneCall {
        what: String,
        #[source]
        source: Box<pingone_client::Error>,
    },
    /// The state database could not be used (exit code 1).
    #[error("state database: {0}")]
    State(String),
    /// The state database is held by a running agent (exit code 1).
    #[error("state database: {0}")]
    StateLocked(String),
    /// The command's output could not be written, e.g. to a closed pipe
    /// (`p1duo plan | head -1`; the binary exits quietly then).
    #[error("writing the output: {0}")]
    Output(#[source] std::io::Error),
    /// Anything else that stopped the command (exit code 1).
    #[error("{0}")]
    Other(String),
}

impl AgentError {
    /// A failed Duo call: what was being done, and Duo's error.
    pub(crate) fn duo(what: impl Into<String>, source: duo_client::DuoError) -> AgentError {
        AgentError::DuoCall {
            what: what.into(),
            source: Box::new(source),
        }
    }

    /// A failed PingOne call: what was being done, and PingOne's error.
    pub(crate) fn pingone(what: impl Into<String>, source: pingone_client::Error) -> AgentError {
        AgentError::PingOneCall {
            what: what.into(),
            source: Box::new(source),
        }
    }

    /// The output went to a reader that is gone (a closed pipe).
    pub fn is_closed_output(&self) -> bool {
        matches!(self, AgentError::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// The documented exit code: 2 for usage and config, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            AgentError::Config(_) | AgentError::Usage(_) => 2,
            _ => 1,
        }
    }
}

/// How a command that ran ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Everything in step (exit code 0).
    InStep,
    /// It ran but some objects failed (exit code 3).
    SomeFailed,
    /// A safety limit blocked a plan (exit code 4).
    Blocked,
    /// Nothing ran: a rule's last cycle could not run, no cycle ran yet, or
    /// there is no state database (`status`; exit code 1).
    Failing,
}

impl Outcome {
    /// The documented exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::InStep => 0,
            Outcome::SomeFailed => 3,
            Outcome::Blocked => 4,
            Outcome::Failing => 1,
        }
    }
    /// The worse of two outcomes (blocked > failed > in step).
    pub fn worst(self, other: Outcome) -> Outcome {
        self.max(other)
    }

    /// The word logs, `--json` output and `status` use for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::InStep => "in_step",
            Outcome::SomeFailed => "some_failed",
            Outcome::Blocked => "blocked",
            Outcome::Failing => "failing",
        }
    }
}

/// A vendor client's error class, as the engine's.
pub(crate) trait VendorError: std::fmt::Display {
    fn engine_class(&self) -> reconcile_engine::ErrorClass;
}

impl VendorError for duo_client::DuoError {
    fn engine_class(&self) -> reconcile_engine::ErrorClass {
        use duo_client::ErrorClass as C;
        match self.class() {
            C::Transient => reconcile_engine::ErrorClass::Transient,
            C::OutcomeUnknown => reconcile_engine::ErrorClass::OutcomeUnknown,
            C::Permanent => reconcile_engine::ErrorClass::Permanent,
        }
    }
}

impl VendorError for pingone_client::Error {
    fn engine_class(&self) -> reconcile_engine::ErrorClass {
        use pingone_client::ErrorClass as C;
        match self.class() {
            C::Transient => reconcile_engine::ErrorClass::Transient,
            C::OutcomeUnknown => reconcile_engine::ErrorClass::OutcomeUnknown,
            C::Permanent => reconcile_engine::ErrorClass::Permanent,
        }
    }
}

/// A vendor error as the engine's `TargetError`, keeping its text.
pub(crate) fn target_error(what: String, e: impl VendorError) -> reconcile_engine::TargetError {
    reconcile_engine::TargetError {
        class: e.engine_class(),
        message: format!("{what}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_call_keeps_the_clients_error_as_its_source() {
        let e = AgentError::duo(
            "listing users",
            duo_client::DuoError::Decode {
                call: "GET /admin/v1/users".into(),
                detail: "not JSON".into(),
            },
        );
        assert!(e.to_string().starts_with("Duo: listing users: "), "{e}");
        let source = std::error::Error::source(&e).expect("the client's error is kept");
        assert!(source.to_string().contains("not JSON"), "{source}");
        assert_eq!(e.exit_code(), 1);
    }

    #[test]
    fn an_outcome_is_logged_in_the_words_of_status_json() {
        for o in [
            Outcome::InStep,
            Outcome::SomeFailed,
            Outcome::Blocked,
            Outcome::Failing,
        ] {
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
        }
    }
}
