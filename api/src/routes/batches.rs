//! `/v1/batches`: one kind of job over many projects (a fleet migration),
//! accepted in one request, watched by its counts, cancelled as a whole.

use std::collections::HashSet;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hero_common::jobs::JobKind;
use hero_common::jobs::batch::{
    Batch, BatchCancellation, BatchCreated, BatchFailure, BatchSelection, MAX_BATCH_JOBS, NewBatch,
};
use hero_common::jobs::params::JobParams;
use serde::{Deserialize, Serialize};
use tracing::{Instrument, instrument};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::routes::jobs::label;
use crate::state::AppState;

const DEFAULT_FAILURES: u32 = 100;
const MAX_FAILURES: u32 = 1000;
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;
/// How many unknown project ids an error names before it counts the rest.
const NAMED_IDS: usize = 10;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBatch {
    /// `hydrate`, `run_tool`, `sync` or `submit_pr`.
    pub kind: String,
    /// The kind's parameters, the same for every project.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
    /// The projects to run it in, each once. Leave out when `all` is true.
    pub projects: Option<Vec<Uuid>>,
    /// Run it in every project of yours instead of a list.
    #[serde(default)]
    pub all: bool,
    /// Re-sending a request with the same key returns the same batch.
    pub idempotency_key: Option<String>,
}

impl CreateBatch {
    fn selection(&self) -> Result<BatchSelection, ApiError> {
        let ids = match (&self.projects, self.all) {
            (Some(_), true) => {
                return Err(ApiError::invalid_field(
                    "all",
                    "give either `all: true` or a `projects` list, not both",
                ));
            }
            (None, true) => return Ok(BatchSelection::All),
            (None, false) => {
                return Err(ApiError::invalid_field(
                    "projects",
                    "required unless `all` is true",
                ));
            }
            (Some(ids), false) => ids,
        };
        if ids.is_empty() {
            return Err(ApiError::invalid_field(
                "projects",
                "must list at least one project",
            ));
        }
        if ids.len() > MAX_BATCH_JOBS {
            return Err(too_many("projects", ids.len()));
        }
        let mut seen = HashSet::with_capacity(ids.len());
        if let Some(twice) = ids.iter().find(|id| !seen.insert(**id)) {
            return Err(ApiError::invalid_field(
                "projects",
                format!("{twice} is listed more than once"),
            ));
        }
        Ok(BatchSelection::Listed(ids.clone()))
    }
}

fn too_many(field: &str, count: usize) -> ApiError {
    ApiError::invalid_field(
        field,
        format!("selects {count} projects; a batch holds at most {MAX_BATCH_JOBS}"),
    )
}

/// Names the ids that are not the caller's projects: missing and other
/// users' alike, since telling them apart would confirm that an id exists.
fn unknown_projects(ids: &[Uuid]) -> ApiError {
    let named: Vec<String> = ids.iter().take(NAMED_IDS).map(Uuid::to_string).collect();
    let rest = ids.len().saturating_sub(NAMED_IDS);
    let more = if rest > 0 {
        format!(" and {rest} more")
    } else {
        String::new()
    };
    ApiError::invalid_field(
        "projects",
        format!(
            "no project of yours has the id {}{more}; nothing was created",
            named.join(", ")
        ),
    )
}

/// Accept one kind of job for many projects: every job is recorded with
/// the batch, or none is. Each runs after its project's earlier jobs, and
/// batch jobs give way to interactive ones.
#[utoipa::path(
    post, path = "/v1/batches", tag = "batches",
    request_body = CreateBatch,
    responses(
        (status = 202, description = "Accepted (or the batch this idempotency key already named)", body = Batch),
        (status = 409, description = "The idempotency key names a different batch", body = ErrorBody),
        (status = 422, description = "A field is invalid, or a listed project is not yours; the message names it", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(user = %user.0.id))]
pub async fn create_batch(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(request): Json<CreateBatch>,
) -> Result<Response, ApiError> {
    let kind: JobKind = request
        .kind
        .parse()
        .map_err(|message: String| ApiError::invalid_field("kind", message))?;
    let selection = request.selection()?;
    let params = if request.params.is_null() {
        serde_json::json!({})
    } else {
        request.params
    };
    JobParams::parse(kind, &params)
        .map_err(|error| ApiError::invalid_field(&error.field, error.message))?;
    let idempotency_key = label("idempotency_key", request.idempotency_key)?;

    let created = state
        .stores
        .batches
        .create(NewBatch {
            owner_id: user.0.id,
            kind,
            params,
            selection,
            idempotency_key,
        })
        .await?;
    let (batch, replayed) = match created {
        BatchCreated::Created(batch) => (batch, false),
        BatchCreated::Replayed(batch) => (batch, true),
        BatchCreated::UnknownProjects(ids) => return Err(unknown_projects(&ids)),
        BatchCreated::NoProjects => {
            return Err(ApiError::invalid_field(
                "all",
                "you have no projects yet; link one with POST /v1/projects",
            ));
        }
        BatchCreated::TooMany { count } => return Err(too_many("all", count)),
    };

    let mut headers = HeaderMap::new();
    if replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    } else {
        hero_common::metrics::batch_accepted(kind, batch.total);
        tracing::info!(batch_id = %batch.id, %kind, total = batch.total, "batch accepted");
        // The first jobs go now rather than at the dispatcher's next tick,
        // without holding the response: the jobs are recorded either way.
        let dispatcher = state.dispatcher.clone();
        tokio::spawn(
            async move {
                if let Err(error) = dispatcher.dispatch_ready().await {
                    tracing::warn!(%error, "dispatching a new batch failed; the dispatcher will retry");
                }
            }
            .in_current_span(),
        );
    }
    Ok((StatusCode::ACCEPTED, headers, axum::Json(batch)).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// The `next_failures_after` of the previous page.
    pub failures_after: Option<Uuid>,
    /// Failures to include: 0 to 1000, 100 when left out.
    pub failures_limit: Option<u32>,
}

