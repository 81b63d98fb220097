//! Forges: where repositories live and pull requests are opened.
//!
//! [`github`] talks to GitHub (or GitHub Enterprise, or the fake GitHub in
//! tests) through its REST API; [`local`] keeps bare repositories in a
//! folder for offline work; [`submit`] pushes an agent branch and opens its
//! pull request through either.

pub mod github;
pub mod local;
pub mod submit;

use async_trait::async_trait;
use hero_common::domain::Project;
use secrecy::SecretString;

/// Which repository, and whose access to use for it.
#[derive(Debug, Clone)]
pub struct RepoRef {
    pub owner: String,
    pub name: String,
    pub access: Access,
}

/// How Hero authenticates to the forge for one project.
#[derive(Debug, Clone)]
pub enum Access {
    /// A GitHub App installation: tokens are minted from the app's JWT.
    Installation { installation_id: i64 },
    /// A user's OAuth token, stored encrypted and refreshed when expired.
    OAuthUser { user_id: uuid::Uuid },
    /// A personal token (development).
    Token(SecretString),
    /// No credentials (the local forge, public repositories).
    Anonymous,
}

/// A repository as the forge describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoInfo {
    /// Where git clones it from (GitHub's `clone_url`), never with a token.
    pub clone_url: String,
    pub default_branch: String,
}

/// What a pull request should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestSpec {
    pub title: String,
    pub body: Option<String>,
    /// The branch with the changes, in the same repository.
    pub head: String,
    pub base: String,
    pub draft: bool,
}

/// An open pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    /// Where people look at it (GitHub's `html_url`).
    pub url: String,
    pub head: String,
    pub base: String,
    /// False when an open pull request from the same head already existed
    /// (a retry) and was returned instead of opening another.
    pub created: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForgeErrorKind {
    /// No such repository, or no access to it.
    NotFound,
    /// Credentials missing, expired beyond refresh, or refused.
    Unauthorized,
    /// The request is wrong (e.g. no commits between head and base).
    Invalid,
    /// Worth retrying later: rate limits, 5xx, lost connections.
    Transient,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ForgeError {
    pub kind: ForgeErrorKind,
    pub message: String,
    /// When the forge said to come back (Retry-After, rate-limit reset).
    pub retry_after: Option<std::time::Duration>,
}

impl ForgeError {
    pub fn new(kind: ForgeErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry_after: None,
        }
    }
}

/// What Hero needs of a forge.
#[async_trait]
pub trait Forge: Send + Sync {
    /// `github` or `local`.
    fn name(&self) -> &'static str;

    /// Which credentials `project` uses on this forge.
    async fn access_for(&self, project: &Project) -> Result<Access, ForgeError>;

    async fn repository(&self, repo: &RepoRef) -> Result<RepoInfo, ForgeError>;

    /// A token git can use over HTTPS for this repository (sent as
    /// `Authorization: Basic x-access-token:<token>`), or `None` when the
    /// forge needs none.
    async fn git_token(&self, repo: &RepoRef) -> Result<Option<SecretString>, ForgeError>;

    /// Opens a pull request, or returns the open one from the same head:
    /// a retried call never opens a second.
    async fn open_pull_request(
        &self,
        repo: &RepoRef,
        spec: &PullRequestSpec,
    ) -> Result<PullRequest, ForgeError>;
}
