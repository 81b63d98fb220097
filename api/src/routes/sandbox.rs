//! `/v1/projects/{id}/sandbox`: the project's live sandbox, and asking for
//! it to be closed. The API only reads the sandbox record and writes the
//! request into it; the workers' reaper carries the close out, since only
//! workers talk to sandbox providers.

use axum::extract::State;
use axum::http::StatusCode;
use hero_common::domain::SandboxRecord;
use tracing::instrument;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::routes::projects::owned_project;
use crate::state::AppState;

fn no_sandbox(project_id: Uuid) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_sandbox",
        format!("project {project_id} has no live sandbox; its next job starts one"),
    )
}

/// The project's live sandbox.
///
/// A sandbox that is starting, ready or closing. It shows whether a worker
/// holds it right now and until when, and whether closing it was asked
/// for; it never shows who holds it.
#[utoipa::path(
    get, path = "/v1/projects/{id}/sandbox", tag = "sandboxes",
    params(("id" = Uuid, Path, description = "Project id")),
    responses(
        (status = 200, description = "The live sandbox", body = SandboxRecord),
        (status = 404, description = "No such project of yours (`not_found`), or it has no \
            live sandbox (`no_sandbox`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(project_id = %id))]
pub async fn get_sandbox(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<SandboxRecord>, ApiError> {
    owned_project(&state, &user, id).await?;

    let sandbox = state
        .stores
        .sandboxes
        .live(id)
        .await?
        .ok_or_else(|| no_sandbox(id))?;
    Ok(axum::Json(sandbox))
}

/// Ask for the project's sandbox to be closed.
///
/// The request is recorded and answered at once with the sandbox as
/// `GET` shows it, `close_requested_at` set; asking again changes nothing
/// and answers the same. A worker's reaper closes the sandbox at its next
/// pass, before the idle timeout. A sandbox leased when the request comes
/// (a job is using it) is closed at the first pass after its lease is
/// released; a job that leases it before that pass still uses it. The
/// project's next job after the close starts a fresh sandbox.
#[utoipa::path(
    delete, path = "/v1/projects/{id}/sandbox", tag = "sandboxes",
    params(("id" = Uuid, Path, description = "Project id")),
    responses(
        (status = 202, description = "Closing was requested (now or before)", body = SandboxRecord),
        (status = 404, description = "No such project of yours (`not_found`), or it has no \
            live sandbox (`no_sandbox`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(project_id = %id))]
pub async fn close_sandbox(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<(StatusCode, axum::Json<SandboxRecord>), ApiError> {
    owned_project(&state, &user, id).await?;

    let sandbox = state
        .stores
        .sandboxes
        .request_close(id)
        .await?
        .ok_or_else(|| no_sandbox(id))?;

    tracing::info!(sandbox_id = %sandbox.id, "sandbox close requested");
    Ok((StatusCode::ACCEPTED, axum::Json(sandbox)))
}
