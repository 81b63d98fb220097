//! What each kind of job does in its workspace. Every handler returns the
//! job's result as JSON, already redacted, or a [`RunError`] that says
//! whether trying again could help.

mod hydrate;
mod run_tool;
mod submit_pr;
mod sync;

use hero_common::jobs::params::JobParams;

use super::Services;
use super::failure::RunError;
use super::output::JobOutput;
use super::workspace::Workspace;

/// Runs `params` in `workspace`; command output goes to `output`.
pub async fn run(
    services: &Services,
    workspace: &mut Workspace,
    params: JobParams,
    output: &mut JobOutput,
) -> Result<serde_json::Value, RunError> {
    match params {
        JobParams::Hydrate(params) => hydrate::run(services, workspace, params).await,
        JobParams::RunTool(call) => run_tool::run(services, workspace, call, output).await,
        JobParams::Sync(params) => sync::run(services, workspace, params).await,
        JobParams::SubmitPr(params) => submit_pr::run(services, workspace, params).await,
    }
}

/// A result as JSON; the types serialised here cannot fail to.
fn json(value: impl serde::Serialize) -> Result<serde_json::Value, RunError> {
    serde_json::to_value(value).map_err(|error| RunError::permanent("internal", error.to_string()))
}
