//! Opening a pull request so that no retry ever opens a second one
//! (NOTES §1, "Idempotent flow").
//!
//! Each try first lists the open pull requests from `owner:branch` into the
//! base: GitHub ignores a `head` filter without the owner and lists every
//! open pull request instead. Only when none is found does it create one. A
//! 422 "A pull request already exists" means an earlier try (or another
//! worker) got there first, so the existing one is fetched and returned.
//! When GitHub created the pull request but its answer was lost, the try
//! fails as transient and the next try's lookup finds it.

use octocrab::Octocrab;
use octocrab::models::pulls::PullRequest as GitHubPullRequest;
use octocrab::params::State;

use super::GitHubForge;
use super::errors::{self, Failure};
use crate::forge::{ForgeError, ForgeErrorKind, PullRequest, PullRequestSpec, RepoRef};

/// One try: look, then create, then look again if GitHub says it exists.
pub(super) async fn open(
    forge: &GitHubForge,
    client: Octocrab,
    repo: &RepoRef,
    spec: &PullRequestSpec,
) -> Result<PullRequest, Failure> {
    if let Some(existing) = find_open(forge, &client, repo, spec).await? {
        return Ok(existing);
    }

    let pulls = client.pulls(&repo.owner, &repo.name);
    let create = pulls
        .create(&spec.title, &spec.head, &spec.base)
        .body::<String>(spec.body.clone())
        .draft(spec.draft)
        .send();
    let created = tokio::time::timeout(forge.request_timeout, create)
        .await
        .map_err(|_| errors::timed_out("creating the pull request", forge.request_timeout))?;

    match created {
        Ok(pull) => Ok(convert(&pull, true)),
        Err(error) if errors::is_already_exists(&error) => {
            tracing::info!("GitHub says the pull request exists; fetching it");
            find_open(forge, &client, repo, spec).await?.ok_or_else(|| {
                // GitHub's list can lag its create; the next try looks again.
                Failure::from(ForgeError::new(
                    ForgeErrorKind::Transient,
                    "GitHub says an open pull request from this head exists, \
                     but does not list it yet",
                ))
            })
        }
        Err(error) => Err(errors::call_failed("creating the pull request", error)),
    }
}

/// The open pull request from `spec.head` into `spec.base`, if any.
async fn find_open(
    forge: &GitHubForge,
    client: &Octocrab,
    repo: &RepoRef,
    spec: &PullRequestSpec,
) -> Result<Option<PullRequest>, Failure> {
    let pulls = client.pulls(&repo.owner, &repo.name);
    let page = forge
        .request(
            "looking for an open pull request",
            pulls
                .list()
                .state(State::Open)
                .head(format!("{}:{}", repo.owner, spec.head))
                .base(&spec.base)
                .per_page(100u8)
                .send(),
        )
        .await?;

    // The filter should leave only matches; checking again costs nothing
    // and keeps a server that ignores it from handing back a stranger's.
    Ok(page
        .items
        .iter()
        .find(|pull| {
            pull.head.ref_field == spec.head
                && pull.base.ref_field == spec.base
                && pull.head.repo.as_ref().is_none_or(|head_repo| {
                    head_repo
                        .owner
                        .as_ref()
                        .is_none_or(|owner| owner.login.eq_ignore_ascii_case(&repo.owner))
                })
        })
        .map(|pull| convert(pull, false)))
}

fn convert(pull: &GitHubPullRequest, created: bool) -> PullRequest {
    PullRequest {
        number: pull.number,
        url: pull
            .html_url
            .as_ref()
            .map_or_else(|| pull.url.clone(), |url| url.to_string()),
        head: pull.head.ref_field.clone(),
        base: pull.base.ref_field.clone(),
        created,
    }
}