/// A batch's progress and a page of its failures.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchReport {
    #[serde(flatten)]
    pub batch: Batch,
    /// Failed jobs in the order they were accepted.
    pub failures: Vec<BatchFailure>,
    /// Pass as `failures_after` for the next page; absent on the last.
    pub next_failures_after: Option<Uuid>,
}

async fn owned_batch(state: &AppState, user: &CurrentUser, id: Uuid) -> Result<Batch, ApiError> {
    state
        .stores
        .batches
        .get(user.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("batch"))
}

/// A batch: its jobs counted by status, when it started and finished, and
/// its failures a page at a time.
#[utoipa::path(
    get, path = "/v1/batches/{id}", tag = "batches",
    params(("id" = Uuid, Path, description = "Batch id"), ReportParams),
    responses(
        (status = 200, description = "The batch", body = BatchReport),
        (status = 404, description = "No such batch of yours", body = ErrorBody),
        (status = 422, description = "failures_limit is out of range", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(batch_id = %id))]
pub async fn get_batch(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Query(params): Query<ReportParams>,
) -> Result<axum::Json<BatchReport>, ApiError> {
    let limit = params.failures_limit.unwrap_or(DEFAULT_FAILURES);
    if limit > MAX_FAILURES {
        return Err(ApiError::invalid_field(
            "failures_limit",
            format!("must be between 0 and {MAX_FAILURES}"),
        ));
    }

    let batch = owned_batch(&state, &user, id).await?;
    let failures = if limit == 0 || batch.counts.failed == 0 {
        Vec::new()
    } else {
        state
            .stores
            .batches
            .failures(id, params.failures_after, limit)
            .await?
    };

    let full_page = failures.len() == usize::try_from(limit).unwrap_or(usize::MAX);
    let next_failures_after = (full_page && limit > 0)
        .then(|| failures.last().map(|failure| failure.job_id))
        .flatten();
    Ok(axum::Json(BatchReport {
        batch,
        failures,
        next_failures_after,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchCancelled {
    #[serde(flatten)]
    pub cancellation: BatchCancellation,
    /// The batch after the cancel.
    pub batch: Batch,
}

/// Cancel a batch: its jobs not yet started end at once, its running ones
/// have their commands stopped and end as cancelled. Ended jobs keep
/// their outcome.
#[utoipa::path(
    post, path = "/v1/batches/{id}/cancel", tag = "batches",
    params(("id" = Uuid, Path, description = "Batch id")),
    responses(
        (status = 200, description = "Cancelled, running jobs asked to stop", body = BatchCancelled),
        (status = 404, description = "No such batch of yours", body = ErrorBody),
        (status = 409, description = "Every job of the batch already ended", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(batch_id = %id))]
pub async fn cancel_batch(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<BatchCancelled>, ApiError> {
    let batch = owned_batch(&state, &user, id).await?;
    if batch.finished_at.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "batch_ended",
            "every job of the batch already ended",
        ));
    }

    let cancellation = state
        .stores
        .batches
        .cancel(user.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("batch"))?;

    tracing::info!(
        cancelled = cancellation.cancelled,
        stopping = cancellation.stopping,
        "batch cancel requested"
    );
    let batch = owned_batch(&state, &user, id).await?;
    Ok(axum::Json(BatchCancelled {
        cancellation,
        batch,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListBatchesParams {
    /// The `next_before` of the previous page.
    pub before: Option<Uuid>,
    /// At most 200; 50 when left out.
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchList {
    pub batches: Vec<Batch>,
    /// Pass as `before` for the next (older) page; absent on the last.
    pub next_before: Option<Uuid>,
}

/// Your batches, newest first, a page at a time.
#[utoipa::path(
    get, path = "/v1/batches", tag = "batches",
    params(ListBatchesParams),
    responses(
        (status = 200, description = "A page of batches", body = BatchList),
        (status = 422, description = "limit is out of range", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(user = %user.0.id))]
pub async fn list_batches(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<ListBatchesParams>,
) -> Result<axum::Json<BatchList>, ApiError> {
    let limit = params.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::invalid_field(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        ));
    }

    let batches = state
        .stores
        .batches
        .list(user.0.id, params.before, limit)
        .await?;

    let full_page = batches.len() == usize::try_from(limit).unwrap_or(usize::MAX);
    let next_before = full_page.then(|| batches.last().map(|b| b.id)).flatten();
    Ok(axum::Json(BatchList {
        batches,
        next_before,
    }))
}
