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
    /// The state database could not be used (exit code 1).
    #[error("state database: {0}")]
    State(String),
    /// Anything else that stopped the command (exit code 1).
    #[error("{0}")]
    Other(String),
}

impl AgentError {
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
}

impl Outcome {
    /// The documented exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::InStep => 0,
            Outcome::SomeFailed => 3,
            Outcome::Blocked => 4,
        }
    }
    /// The worse of two outcomes (blocked > failed > in step).
    pub fn worst(self, other: Outcome) -> Outcome {
        self.max(other)
    }
}

/// A vendor client's error, sorted the way the engine needs: an answer that
/// may have been applied, one worth retrying, or a permanent refusal.
pub(crate) trait VendorError: std::fmt::Display {
    fn outcome_unknown(&self) -> bool;
    fn transient(&self) -> bool;
}

impl VendorError for duo_client::DuoError {
    fn outcome_unknown(&self) -> bool {
        self.is_outcome_unknown()
    }
    fn transient(&self) -> bool {
        self.is_transient()
    }
}

impl VendorError for pingone_client::Error {
    fn outcome_unknown(&self) -> bool {
        self.is_outcome_unknown()
    }
    fn transient(&self) -> bool {
        self.is_transient()
    }
}

/// A vendor error as the engine's `TargetError`, keeping its text.
pub(crate) fn target_error(what: String, e: impl VendorError) -> reconcile_engine::TargetError {
    use reconcile_engine::ErrorClass;
    let class = if e.outcome_unknown() {
        ErrorClass::OutcomeUnknown
    } else if e.transient() {
        ErrorClass::Transient
    } else {
        ErrorClass::Permanent
    };
    reconcile_engine::TargetError {
        class,
        message: format!("{what}: {e}"),
    }
}
