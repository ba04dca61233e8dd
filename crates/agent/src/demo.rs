//! `p1duo demo`: both simulators in-process with a sample directory.

use crate::{AgentError, Outcome};
use std::io::Write;

/// Run the demo; with `serve`, keep the agent and its status page running.
pub async fn demo(_serve: bool, _out: &mut dyn Write) -> Result<Outcome, AgentError> {
    Err(AgentError::Other(
        "demo is not available in this build yet".into(),
    ))
}
