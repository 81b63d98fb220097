//! A git smart-HTTP server over bare repositories, and helpers to make and
//! use them, so that clone and push in tests go through real git over HTTP
//! with a token, as they do against GitHub.
//!
//! The server is a small axum front to `git http-backend` (CGI), as NOTES
//! §5 describes: it demands `Authorization: Basic
//! base64(x-access-token:<token>)` and asks a [`TokenCheck`] whether the
//! token may reach the repository (the fake GitHub answers for the tokens
//! it minted), then runs the backend with the request streamed to its stdin
//! and streams its answer back. Push is on (`http.receivepack`).
//!
//! Every git command here runs hermetically: no system or global
//! configuration, no prompts, and the token only ever in an
//! `http.extraHeader` passed through `GIT_CONFIG_*` variables, never in a
//! URL or an argument.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::task::JoinHandle;

pub use hero_api::git_backend::TOKEN_USER;
use hero_api::git_backend::{basic_token, repository_of, run_backend};

/// Says whether a token may reach a repository (`owner/name`).
pub type TokenCheck = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// A token check that accepts one fixed token for every repository.
pub fn fixed_token(token: impl Into<String>) -> TokenCheck {
    let token = token.into();
    Arc::new(move |given: &str, _repo: &str| given == token)
}

/// A git smart-HTTP server on a free port of 127.0.0.1. Dropping it stops
/// the server; the repositories stay where they are.
pub struct GitHttpServer {
    /// `http://127.0.0.1:PORT`; a repository is at `{url}/{owner}/{name}.git`.
    pub url: String,
    root: PathBuf,
    server: JoinHandle<()>,
}

struct Served {
    root: PathBuf,
    check: TokenCheck,
}

impl GitHttpServer {
    /// Serves the bare repositories under `root` (`owner/name.git`).
    pub async fn start(root: impl Into<PathBuf>, check: TokenCheck) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        Self::serve_on(listener, root.into(), check)
    }

    /// Serves on a listener the caller bound (the `fake-github` binary
    /// picks the port).
    pub fn serve_on(listener: TcpListener, root: PathBuf, check: TokenCheck) -> Self {
        let address = listener.local_addr().expect("bound address");
        let served = Arc::new(Served {
            root: root.clone(),
            check,
        });
        let app = Router::new().fallback(serve_git).with_state(served);
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Self {
            url: format!("http://{address}"),
            root,
            server,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn clone_url(&self, owner: &str, name: &str) -> String {
        format!("{}/{owner}/{name}.git", self.url)
    }

    /// Where the bare repository `owner/name` lives on disk.
    pub fn repo_path(&self, owner: &str, name: &str) -> PathBuf {
        bare_repo_path(&self.root, owner, name)
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn bare_repo_path(root: &Path, owner: &str, name: &str) -> PathBuf {
    root.join(owner).join(format!("{name}.git"))
}

async fn serve_git(State(served): State<Arc<Served>>, request: Request) -> Response {
    let Some(repo) = repository_of(request.uri().path()) else {
        return (StatusCode::NOT_FOUND, "not a repository path\n").into_response();
    };
    let allowed = basic_token(request.headers()).is_some_and(|token| (served.check)(&token, &repo));
    if !allowed {
        tracing::debug!(%repo, "git request without an accepted token");
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"git\"")],
            "authentication required\n",
        )
            .into_response();
    }
    let root = served.root.clone();
    match run_backend(&root, request).await {
        Ok(response) => response,
        Err(error) => {
            tracing::warn!(%error, "git http-backend failed");
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{error}\n")).into_response()
        }
    }
}

