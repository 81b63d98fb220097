//! `/v1/projects/{id}/secrets`: a project's secrets. Values go in sealed and
//! come out only one at a time, each read audited.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use hero_common::domain::SecretMetadata;
use hero_common::vault::SecretInput;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Path};
use crate::routes::projects::owned_project;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutSecret {
    #[schema(value_type = String)]
    pub value: SecretString,
    /// Left out on an update, the stored description is kept.
    pub description: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportEntry {
    pub key: String,
    #[schema(value_type = String)]
    pub value: SecretString,
    pub description: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportSecrets {
    pub secrets: Vec<ImportEntry>,
}

#[derive(Serialize, ToSchema)]
pub struct SecretList {
    pub secrets: Vec<SecretMetadata>,
}

#[derive(Serialize, ToSchema)]
pub struct SecretValue {
    pub key: String,
    pub value: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Create or update a secret.
#[utoipa::path(
    put, path = "/v1/projects/{id}/secrets/{key}", tag = "secrets",
    params(
        ("id" = Uuid, Path, description = "Project id"),
        ("key" = String, Path, description = "Environment variable name"),
    ),
    request_body = PutSecret,
    responses(
        (status = 201, description = "Created", body = SecretMetadata),
        (status = 200, description = "Updated", body = SecretMetadata),
        (status = 404, description = "No such project of yours", body = ErrorBody),
        (status = 422, description = "Invalid key, value or description", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(project_id = %id, key = %key))]
pub async fn put_secret(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, key)): Path<(Uuid, String)>,
    Json(request): Json<PutSecret>,
) -> Result<(StatusCode, axum::Json<SecretMetadata>), ApiError> {
    owned_project(&state, &user, id).await?;

    let input = SecretInput {
        key,
        value: request.value,
        description: request.description,
    };
    let (metadata, created) = state.vault.set(user.0.id, id, input).await?;

    tracing::info!(created, "secret stored");
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(metadata)))
}

/// A project's secrets, without their values.
#[utoipa::path(
    get, path = "/v1/projects/{id}/secrets", tag = "secrets",
    params(("id" = Uuid, Path, description = "Project id")),
    responses(
        (status = 200, description = "Metadata of every secret", body = SecretList),
        (status = 404, description = "No such project of yours", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(project_id = %id))]
pub async fn list_secrets(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<SecretList>, ApiError> {
    owned_project(&state, &user, id).await?;

    let secrets = state.vault.list(id).await?;
    Ok(axum::Json(SecretList { secrets }))
}

/// One secret's value. Every read is written to the audit log.
#[utoipa::path(
    get, path = "/v1/projects/{id}/secrets/{key}", tag = "secrets",
    params(
        ("id" = Uuid, Path, description = "Project id"),
        ("key" = String, Path, description = "Environment variable name"),
    ),
    responses(
        (status = 200, description = "The value", body = SecretValue),
        (status = 404, description = "No such project or secret", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(project_id = %id, key = %key))]
pub async fn get_secret(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, key)): Path<(Uuid, String)>,
) -> Result<Response, ApiError> {
    owned_project(&state, &user, id).await?;

    let (metadata, value) = state
        .vault
        .reveal(user.0.id, id, &key)
        .await?
        .ok_or_else(|| ApiError::not_found("secret"))?;

    tracing::info!("secret read");
    let body = SecretValue {
        key: metadata.key,
        value: value.expose_secret().to_owned(),
        description: metadata.description,
        created_at: metadata.created_at,
        updated_at: metadata.updated_at,
    };
    let mut response = axum::Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Delete a secret.
#[utoipa::path(
    delete, path = "/v1/projects/{id}/secrets/{key}", tag = "secrets",
    params(
        ("id" = Uuid, Path, description = "Project id"),
        ("key" = String, Path, description = "Environment variable name"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such project or secret", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(project_id = %id, key = %key))]
pub async fn delete_secret(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, key)): Path<(Uuid, String)>,
) -> Result<StatusCode, ApiError> {
    owned_project(&state, &user, id).await?;

    if !state.vault.delete(user.0.id, id, &key).await? {
        return Err(ApiError::not_found("secret"));
    }
    tracing::info!("secret deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Store many secrets at once: all of them, or none when any is invalid.
#[utoipa::path(
    post, path = "/v1/projects/{id}/secrets:import", tag = "secrets",
    params(("id" = Uuid, Path, description = "Project id")),
    request_body = ImportSecrets,
    responses(
        (status = 200, description = "Every secret stored", body = SecretList),
        (status = 404, description = "No such project of yours", body = ErrorBody),
        (status = 422, description = "An entry is invalid; nothing was stored", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(project_id = %id))]
pub async fn import_secrets(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Json(request): Json<ImportSecrets>,
) -> Result<axum::Json<SecretList>, ApiError> {
    owned_project(&state, &user, id).await?;

    let inputs = request
        .secrets
        .into_iter()
        .map(|entry| SecretInput {
            key: entry.key,
            value: entry.value,
            description: entry.description,
        })
        .collect();
    let secrets = state.vault.import(user.0.id, id, inputs).await?;

    tracing::info!(count = secrets.len(), "secrets imported");
    Ok(axum::Json(SecretList { secrets }))
}
