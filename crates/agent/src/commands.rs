//! The one-shot commands behind `p1duo check|plan|sync|status|explain|api`.

use crate::{AgentError, Config, Outcome};
use std::io::Write;

/// Options of `sync`.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Only this rule.
    pub rule: Option<String>,
    /// Carry out plans beyond the safety limits.
    pub allow_deletes: bool,
    /// Draw a progress bar (on a terminal).
    pub progress: bool,
}

/// Which side `api` calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiSide {
    Duo,
    PingOne,
}

fn not_yet(what: &str) -> AgentError {
    AgentError::Other(format!("{what} is not available in this build yet"))
}

/// `p1duo check`.
pub async fn check(_c: &Config, _out: &mut dyn Write) -> Result<Outcome, AgentError> {
    Err(not_yet("check"))
}

/// `p1duo plan`.
pub async fn plan(
    _c: &Config,
    _rule: Option<&str>,
    _json: bool,
    _out: &mut dyn Write,
) -> Result<Outcome, AgentError> {
    Err(not_yet("plan"))
}

/// `p1duo sync`.
pub async fn sync(
    _c: &Config,
    _o: &SyncOptions,
    _out: &mut dyn Write,
) -> Result<Outcome, AgentError> {
    Err(not_yet("sync"))
}

/// `p1duo status`.
pub async fn status(_c: &Config, _json: bool, _out: &mut dyn Write) -> Result<Outcome, AgentError> {
    Err(not_yet("status"))
}

/// `p1duo explain USER`.
pub async fn explain(
    _c: &Config,
    _user: &str,
    _out: &mut dyn Write,
) -> Result<Outcome, AgentError> {
    Err(not_yet("explain"))
}

/// `p1duo api duo|pingone METHOD PATH [k=v...]`.
pub async fn api(
    _c: &Config,
    _side: ApiSide,
    _method: &str,
    _path: &str,
    _params: &[String],
    _out: &mut dyn Write,
) -> Result<Outcome, AgentError> {
    Err(not_yet("api"))
}