/// A git command with no configuration but what it is given: the user's
/// and system's files are ignored and nothing prompts. With a token, the
/// command authenticates as git does against GitHub, through a header set
/// in its environment.
pub fn git(token: Option<&str>) -> Command {
    let mut settings = vec![
        ("user.name".to_owned(), "Hero Tests".to_owned()),
        ("user.email".to_owned(), "tests@hero.invalid".to_owned()),
        ("init.defaultBranch".to_owned(), "main".to_owned()),
        ("protocol.file.allow".to_owned(), "always".to_owned()),
    ];
    if let Some(token) = token {
        settings.push(("http.extraHeader".to_owned(), basic_header(token)));
    }

    let mut command = Command::new("git");
    command
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "/bin/false")
        .env("GIT_CONFIG_COUNT", settings.len().to_string())
        .kill_on_drop(true);
    for (i, (key, value)) in settings.into_iter().enumerate() {
        command
            .env(format!("GIT_CONFIG_KEY_{i}"), key)
            .env(format!("GIT_CONFIG_VALUE_{i}"), value);
    }
    command
}

/// `Authorization: Basic base64(x-access-token:TOKEN)`, the header git
/// sends.
pub fn basic_header(token: &str) -> String {
    format!(
        "Authorization: Basic {}",
        STANDARD.encode(format!("{TOKEN_USER}:{token}"))
    )
}

/// Runs a git command and returns its stdout, or its stderr as the error.
pub async fn run(command: &mut Command) -> Result<String, String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| format!("running git: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// Creates the bare repository `path` with one commit holding `files` on
/// `branch`, which becomes its default branch.
pub async fn create_bare_repo(path: &Path, branch: &str, files: &[(&str, &str)]) {
    std::fs::create_dir_all(path).expect("create the repository's folder");
    run(git(None)
        .args(["init", "--quiet", "--bare", "--initial-branch", branch])
        .arg(path))
    .await
    .expect("git init --bare");
    commit_files(path, None, branch, files, "Initial commit").await;
}

/// Adds a commit with `files` to `branch` of the bare repository at
/// `path`, starting the branch from `from` when it does not exist yet.
/// Returns the new commit's id.
pub async fn commit_files(
    path: &Path,
    from: Option<&str>,
    branch: &str,
    files: &[(&str, &str)],
    message: &str,
) -> String {
    let work = tempdir("hero-git-work");
    let repo = path.to_str().expect("a UTF-8 repository path");

    git_in(&work, &["init", "--quiet"]).await;
    let start = if branch_commit(path, branch).await.is_some() {
        Some(branch)
    } else {
        from
    };
    if let Some(start) = start {
        let source = format!("refs/heads/{start}");
        git_in(&work, &["fetch", "--quiet", "--", repo, &source]).await;
        git_in(&work, &["checkout", "--quiet", "FETCH_HEAD"]).await;
    }

    for (name, contents) in files {
        let file = work.join(name);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).expect("create folders");
        }
        std::fs::write(&file, contents).expect("write a file");
    }
    git_in(&work, &["add", "--all"]).await;
    git_in(
        &work,
        &["commit", "--quiet", "--allow-empty", "-m", message],
    )
    .await;
    let target = format!("HEAD:refs/heads/{branch}");
    git_in(&work, &["push", "--quiet", repo, &target]).await;
    let id = git_in(&work, &["rev-parse", "HEAD"]).await;

    std::fs::remove_dir_all(&work).ok();
    id.trim().to_owned()
}

/// Runs git without a token in `dir`, panicking with its stderr on failure.
async fn git_in(dir: &Path, args: &[&str]) -> String {
    run(git(None).current_dir(dir).args(args))
        .await
        .unwrap_or_else(|error| panic!("git {}: {error}", args.join(" ")))
}

/// The commit `branch` points at in the bare repository, if it exists.
pub async fn branch_commit(path: &Path, branch: &str) -> Option<String> {
    let mut command = git(None);
    command
        .arg("--git-dir")
        .arg(path)
        .args(["rev-parse", "--verify", "--quiet"])
        .arg(format!("refs/heads/{branch}^{{commit}}"));
    run(&mut command)
        .await
        .ok()
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
}

/// A fresh folder under the system's temporary directory.
pub fn tempdir(prefix: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&path).expect("create a temporary folder");
    path
}
