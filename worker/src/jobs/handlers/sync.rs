//! `sync`: the working tree's status, committing and pushing it to an
//! agent branch, discarding it, or starting a branch.

use hero_common::jobs::params::SyncParams;
use serde_json::json;

use super::super::Services;
use super::super::failure::RunError;
use super::super::workspace::Workspace;

pub async fn run(
    services: &Services,
    workspace: &mut Workspace,
    params: SyncParams,
) -> Result<serde_json::Value, RunError> {
    workspace.ensure_hydrated(services).await?;
    let policy = workspace.policy(services);
    match params {
        SyncParams::Status => {
            let status = workspace.git().status().await?;
            super::json(status)
        }
        SyncParams::CommitAndPush { message, branch } => {
            workspace.with_remote(services).await?;
            let forbidden = workspace.manifest()?.forbidden;
            let git = workspace.git();
            git.refuse_forbidden_history(workspace.hydrated_commit()?, &forbidden)
                .await?;
            let synced = git
                .commit_and_push(&policy, &forbidden, &message, &branch)
                .await?;
            super::json(synced)
        }
        SyncParams::Discard => {
            workspace.git().discard().await?;
            let status = workspace.git().status().await?;
            Ok(json!({ "discarded": true, "status": status }))
        }
        SyncParams::CreateBranch { branch } => {
            let git = workspace.git();
            let wanted = policy.agent_branch(&branch)?;
            // A retry finds the branch made by the attempt before it.
            let current = git.status().await?.branch;
            if current.as_deref() == Some(wanted.as_str()) {
                return Ok(json!({ "branch": wanted, "created": false }));
            }
            let created = git.create_branch(&policy, &branch).await?;
            Ok(json!({ "branch": created, "created": true }))
        }
    }
}
