//! The GitHub forge: repositories and pull requests through GitHub's REST
//! API (or GitHub Enterprise's, or the fake GitHub's in tests), with
//! octocrab as the HTTP client.
//!
//! Three kinds of credentials, chosen per project ([`Access`]): a GitHub
//! App installation ([`installation`]), the project owner's OAuth token
//! ([`hero_common::github_oauth`]), or a personal token. Whichever it is,
//! git gets the same token through [`Forge::git_token`].
//!
//! Retries are Hero's ([`retry`]); octocrab's are off. Opening a pull
//! request is idempotent ([`pulls`]): every try looks for the open pull
//! request from the head first.

mod config;
mod errors;
mod installation;
mod pulls;
mod retry;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hero_common::domain::Project;
use hero_common::github_oauth::{OAuthError, OAuthTokenStore};
use hero_common::settings::Settings;
use hero_common::validate;
use octocrab::Octocrab;
use octocrab::service::middleware::retry::RetryConfig;
use reqwest::header::ACCEPT;
use secrecy::SecretString;

pub use config::{AppCredentials, GitHubConfig, RetryPolicy};

use super::{
    Access, Forge, ForgeError, ForgeErrorKind, PullRequest, PullRequestSpec, RepoInfo, RepoRef,
};
use errors::Failure;
use installation::InstallationTokens;

/// Why a GitHub forge could not be built. Reported at start.
#[derive(Debug, thiserror::Error)]
pub enum GitHubSetupError {
    #[error("GITHUB_API_URL {url:?} is not usable: {problem}")]
    ApiUrl { url: String, problem: String },
    #[error("GitHub App: {0}")]
    App(String),
    #[error("building the GitHub client: {0}")]
    Client(String),
}

/// The GitHub forge. Cheap to share behind an `Arc`.
pub struct GitHubForge {
    /// Without credentials; each call adds its own.
    client: Octocrab,
    installations: Option<InstallationTokens>,
    oauth: Option<Arc<OAuthTokenStore>>,
    personal_token: Option<SecretString>,
    retry: RetryPolicy,
    request_timeout: Duration,
}

impl GitHubForge {
    /// A forge for `config`. OAuth user access needs `oauth`; without it,
    /// projects that rely on their owner's token are refused. Must be
    /// called inside a Tokio runtime (octocrab spawns its client's worker).
    pub fn new(
        config: GitHubConfig,
        oauth: Option<Arc<OAuthTokenStore>>,
    ) -> Result<Self, GitHubSetupError> {
        let installations = config
            .app
            .as_ref()
            .map(|app| InstallationTokens::new(app, config.token_refresh_margin))
            .transpose()
            .map_err(GitHubSetupError::App)?;

        let api_url = config.api_url.trim_end_matches('/').to_owned();
        let timeout = Some(config.request_timeout);
        let client = Octocrab::builder()
            .base_uri(api_url.as_str())
            .map_err(|e| GitHubSetupError::ApiUrl {
                url: api_url.clone(),
                problem: e.to_string(),
            })?
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(timeout)
            .set_read_timeout(timeout)
            .set_write_timeout(timeout)
            .add_header(ACCEPT, "application/vnd.github+json".to_owned())
            .build()
            .map_err(|e| GitHubSetupError::Client(e.to_string()))?;

        Ok(Self {
            client,
            installations,
            oauth,
            personal_token: config.personal_token,
            retry: config.retry,
            request_timeout: config.request_timeout,
        })
    }

    /// The forge the settings describe (`GITHUB_API_URL`, the app,
    /// `GITHUB_TOKEN`).
    pub fn from_settings(
        settings: &Settings,
        oauth: Option<Arc<OAuthTokenStore>>,
    ) -> Result<Self, GitHubSetupError> {
        Self::new(GitHubConfig::from_settings(settings), oauth)
    }

