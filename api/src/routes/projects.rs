//! `/v1/projects`: linking users' work to GitHub repositories.

use axum::extract::State;
use axum::http::StatusCode;
use hero_common::domain::{NewProject, Project, ProjectChanges};
use hero_common::validate;
use hero_common::webhook_triggers::WebhookTriggers;
use serde::{Deserialize, Deserializer, Serialize};
use tracing::instrument;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

const MAX_NAME_CHARS: usize = 100;
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    /// Defaults to `repo_owner/repo_name`; unique among your projects.
    pub name: Option<String>,
    pub repo_owner: String,
    pub repo_name: String,
    /// Defaults to `main`.
    pub default_branch: Option<String>,
    pub github_installation_id: Option<i64>,
    #[serde(default)]
    pub use_cloud_sandbox: bool,
    /// Let the project's jobs push to its default branch. Off when left
    /// out: agents then push to branches of their own and open pull
    /// requests, and a push to the default branch is refused.
    #[serde(default)]
    pub allow_default_branch_push: bool,
    /// What GitHub events do for the project; the defaults when left out.
    pub webhook_triggers: Option<WebhookTriggers>,
}

/// Fields to change; those left out stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProject {
    pub name: Option<String>,
    pub repo_owner: Option<String>,
    pub repo_name: Option<String>,
    pub default_branch: Option<String>,
    /// `null` unlinks the installation.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub github_installation_id: Option<Option<i64>>,
    pub use_cloud_sandbox: Option<bool>,
    /// Let the project's jobs push to its default branch.
    pub allow_default_branch_push: Option<bool>,
    /// Replaces the whole trigger configuration; fields left out inside
    /// it take their defaults.
    pub webhook_triggers: Option<WebhookTriggers>,
}

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// At most 200; 50 when left out.
    pub limit: Option<u32>,
    /// The `next_after` of the previous page.
    pub after: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct ProjectList {
    pub projects: Vec<Project>,
    /// Pass as `after` for the next page; absent on the last.
    pub next_after: Option<Uuid>,
}

