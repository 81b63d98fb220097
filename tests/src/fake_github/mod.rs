//! A fake GitHub: the REST operations Hero uses (`openapi-subset.json`
//! under `shared/specs/github/`), installation tokens for a GitHub App,
//! the OAuth web flow's token endpoint, and a git smart-HTTP server for the
//! repositories, all on 127.0.0.1.
//!
//! Answers have the shapes octocrab parses ([`shapes`]), and the rules
//! GitHub applies: a token sees what it was granted, JWTs are verified with
//! the app's public key, OAuth codes work once, refresh tokens rotate, and
//! a `head` filter without `owner:` is ignored. The git server accepts the
//! tokens the fake issued, so clone and push prove the token path.
//! [`Faults`] makes it misbehave on demand; [`webhooks`] builds the
//! signed deliveries GitHub would send.

mod api;
mod apps;
mod error;
mod faults;
mod keys;
mod oauth;
mod shapes;
mod state;
pub mod webhooks;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use chrono::Utc;
use hero_common::github_oauth::OAuthConfig;
use hero_worker::forge::github::{AppCredentials, GitHubConfig, RetryPolicy};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::git_http::{self, GitHttpServer, TokenCheck};
pub use error::ApiError;
pub use faults::{Endpoint, Fault, Faults};
pub use keys::AppKey;
pub use state::{Counts, RecordedRequest};
use state::{Grant, Repo, State};

/// How the fake is set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the bare repositories live (`owner/name.git`).
    pub root: PathBuf,
    pub app: AppKey,
    pub client_id: String,
    pub client_secret: String,
}

impl Options {
    /// A new temporary root, a new app key, and fixed OAuth app
    /// credentials.
    pub fn generated() -> Self {
        Self {
            root: git_http::tempdir("fake-github"),
            app: AppKey::generate(4242),
            client_id: "Iv1.fakehero".to_owned(),
            client_secret: format!("fake-secret-{}", uuid::Uuid::new_v4().simple()),
        }
    }
}

/// A pull request as the fake holds it, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullSummary {
    pub number: u64,
    pub title: String,
    pub head: String,
    pub base: String,
    pub open: bool,
    pub draft: bool,
    pub author: String,
}

/// A fake GitHub running in this process. Dropping it stops both servers
/// and removes the repositories.
pub struct FakeGitHub {
    /// `http://127.0.0.1:PORT`: the API URL and the web URL (OAuth).
    pub url: String,
    pub git: GitHttpServer,
    pub app: AppKey,
    pub client_id: String,
    pub client_secret: String,
    pub faults: Faults,
    state: Arc<State>,
    server: JoinHandle<()>,
    root: PathBuf,
}

impl FakeGitHub {
    /// Starts a fake on free ports with a generated app key.
    pub async fn start() -> Self {
        let api = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let git = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        Self::start_on(api, git, Options::generated())
    }

    /// Starts a fake whose API listens on `api` and git server on `git`.
    pub fn start_on(api: TcpListener, git: TcpListener, options: Options) -> Self {
        let api_url = format!("http://{}", api.local_addr().expect("bound address"));
        let git_url = format!("http://{}", git.local_addr().expect("bound address"));
        let state = Arc::new(State::new(
            api_url.clone(),
            git_url,
            options.root.clone(),
            options.app.clone(),
            options.client_id.clone(),
            options.client_secret.clone(),
        ));

        let check_state = state.clone();
        let check: TokenCheck =
            Arc::new(move |token: &str, repo: &str| check_state.git_token_allows(token, repo));
        let git = GitHttpServer::serve_on(git, options.root.clone(), check);
        let app = router(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(api, app).await.ok();
        });