    /// The token `access` stands for right now (none for anonymous).
    async fn credential(&self, access: &Access) -> Result<Option<SecretString>, ForgeError> {
        match access {
            Access::Anonymous => Ok(None),
            Access::Token(token) => Ok(Some(token.clone())),
            Access::OAuthUser { user_id } => {
                let oauth = self.oauth_store()?;
                let token = oauth
                    .valid_access_token(*user_id)
                    .await
                    .map_err(|e| oauth_error(&e))?;
                Ok(Some(token))
            }
            Access::Installation { installation_id } => {
                let token = self
                    .installation_tokens()?
                    .token(&self.client, *installation_id, self.request_timeout)
                    .await?;
                Ok(Some(token))
            }
        }
    }

    fn oauth_store(&self) -> Result<&OAuthTokenStore, ForgeError> {
        self.oauth.as_deref().ok_or_else(|| {
            ForgeError::new(
                ForgeErrorKind::Unauthorized,
                "the project uses its owner's GitHub sign-in, but this worker has no \
                 GitHub OAuth app configured (GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET)",
            )
        })
    }

    fn installation_tokens(&self) -> Result<&InstallationTokens, ForgeError> {
        self.installations.as_ref().ok_or_else(|| {
            ForgeError::new(
                ForgeErrorKind::Unauthorized,
                "the project uses a GitHub App installation, but no GitHub App is \
                 configured (GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY)",
            )
        })
    }

    /// Runs `call` with a client carrying `access`'s token. A token GitHub
    /// refuses (401) may have been revoked before its expiry: an
    /// installation token is dropped and a user's OAuth token refreshed, and
    /// `call` runs once more with the new one.
    async fn with_client<T, F, Fut>(&self, access: &Access, call: F) -> Result<T, ForgeError>
    where
        F: Fn(Octocrab) -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let token = self.credential(access).await?;
        let failure = match call(self.client_for(token.as_ref())?).await {
            Ok(value) => return Ok(value),
            Err(failure) => failure,
        };
        let Some(refused) = token.filter(|_| failure.bad_credentials) else {
            return Err(failure.error);
        };

        let renewed = match access {
            Access::Installation { installation_id } => {
                tracing::info!(
                    installation_id,
                    "installation token refused; minting another"
                );
                self.installation_tokens()?
                    .forget(*installation_id, &refused)
                    .await;
                self.credential(access).await?
            }
            Access::OAuthUser { user_id } => {
                tracing::info!(%user_id, "OAuth token refused before its expiry; refreshing it");
                let token = self
                    .oauth_store()?
                    .refresh_refused(*user_id, &refused)
                    .await
                    .map_err(|e| oauth_error(&e))?;
                Some(token)
            }
            Access::Anonymous | Access::Token(_) => return Err(failure.error),
        };
        call(self.client_for(renewed.as_ref())?)
            .await
            .map_err(|failure| failure.error)
    }

    fn client_for(&self, token: Option<&SecretString>) -> Result<Octocrab, ForgeError> {
        match token {
            None => Ok(self.client.clone()),
            Some(token) => self
                .client
                .user_access_token(token.clone())
                .map_err(|e| errors::from_octocrab("preparing the GitHub client", e)),
        }
    }

    /// Runs one GitHub request with the request timeout.
    async fn request<T>(
        &self,
        what: &str,
        call: impl Future<Output = octocrab::Result<T>>,
    ) -> Result<T, Failure> {
        tokio::time::timeout(self.request_timeout, call)
            .await
            .map_err(|_| errors::timed_out(what, self.request_timeout))?
            .map_err(|e| errors::call_failed(what, e))
    }
}

