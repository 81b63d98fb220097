//! `run_tool`: one agent tool call on the hydrated repository.

use hero_common::tool_call::ToolCall;

use super::super::Services;
use super::super::failure::RunError;
use super::super::output::JobOutput;
use super::super::workspace::Workspace;

pub async fn run(
    services: &Services,
    workspace: &mut Workspace,
    call: ToolCall,
    output: &mut JobOutput,
) -> Result<serde_json::Value, RunError> {
    workspace.ensure_hydrated(services).await?;
    let manifest = workspace.manifest()?;
    let toolbox = workspace.toolbox(services, manifest);
    let mut sink = |stream, bytes: &[u8]| output.push(stream, bytes);
    let result = toolbox.run(call, Some(&mut sink)).await?;
    super::json(result)
}
