//! `submit_pr`: push the agent branch and open its pull request, or find
//! the one an earlier attempt opened.

use hero_common::jobs::params::SubmitPrParams;

use super::super::Services;
use super::super::failure::RunError;
use super::super::workspace::Workspace;
use crate::forge::submit::{SubmitRequest, submit_pull_request};

pub async fn run(
    services: &Services,
    workspace: &mut Workspace,
    params: SubmitPrParams,
) -> Result<serde_json::Value, RunError> {
    workspace.ensure_hydrated(services).await?;
    workspace.with_remote(services).await?;
    let forbidden = workspace.manifest()?.forbidden;
    workspace
        .git()
        .refuse_forbidden_history(workspace.hydrated_commit()?, &forbidden)
        .await?;
    let request = SubmitRequest {
        title: params.title,
        body: params.body,
        branch: params.branch,
        base: params.base,
        draft: params.draft,
    };
    let record = submit_pull_request(
        &workspace.git(),
        &*services.forge,
        &workspace.repo,
        &workspace.policy(services),
        &*services.stores.pull_requests,
        workspace.project.id,
        &request,
    )
    .await?;
    super::json(record)
}