#[async_trait]
impl Forge for GitHubForge {
    fn name(&self) -> &'static str {
        "github"
    }

    /// Which credentials a project uses: its GitHub App installation if it
    /// has one, else its owner's OAuth token if the owner connected GitHub,
    /// else the personal token if one is configured, else none.
    async fn access_for(&self, project: &Project) -> Result<Access, ForgeError> {
        if let Some(installation_id) = project.github_installation_id {
            return Ok(Access::Installation { installation_id });
        }
        if let Some(oauth) = &self.oauth {
            let connected = oauth
                .is_connected(project.owner_id)
                .await
                .map_err(|e| oauth_error(&e))?;
            if connected {
                return Ok(Access::OAuthUser {
                    user_id: project.owner_id,
                });
            }
        }
        Ok(match &self.personal_token {
            Some(token) => Access::Token(token.clone()),
            None => Access::Anonymous,
        })
    }

    #[tracing::instrument(skip_all, fields(owner = %repo.owner, repo = %repo.name))]
    async fn repository(&self, repo: &RepoRef) -> Result<RepoInfo, ForgeError> {
        check_repo(repo)?;
        const WHAT: &str = "reading the repository";

        self.retry
            .run(WHAT, || {
                self.with_client(&repo.access, |client| async move {
                    let found = self
                        .request(WHAT, client.repos(&repo.owner, &repo.name).get())
                        .await?;
                    let missing = |field: &str| {
                        ForgeError::new(
                            ForgeErrorKind::Invalid,
                            format!("{WHAT}: GitHub's answer has no {field}"),
                        )
                    };
                    Ok(RepoInfo {
                        clone_url: found.clone_url.ok_or_else(|| missing("clone_url"))?.into(),
                        default_branch: found
                            .default_branch
                            .ok_or_else(|| missing("default_branch"))?,
                    })
                })
            })
            .await
    }

    #[tracing::instrument(skip_all, fields(owner = %repo.owner, repo = %repo.name))]
    async fn git_token(&self, repo: &RepoRef) -> Result<Option<SecretString>, ForgeError> {
        self.retry
            .run("getting a token for git", || async {
                self.credential(&repo.access).await
            })
            .await
    }

    #[tracing::instrument(
        skip_all,
        fields(owner = %repo.owner, repo = %repo.name, head = %spec.head, base = %spec.base)
    )]
    async fn open_pull_request(
        &self,
        repo: &RepoRef,
        spec: &PullRequestSpec,
    ) -> Result<PullRequest, ForgeError> {
        check_repo(repo)?;
        for (field, branch) in [("head", &spec.head), ("base", &spec.base)] {
            validate::branch_name(branch).map_err(|problem| {
                ForgeError::new(ForgeErrorKind::Invalid, format!("{field}: {problem}"))
            })?;
        }

        let opened = self
            .retry
            .run("opening a pull request", || {
                self.with_client(&repo.access, |client| pulls::open(self, client, repo, spec))
            })
            .await?;
        tracing::info!(
            number = opened.number,
            created = opened.created,
            "pull request open"
        );
        Ok(opened)
    }
}

impl std::fmt::Debug for GitHubForge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubForge")
            .field("installations", &self.installations)
            .field("oauth", &self.oauth.is_some())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// octocrab puts owner and name into paths unencoded (NOTES §2), so they
/// are checked against GitHub's own rules first.
fn check_repo(repo: &RepoRef) -> Result<(), ForgeError> {
    let invalid = |field: &str, problem: String| {
        ForgeError::new(ForgeErrorKind::Invalid, format!("{field}: {problem}"))
    };
    validate::repo_owner(&repo.owner).map_err(|p| invalid("repository owner", p))?;
    validate::repo_name(&repo.name).map_err(|p| invalid("repository name", p))
}

fn oauth_error(error: &OAuthError) -> ForgeError {
    let kind = match error {
        OAuthError::Unavailable { .. } | OAuthError::Store(_) => ForgeErrorKind::Transient,
        _ => ForgeErrorKind::Unauthorized,
    };
    ForgeError {
        kind,
        message: error.to_string(),
        retry_after: match error {
            OAuthError::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        },
    }
}
