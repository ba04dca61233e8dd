//! `p1duo run`: the long-running agent.

use crate::{AgentError, Outcome};
use std::path::PathBuf;

/// Run the agent until SIGINT or SIGTERM.
pub async fn run(_config_path: PathBuf) -> Result<Outcome, AgentError> {
    Err(AgentError::Other(
        "run is not available in this build yet".into(),
    ))
}
