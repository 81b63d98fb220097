//! `/v1/projects/{id}/pull_requests`: the pull requests Hero opened for a
//! project, on GitHub or on the local forge.

use axum::extract::State;
use hero_common::domain::PullRequestRecord;
use serde::Serialize;
use tracing::instrument;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::routes::projects::owned_project;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct PullRequestList {
    pub pull_requests: Vec<PullRequestRecord>,
}

/// A project's pull requests, newest first.
#[utoipa::path(
    get, path = "/v1/projects/{id}/pull_requests", tag = "projects",
    params(("id" = Uuid, Path, description = "Project id")),
    responses(
        (status = 200, description = "Pull requests", body = PullRequestList),
        (status = 404, description = "No such project of yours", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(project_id = %id))]
pub async fn list_pull_requests(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<PullRequestList>, ApiError> {
    owned_project(&state, &user, id).await?;

    let pull_requests = state.stores.pull_requests.list(id).await?;
    Ok(axum::Json(PullRequestList { pull_requests }))
}