        Self {
            url: api_url,
            git,
            app: options.app,
            client_id: options.client_id,
            client_secret: options.client_secret,
            faults: state.faults.clone(),
            state,
            server,
            root: options.root,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A repository with one commit (a README) on `main`, its default
    /// branch. Returns the bare repository's path.
    pub async fn add_repo(&self, owner: &str, name: &str) -> PathBuf {
        self.add_repo_with(owner, name, "main", &[("README.md", "# hello\n")], false)
            .await
    }

    /// A repository with `files` committed on `default_branch`.
    pub async fn add_repo_with(
        &self,
        owner: &str,
        name: &str,
        default_branch: &str,
        files: &[(&str, &str)],
        private: bool,
    ) -> PathBuf {
        let path = git_http::bare_repo_path(&self.root, owner, name);
        git_http::create_bare_repo(&path, default_branch, files).await;

        let mut inner = self.state.lock();
        let id = inner.next_id();
        inner.repos.insert(
            api::key(owner, name),
            Repo {
                id,
                owner: owner.to_owned(),
                name: name.to_owned(),
                private,
                default_branch: default_branch.to_owned(),
                created_at: Utc::now(),
                pulls: Vec::new(),
            },
        );
        path
    }

    /// Commits `files` to `branch`, starting it from the default branch
    /// when new, as a push would. Returns the commit id.
    pub async fn push_branch(
        &self,
        owner: &str,
        name: &str,
        branch: &str,
        files: &[(&str, &str)],
    ) -> String {
        let default_branch = {
            let inner = self.state.lock();
            let repo = inner
                .repos
                .get(&api::key(owner, name))
                .expect("push_branch: add the repository first");
            repo.default_branch.clone()
        };
        let path = git_http::bare_repo_path(&self.root, owner, name);
        git_http::commit_files(&path, Some(&default_branch), branch, files, "Change").await
    }

    /// The app is installed on `account`'s repositories as
    /// `installation_id`.
    pub fn add_installation(&self, installation_id: i64, account: &str) {
        self.state
            .lock()
            .installations
            .insert(installation_id, account.to_owned());
    }

    /// A personal access token (`ghp_…`) for `login`, good for every
    /// repository.
    pub fn add_personal_token(&self, login: &str) -> String {
        let mut inner = self.state.lock();
        let token = inner.new_token("ghp_");
        inner.tokens.insert(
            token.clone(),
            Grant::Personal {
                login: login.to_owned(),
            },
        );
        token
    }

    /// `login` approves the OAuth app: the code GitHub would redirect them
    /// back with.
    pub fn authorize(&self, login: &str, redirect_uri: Option<&str>) -> String {
        oauth::authorize(&mut self.state.lock(), login, redirect_uri)
    }

    /// How long installation tokens minted from now on last.
    pub fn set_installation_token_lifetime(&self, lifetime: Duration) {
        self.state.lock().lifetimes.installation_token = lifetime;
    }

    /// How long user tokens issued from now on last; `None` for tokens that
    /// never expire (and come without a refresh token).
    pub fn set_user_token_lifetimes(&self, access: Option<Duration>, refresh: Duration) {
        let mut inner = self.state.lock();
        inner.lifetimes.user_access = access;
        inner.lifetimes.user_refresh = refresh;
    }

    /// Revokes every token of one installation, as suspending and
    /// restoring the app would.
    pub fn revoke_installation_tokens(&self, installation_id: i64) {
        self.state.lock().tokens.retain(|_, grant| {
            !matches!(grant, Grant::Installation { installation_id: id, .. } if *id == installation_id)
        });
    }

    /// Revokes a user's OAuth access tokens before their expiry, as GitHub
    /// may (a password reset, an admin); their refresh tokens still work.
    pub fn revoke_user_access_tokens(&self, login: &str) {
        self.state
            .lock()
            .tokens
            .retain(|_, grant| !matches!(grant, Grant::User { login: user, .. } if user == login));
    }

    /// Closes a pull request, as a person on GitHub would.
    pub fn close_pull(&self, owner: &str, name: &str, number: u64) {
        let mut inner = self.state.lock();
        if let Some(pull) = inner
            .repos
            .get_mut(&api::key(owner, name))
            .and_then(|repo| repo.pulls.iter_mut().find(|p| p.number == number))
        {
            pull.open = false;
            pull.closed_at = Some(Utc::now());
        }
    }

    pub fn pulls(&self, owner: &str, name: &str) -> Vec<PullSummary> {
        let inner = self.state.lock();
        inner
            .repos
            .get(&api::key(owner, name))
            .map(|repo| {
                repo.pulls
                    .iter()
                    .map(|pull| PullSummary {
                        number: pull.number,
                        title: pull.title.clone(),
                        head: pull.head.clone(),
                        base: pull.base.clone(),
                        open: pull.open,
                        draft: pull.draft,
                        author: pull.author.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().requests.clone()
    }

    /// The requests to one endpoint so far.
    pub fn requests_to(&self, endpoint: Endpoint) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.endpoint == endpoint)
            .collect()
    }

    pub fn counts(&self) -> Counts {
        self.state.lock().counts
    }

    /// Every token the fake issued (installation, OAuth access and refresh,
    /// personal, codes), for checking that none leaked.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state.lock().issued.clone()
    }

    /// Whether `token` is a live token allowed to reach `owner/name`.
    pub fn token_allows(&self, token: &str, owner: &str, name: &str) -> bool {
        self.state
            .git_token_allows(token, &format!("{owner}/{name}"))
    }

    /// A forge configuration aimed at this fake, acting as its app, with
    /// short backoffs so retries do not slow tests down.
    pub fn forge_config(&self) -> GitHubConfig {
        GitHubConfig {
            app: Some(AppCredentials {
                app_id: self.app.app_id,
                private_key: SecretString::from(self.app.private_pem.clone()),
            }),
            request_timeout: Duration::from_secs(10),
            retry: RetryPolicy {
                max_attempts: 4,
                base_delay: Duration::from_millis(10),
                max_backoff: Duration::from_millis(100),
                max_wait: Duration::from_secs(5),
            },
            ..GitHubConfig::new(self.url.clone())
        }
    }

    /// The settings that aim a whole Hero (API and workers) at this fake:
    /// the GitHub forge on its API, and sign-in through its OAuth app. No
    /// GitHub App, so projects reach GitHub with their owner's token.
    pub fn hero_settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("HERO_FORGE", "github".to_owned()),
            ("GITHUB_API_URL", self.url.clone()),
            ("GITHUB_WEB_URL", self.url.clone()),
            ("GITHUB_CLIENT_ID", self.client_id.clone()),
            ("GITHUB_CLIENT_SECRET", self.client_secret.clone()),
        ]
    }

    /// The OAuth app's configuration for this fake.
    pub fn oauth_config(&self) -> OAuthConfig {
        OAuthConfig {
            web_url: self.url.clone(),
            client_id: self.client_id.clone(),
            client_secret: SecretString::from(self.client_secret.clone()),
            timeout: Duration::from_secs(10),
        }
    }
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        self.server.abort();
        std::fs::remove_dir_all(&self.root).ok();
    }
}

fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/repos/{owner}/{repo}", get(api::get_repository))
        .route(
            "/repos/{owner}/{repo}/pulls",
            get(api::list_pulls).post(api::create_pull),
        )
        .route(
            "/app/installations/{installation_id}/access_tokens",
            post(apps::mint_installation_token),
        )
        .route("/login/oauth/access_token", post(oauth::token))
        .route("/user", get(api::authenticated_user))
        .fallback(|| async { ApiError::not_found() })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            faults::misbehave,
        ))
        .with_state(state)
}
