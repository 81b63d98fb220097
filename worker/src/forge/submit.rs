//! `submit_pr`: push the agent branch, open its pull request (or find the
//! one a previous attempt opened), and record it.

use hero_common::domain::{NewPullRequest, PullRequestRecord};
use hero_common::store::{PullRequestStore, StoreError};
use hero_common::validate;
use uuid::Uuid;

use super::{Forge, ForgeError, PullRequestSpec, RepoRef};
use crate::git::{Git, GitError, SyncPolicy};

/// What the job asks for.
#[derive(Debug, Clone)]
pub struct SubmitRequest {
    pub title: String,
    pub body: Option<String>,
    pub branch: String,
    /// The project's default branch when `None`.
    pub base: Option<String>,
    pub draft: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("forge: {0}")]
    Forge(#[from] ForgeError),
    #[error("recording the pull request: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
}

/// Pushes the branch and opens its pull request. Safe to retry: the push
/// is idempotent, the forge returns the open pull request from the same
/// head instead of opening another, and the record keeps one row.
pub async fn submit_pull_request(
    git: &Git,
    forge: &dyn Forge,
    repo: &RepoRef,
    policy: &SyncPolicy,
    store: &dyn PullRequestStore,
    project_id: Uuid,
    request: &SubmitRequest,
) -> Result<PullRequestRecord, SubmitError> {
    if request.title.trim().is_empty() {
        return Err(SubmitError::Invalid("title is empty".to_owned()));
    }
    let branch = policy.agent_branch(&request.branch)?;
    let base = request
        .base
        .clone()
        .unwrap_or_else(|| policy.default_branch.clone());
    validate::branch_name(&base).map_err(SubmitError::Invalid)?;
    if base == branch {
        return Err(SubmitError::Invalid(format!(
            "head and base are both {branch:?}"
        )));
    }

    let local = format!("refs/heads/{branch}");
    let (exists, _) = git
        .try_run(&["show-ref", "--verify", "--quiet", &local])
        .await?;
    let source = if exists == Some(0) {
        local
    } else {
        "HEAD".to_owned()
    };
    let refspec = format!("{source}:refs/heads/{branch}");
    git.run_remote(&[
        "push",
        "--porcelain",
        "--end-of-options",
        "origin",
        &refspec,
    ])
    .await?;

    let spec = PullRequestSpec {
        title: request.title.clone(),
        body: request.body.clone(),
        head: branch.clone(),
        base: base.clone(),
        draft: request.draft,
    };
    let opened = forge.open_pull_request(repo, &spec).await?;
    tracing::info!(number = opened.number, created = opened.created, %branch, "pull request ready");

    let record = store
        .record(NewPullRequest {
            project_id,
            forge: forge.name().to_owned(),
            number: i64::try_from(opened.number).unwrap_or(i64::MAX),
            url: opened.url,
            title: request.title.clone(),
            head: branch,
            base,
        })
        .await?;
    Ok(record)
}