fn check_name(field: &str, name: &str) -> Result<(), ApiError> {
    let length = name.chars().count();
    if name.trim().is_empty() || length > MAX_NAME_CHARS {
        return Err(ApiError::invalid_field(
            field,
            format!("must be 1 to {MAX_NAME_CHARS} characters and not blank"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

fn check(field: &str, result: Result<(), String>) -> Result<(), ApiError> {
    result.map_err(|message| ApiError::invalid_field(field, message))
}

fn check_triggers(triggers: WebhookTriggers) -> Result<WebhookTriggers, ApiError> {
    triggers
        .validate()
        .map_err(|e| ApiError::invalid_field(&format!("webhook_triggers.{}", e.field), e.message))
}

fn check_installation(id: Option<i64>) -> Result<(), ApiError> {
    match id {
        Some(id) if id <= 0 => Err(ApiError::invalid_field(
            "github_installation_id",
            format!("must be a positive number, got {id}"),
        )),
        _ => Ok(()),
    }
}

impl CreateProject {
    fn validate(self) -> Result<NewProject, ApiError> {
        check("repo_owner", validate::repo_owner(&self.repo_owner))?;
        check("repo_name", validate::repo_name(&self.repo_name))?;
        let name = self
            .name
            .unwrap_or_else(|| format!("{}/{}", self.repo_owner, self.repo_name));
        check_name("name", &name)?;
        let default_branch = self.default_branch.unwrap_or_else(|| "main".to_owned());
        check("default_branch", validate::branch_name(&default_branch))?;
        check_installation(self.github_installation_id)?;
        let webhook_triggers = check_triggers(self.webhook_triggers.unwrap_or_default())?;

        Ok(NewProject {
            name,
            repo_owner: self.repo_owner,
            repo_name: self.repo_name,
            github_installation_id: self.github_installation_id,
            default_branch,
            use_cloud_sandbox: self.use_cloud_sandbox,
            allow_default_branch_push: self.allow_default_branch_push,
            webhook_triggers,
        })
    }
}

impl UpdateProject {
    fn validate(self) -> Result<ProjectChanges, ApiError> {
        if let Some(name) = &self.name {
            check_name("name", name)?;
        }
        if let Some(owner) = &self.repo_owner {
            check("repo_owner", validate::repo_owner(owner))?;
        }
        if let Some(repo) = &self.repo_name {
            check("repo_name", validate::repo_name(repo))?;
        }
        if let Some(branch) = &self.default_branch {
            check("default_branch", validate::branch_name(branch))?;
        }
        check_installation(self.github_installation_id.flatten())?;
        let webhook_triggers = self.webhook_triggers.map(check_triggers).transpose()?;

        Ok(ProjectChanges {
            name: self.name,
            repo_owner: self.repo_owner,
            repo_name: self.repo_name,
            github_installation_id: self.github_installation_id,
            default_branch: self.default_branch,
            use_cloud_sandbox: self.use_cloud_sandbox,
            allow_default_branch_push: self.allow_default_branch_push,
            webhook_triggers,
        })
    }
}

/// The caller's project, or 404 whether it is missing or someone else's:
/// a 403 would confirm that the id exists.
pub async fn owned_project(
    state: &AppState,
    user: &CurrentUser,
    id: Uuid,
) -> Result<Project, ApiError> {
    state
        .stores
        .projects
        .get(user.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("project"))
}

/// Link a GitHub repository as a new project.
#[utoipa::path(
    post, path = "/v1/projects", tag = "projects",
    request_body = CreateProject,
    responses(
        (status = 201, description = "The project", body = Project),
        (status = 409, description = "A project with that name exists", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(user = %user.0.id))]
pub async fn create_project(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(request): Json<CreateProject>,
) -> Result<(StatusCode, axum::Json<Project>), ApiError> {
    let project = request.validate()?;

    let project = state.stores.projects.create(user.0.id, project).await?;

    tracing::info!(project_id = %project.id, "project linked");
    Ok((StatusCode::CREATED, axum::Json(project)))
}

/// Your projects, oldest first, a page at a time.
#[utoipa::path(
    get, path = "/v1/projects", tag = "projects",
    params(ListParams),
    responses((status = 200, description = "A page of projects", body = ProjectList)),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(user = %user.0.id))]
pub async fn list_projects(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<ProjectList>, ApiError> {
    let limit = params.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::invalid_field(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        ));
    }

    let projects = state
        .stores
        .projects
        .list(user.0.id, params.after, limit)
        .await?;

    let full_page = projects.len() == usize::try_from(limit).unwrap_or(usize::MAX);
    let next_after = full_page.then(|| projects.last().map(|p| p.id)).flatten();
    Ok(axum::Json(ProjectList {
        projects,
        next_after,
    }))
}

/// One of your projects.
#[utoipa::path(
    get, path = "/v1/projects/{id}", tag = "projects",
    params(("id" = Uuid, Path, description = "Project id")),
    responses(
        (status = 200, description = "The project", body = Project),
        (status = 404, description = "No such project of yours", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(project_id = %id))]
pub async fn get_project(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<Project>, ApiError> {
    Ok(axum::Json(owned_project(&state, &user, id).await?))
}

/// Change some of a project's fields.
#[utoipa::path(
    patch, path = "/v1/projects/{id}", tag = "projects",
    params(("id" = Uuid, Path, description = "Project id")),
    request_body = UpdateProject,
    responses(
        (status = 200, description = "The changed project", body = Project),
        (status = 404, description = "No such project of yours", body = ErrorBody),
        (status = 409, description = "A project with that name exists", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(project_id = %id))]
pub async fn update_project(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Json(request): Json<UpdateProject>,
) -> Result<axum::Json<Project>, ApiError> {
    let changes = request.validate()?;

    let project = state
        .stores
        .projects
        .update(user.0.id, id, changes)
        .await?
        .ok_or_else(|| ApiError::not_found("project"))?;

    tracing::info!("project updated");
    Ok(axum::Json(project))
}

/// Unlink a project; its secrets are deleted with it.
#[utoipa::path(
    delete, path = "/v1/projects/{id}", tag = "projects",
    params(("id" = Uuid, Path, description = "Project id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such project of yours", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(project_id = %id))]
pub async fn delete_project(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    if !state.stores.projects.delete(user.0.id, id).await? {
        return Err(ApiError::not_found("project"));
    }
    tracing::info!("project deleted");
    Ok(StatusCode::NO_CONTENT)
}
