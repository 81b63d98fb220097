//! The local forge: bare repositories in a folder (`HERO_DATA_DIR/forge`),
//! served to sandboxes by `hero-api` over git's smart HTTP, with pull
//! requests kept as rows in Postgres. It lets a developer run every flow
//! offline, with the same hydrate, sync and submit code as GitHub.

mod repository;

use std::sync::Arc;

use async_trait::async_trait;
use hero_common::domain::{NewLocalPullRequest, Project};
use hero_common::local_forge::{ForgeLayout, ForgeTokens};
use hero_common::store::{LocalPullRequestStore, StoreError};
use secrecy::SecretString;

pub use repository::{BareRepository, RepositoryError};

use super::{
    Access, Forge, ForgeError, ForgeErrorKind, PullRequest, PullRequestSpec, RepoInfo, RepoRef,
};

pub struct LocalForge {
    layout: ForgeLayout,
    /// Where sandboxes reach the repositories: `{url}/{owner}/{name}.git`.
    url: String,
    tokens: ForgeTokens,
    pulls: Arc<dyn LocalPullRequestStore>,
}

impl LocalForge {
    pub fn new(
        layout: ForgeLayout,
        url: impl Into<String>,
        tokens: ForgeTokens,
        pulls: Arc<dyn LocalPullRequestStore>,
    ) -> Self {
        Self {
            layout,
            url: url.into().trim_end_matches('/').to_owned(),
            tokens,
            pulls,
        }
    }

    /// The bare repository of `repo`, which must exist.
    fn bare(&self, repo: &RepoRef) -> Result<BareRepository, ForgeError> {
        let path = self
            .layout
            .repository(&repo.owner, &repo.name)
            .map_err(|problem| ForgeError::new(ForgeErrorKind::Invalid, problem))?;
        let bare = BareRepository::at(path);
        if !bare.exists() {
            return Err(ForgeError::new(
                ForgeErrorKind::NotFound,
                format!(
                    "the local forge has no repository {}/{} (make it with `hero forge create {}/{}`)",
                    repo.owner, repo.name, repo.owner, repo.name
                ),
            ));
        }
        Ok(bare)
    }
}

fn git_failure(error: RepositoryError) -> ForgeError {
    ForgeError::new(ForgeErrorKind::Transient, format!("local forge: {error}"))
}

#[async_trait]
impl Forge for LocalForge {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn access_for(&self, _project: &Project) -> Result<Access, ForgeError> {
        // Every repository has its own token, derived when git needs it.
        Ok(Access::Anonymous)
    }

    async fn repository(&self, repo: &RepoRef) -> Result<RepoInfo, ForgeError> {
        let bare = self.bare(repo)?;
        let default_branch = bare.default_branch().await.map_err(git_failure)?;
        Ok(RepoInfo {
            clone_url: format!("{}/{}/{}.git", self.url, repo.owner, repo.name),
            default_branch,
        })
    }

    async fn git_token(&self, repo: &RepoRef) -> Result<Option<SecretString>, ForgeError> {
        self.bare(repo)?;
        Ok(Some(self.tokens.token_for(&repo.owner, &repo.name)))
    }

    async fn open_pull_request(
        &self,
        repo: &RepoRef,
        spec: &PullRequestSpec,
    ) -> Result<PullRequest, ForgeError> {
        let bare = self.bare(repo)?;
        for (role, branch) in [("head", &spec.head), ("base", &spec.base)] {
            if bare.commit_of(branch).await.map_err(git_failure)?.is_none() {
                return Err(ForgeError::new(
                    ForgeErrorKind::Invalid,
                    format!(
                        "the {role} branch {branch:?} is not in {}/{}",
                        repo.owner, repo.name
                    ),
                ));
            }
        }
        if bare
            .commits_ahead(&spec.base, &spec.head)
            .await
            .map_err(git_failure)?
            == 0
        {
            return Err(ForgeError::new(
                ForgeErrorKind::Invalid,
                format!("no commits between {} and {}", spec.base, spec.head),
            ));
        }

        let (opened, created) = self
            .pulls
            .open(NewLocalPullRequest {
                repo_owner: repo.owner.clone(),
                repo_name: repo.name.clone(),
                title: spec.title.clone(),
                body: spec.body.clone(),
                head: spec.head.clone(),
                base: spec.base.clone(),
                draft: spec.draft,
            })
            .await
            .map_err(|error| match error {
                StoreError::Database(_) => {
                    ForgeError::new(ForgeErrorKind::Transient, "local forge: database error")
                }
                other => ForgeError::new(ForgeErrorKind::Transient, other.to_string()),
            })?;
        Ok(PullRequest {
            number: u64::try_from(opened.number).unwrap_or_default(),
            url: format!(
                "{}/{}/{}/pull/{}",
                self.url, repo.owner, repo.name, opened.number
            ),
            head: opened.head,
            base: opened.base,
            created,
        })
    }
}
