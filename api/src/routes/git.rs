//! The local forge over HTTP (`HERO_FORGE=local`): its bare repositories
//! through git's smart HTTP protocol, for sandboxes to clone and push, and
//! its pull requests as JSON.
//!
//! Git authenticates as it does with GitHub, `Basic x-access-token:<token>`,
//! with the repository's own token (see [`hero_common::local_forge`]).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hero_common::domain::LocalPullRequest;
use hero_common::local_forge::{ForgeLayout, ForgeTokens};
use tracing::instrument;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::git_backend::{basic_token, run_backend};
use crate::state::AppState;

/// What the API needs to serve the local forge.
#[derive(Clone, Debug)]
pub struct LocalForgeServer {
    pub layout: ForgeLayout,
    pub tokens: ForgeTokens,
}

fn server(state: &AppState) -> Result<&Arc<LocalForgeServer>, ApiError> {
    state.local_forge.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "local_forge_disabled",
            "this Hero serves no local forge (HERO_FORGE is not `local`)",
        )
    })
}

/// `owner/name` of a `{repo}` path segment, which must end in `.git`.
fn repository(owner: &str, repo: &str) -> Result<String, ApiError> {
    let name = repo.strip_suffix(".git").ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "repository paths end in .git",
        )
    })?;
    hero_common::validate::repo_owner(owner).map_err(|m| ApiError::invalid_field("owner", m))?;
    hero_common::validate::repo_name(name).map_err(|m| ApiError::invalid_field("repo", m))?;
    Ok(name.to_owned())
}

/// Runs `git http-backend` for a request whose token opens the repository.
async fn serve_git(state: &AppState, owner: &str, repo: &str, request: Request) -> Response {
    if let Err(refusal) = authorize_git(state, owner, repo, &request) {
        let mut response = refusal.into_response();
        // Git asks without credentials first and sends them after a 401
        // with a challenge, as it does with GitHub.
        if response.status() == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Hero local forge\""),
            );
        }
        return response;
    }
    let Ok(forge) = server(state) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // The backend sees paths relative to the forge's root.
    let (mut parts, body) = request.into_parts();
    let inside = parts
        .uri
        .path()
        .strip_prefix("/git")
        .unwrap_or("/")
        .to_owned();
    let query = parts
        .uri
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    match format!("{inside}{query}").parse() {
        Ok(uri) => parts.uri = uri,
        Err(_) => return ApiError::not_found("repository").into_response(),
    }
    let request = Request::from_parts(parts, body);
    match run_backend(forge.layout.root(), request).await {
        Ok(response) => response,
        Err(error) => ApiError::internal(&error).into_response(),
    }
}

fn authorize_git(
    state: &AppState,
    owner: &str,
    repo: &str,
    request: &Request,
) -> Result<(), ApiError> {
    let forge = server(state)?;
    let name = repository(owner, repo)?;
    let path = forge
        .layout
        .repository(owner, &name)
        .map_err(|m| ApiError::invalid_field("repo", m))?;

    let authorized = basic_token(request.headers())
        .is_some_and(|token| forge.tokens.verify(owner, &name, &token));
    if !authorized {
        return Err(ApiError::unauthorized(
            "git needs this repository's token as Basic x-access-token:<token>",
        ));
    }
    if !path.join("HEAD").is_file() {
        return Err(ApiError::not_found("repository"));
    }
    Ok(())
}

/// Git's capability advertisement (`?service=git-upload-pack` to fetch,
/// `git-receive-pack` to push).
#[utoipa::path(
    get, path = "/git/{owner}/{repo}/info/refs", tag = "local forge",
    params(
        ("owner" = String, Path, description = "Repository owner"),
        ("repo" = String, Path, description = "Repository name with `.git`"),
        ("service" = String, Query, description = "`git-upload-pack` or `git-receive-pack`"),
    ),
    responses(
        (status = 200, description = "Git's advertisement (application/x-git-*-advertisement)"),
        (status = 401, description = "No token, or not this repository's", body = ErrorBody),
        (status = 404, description = "No such repository, or no local forge", body = ErrorBody),
    )
)]
#[instrument(skip_all, fields(owner = %owner, repo = %repo))]
pub async fn info_refs(
    State(state): State<AppState>,
    axum::extract::Path((owner, repo)): axum::extract::Path<(String, String)>,
    request: Request,
) -> Response {
    serve_git(&state, &owner, &repo, request).await
}

/// Fetch and clone: git's pack negotiation.
#[utoipa::path(
    post, path = "/git/{owner}/{repo}/git-upload-pack", tag = "local forge",
    params(
        ("owner" = String, Path, description = "Repository owner"),
        ("repo" = String, Path, description = "Repository name with `.git`"),
    ),
    request_body(content_type = "application/x-git-upload-pack-request", description = "Git's request"),
    responses(
        (status = 200, description = "A pack (application/x-git-upload-pack-result)"),
        (status = 401, description = "No token, or not this repository's", body = ErrorBody),
        (status = 404, description = "No such repository, or no local forge", body = ErrorBody),
    )
)]
#[instrument(skip_all, fields(owner = %owner, repo = %repo))]
pub async fn upload_pack(
    State(state): State<AppState>,
    axum::extract::Path((owner, repo)): axum::extract::Path<(String, String)>,
    request: Request,
) -> Response {
    serve_git(&state, &owner, &repo, request).await
}

/// Push.
#[utoipa::path(
    post, path = "/git/{owner}/{repo}/git-receive-pack", tag = "local forge",
    params(
        ("owner" = String, Path, description = "Repository owner"),
        ("repo" = String, Path, description = "Repository name with `.git`"),
    ),
    request_body(content_type = "application/x-git-receive-pack-request", description = "Git's request"),
    responses(
        (status = 200, description = "Git's report (application/x-git-receive-pack-result)"),
        (status = 401, description = "No token, or not this repository's", body = ErrorBody),
        (status = 404, description = "No such repository, or no local forge", body = ErrorBody),
    )
)]
#[instrument(skip_all, fields(owner = %owner, repo = %repo))]
pub async fn receive_pack(
    State(state): State<AppState>,
    axum::extract::Path((owner, repo)): axum::extract::Path<(String, String)>,
    request: Request,
) -> Response {
    serve_git(&state, &owner, &repo, request).await
}

/// A pull request of the local forge, for the owner of a project linked to
/// its repository. This is the address a local pull request's `url` names.
#[utoipa::path(
    get, path = "/git/{owner}/{name}/pull/{number}", tag = "local forge",
    params(
        ("owner" = String, Path, description = "Repository owner"),
        ("name" = String, Path, description = "Repository name"),
        ("number" = i64, Path, description = "Pull request number"),
    ),
    responses(
        (status = 200, description = "The pull request", body = LocalPullRequest),
        (status = 404, description = "No such pull request in a repository of yours", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(owner = %owner, name = %name, number))]
pub async fn pull_request(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((owner, name, number)): Path<(String, String, i64)>,
) -> Result<axum::Json<LocalPullRequest>, ApiError> {
    server(&state)?;
    let yours = state
        .stores
        .projects
        .owns_repository(user.0.id, &owner, &name)
        .await?;
    if !yours {
        return Err(ApiError::not_found("pull request"));
    }
    let pull = state
        .stores
        .local_pull_requests
        .get(&owner, &name, number)
        .await?
        .ok_or_else(|| ApiError::not_found("pull request"))?;
    Ok(axum::Json(pull))
}
