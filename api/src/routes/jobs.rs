//! Jobs over HTTP: accept one (`POST /v1/projects/{id}/jobs`), read it,
//! wait for it to end, follow its events, cancel it, list a project's.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use hero_common::jobs::events::{self, JobEvent};
use hero_common::jobs::params::JobParams;
use hero_common::jobs::{Job, JobFilter, JobKind, JobStatus, NewJob};
use hero_common::store::StoreError;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use tracing::instrument;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::routes::projects::owned_project;
use crate::state::AppState;

/// The longest `GET /v1/jobs/{id}?wait=` holds a request.
const MAX_WAIT_SECONDS: u64 = 60;
const MAX_KEY_LENGTH: usize = 200;
/// How long one read of a job's event stream waits for news before the
/// record is looked at again.
const EVENTS_BLOCK: Duration = Duration::from_secs(1);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnqueueJob {
    /// `hydrate`, `run_tool`, `sync` or `submit_pr`.
    pub kind: String,
    /// The kind's parameters (see the design's job parameters table).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
    /// Re-sending a request with the same key returns the same job.
    pub idempotency_key: Option<String>,
    pub execution_id: Option<String>,
    pub agent_id: Option<String>,
}

/// A client-chosen label (idempotency key, execution or agent id), checked.
pub(crate) fn label(field: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        Some(text) if text.is_empty() || text.len() > MAX_KEY_LENGTH => Err(
            ApiError::invalid_field(field, format!("must be 1 to {MAX_KEY_LENGTH} bytes")),
        ),
        Some(text) if text.chars().any(char::is_control) => Err(ApiError::invalid_field(
            field,
            "must not contain control characters",
        )),
        other => Ok(other),
    }
}

/// Accept a job for a project. It runs after the project's earlier jobs.
#[utoipa::path(
    post, path = "/v1/projects/{id}/jobs", tag = "jobs",
    params(("id" = Uuid, Path, description = "Project id")),
    request_body = EnqueueJob,
    responses(
        (status = 202, description = "Accepted (or the job this idempotency key already named)", body = Job),
        (status = 404, description = "No such project of yours", body = ErrorBody),
        (status = 409, description = "The idempotency key names a different job", body = ErrorBody),
        (status = 422, description = "A field is invalid; the message names it", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(project_id = %id))]
pub async fn enqueue_job(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Json(request): Json<EnqueueJob>,
) -> Result<Response, ApiError> {
    owned_project(&state, &user, id).await?;
    let kind: JobKind = request
        .kind
        .parse()
        .map_err(|message: String| ApiError::invalid_field("kind", message))?;
    let params = if request.params.is_null() {
        serde_json::json!({})
    } else {
        request.params
    };
    JobParams::parse(kind, &params)
        .map_err(|error| ApiError::invalid_field(&error.field, error.message))?;

    let job = NewJob {
        project_id: id,
        kind,
        params,
        idempotency_key: label("idempotency_key", request.idempotency_key)?,
        execution_id: label("execution_id", request.execution_id)?,
        agent_id: label("agent_id", request.agent_id)?,
        context: None,
    };
    let (job, created) = accept(&state, job).await?;

    let mut headers = HeaderMap::new();
    if !created {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok((StatusCode::ACCEPTED, headers, axum::Json(job)).into_response())
}

/// Records a job and, when its project is idle, sends it to its queue at
/// once; `false` when its idempotency key already named this job. Every
/// way into Hero (this route, webhooks) accepts jobs through here.
pub async fn accept(state: &AppState, job: NewJob) -> Result<(Job, bool), StoreError> {
    let project_id = job.project_id;
    let (job, created) = state.stores.jobs.insert(job).await?;

    if created {
        hero_common::metrics::job_accepted(job.kind);
        tracing::info!(job_id = %job.id, kind = %job.kind, "job accepted");
        // The fast path: an idle project's job goes to its queue now. If
        // this fails the job is still recorded, and the dispatcher loop
        // (or recovery) sends it.
        if let Err(error) = state.dispatcher.dispatch_accepted(project_id).await {
            tracing::warn!(job_id = %job.id, %error, "fast dispatch failed; the dispatcher will retry");
        }
    }
    Ok((job, created))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WaitParams {
    /// Hold the request until the job ends, up to this many seconds (60
    /// at most).
    pub wait: Option<u64>,
}

/// A job: status, attempts, result or error, timings.
#[utoipa::path(
    get, path = "/v1/jobs/{id}", tag = "jobs",
    params(("id" = Uuid, Path, description = "Job id"), WaitParams),
    responses(
        (status = 200, description = "The job", body = Job),
        (status = 404, description = "No such job of yours", body = ErrorBody),
        (status = 422, description = "wait is out of range", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(job_id = %id))]
pub async fn get_job(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Query(params): Query<WaitParams>,
) -> Result<axum::Json<Job>, ApiError> {
    let wait = match params.wait {
        Some(seconds) if seconds > MAX_WAIT_SECONDS => {
            return Err(ApiError::invalid_field(
                "wait",
                format!("at most {MAX_WAIT_SECONDS} seconds"),
            ));
        }
        Some(seconds) => Duration::from_secs(seconds),
        None => Duration::ZERO,
    };
    // Subscribe before reading, so an end between the two is not missed.
    let mut changes = state.feed.subscribe();
    let jobs = state.stores.jobs.clone();
    let owned = || jobs.get_owned(user.0.id, id);
    let job = owned().await?.ok_or_else(|| ApiError::not_found("job"))?;
    if job.status.is_terminal() || wait.is_zero() {
        return Ok(axum::Json(job));
    }

    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let change = tokio::time::timeout_at(deadline, changes.recv()).await;
        match change {
            Err(_elapsed) => break,
            Ok(Ok(change)) if change.id == id && change.status.is_terminal() => break,
            Ok(Ok(_)) => {}
            // Missed notifications: look at the record itself.
            Ok(Err(RecvError::Lagged(_))) => {
                let job = owned().await?.ok_or_else(|| ApiError::not_found("job"))?;
                if job.status.is_terminal() {
                    return Ok(axum::Json(job));
                }
            }
            Ok(Err(RecvError::Closed)) => break,
        }
    }
    let job = owned().await?.ok_or_else(|| ApiError::not_found("job"))?;
    Ok(axum::Json(job))
}

/// Cancel a job: one not yet started ends at once; a running one has its
/// command killed and ends as cancelled.
#[utoipa::path(
    post, path = "/v1/jobs/{id}/cancel", tag = "jobs",
    params(("id" = Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "Cancelled, or asked to stop if running", body = Job),
        (status = 404, description = "No such job of yours", body = ErrorBody),
        (status = 409, description = "The job already ended", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(job_id = %id))]
pub async fn cancel_job(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<Job>, ApiError> {
    let job = state
        .stores
        .jobs
        .get_owned(user.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    if job.status.is_terminal() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "job_ended",
            format!("the job already ended as {}", job.status),
        ));
    }
    let job = state
        .stores
        .jobs
        .cancel(id)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    tracing::info!(status = %job.status, "job cancel requested");
    Ok(axum::Json(job))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListJobsParams {
    pub status: Option<String>,
    pub kind: Option<String>,
    pub execution_id: Option<String>,
    pub agent_id: Option<String>,
    /// The `next_before` of the previous page.
    pub before: Option<Uuid>,
    /// At most 200; 50 when left out.
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct JobList {
    pub jobs: Vec<Job>,
    /// Pass as `before` for the next (older) page; absent on the last.
    pub next_before: Option<Uuid>,
}

/// A project's jobs, newest first, a page at a time.
#[utoipa::path(
    get, path = "/v1/projects/{id}/jobs", tag = "jobs",
    params(("id" = Uuid, Path, description = "Project id"), ListJobsParams),
    responses(
        (status = 200, description = "A page of jobs", body = JobList),
        (status = 404, description = "No such project of yours", body = ErrorBody),
        (status = 422, description = "A filter is invalid", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(project_id = %id))]
pub async fn list_jobs(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Query(params): Query<ListJobsParams>,
) -> Result<axum::Json<JobList>, ApiError> {
    owned_project(&state, &user, id).await?;
    let limit = params.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid_field(
            "limit",
            "must be between 1 and 200",
        ));
    }
    let filter = JobFilter {
        status: params
            .status
            .map(|s| s.parse::<JobStatus>())
            .transpose()
            .map_err(|m| ApiError::invalid_field("status", m))?,
        kind: params
            .kind
            .map(|k| k.parse::<JobKind>())
            .transpose()
            .map_err(|m| ApiError::invalid_field("kind", m))?,
        execution_id: params.execution_id,
        agent_id: params.agent_id,
    };
    let jobs = state
        .stores
        .jobs
        .list(id, &filter, params.before, limit)
        .await?;
    let full_page = jobs.len() == usize::try_from(limit).unwrap_or(usize::MAX);
    let next_before = full_page.then(|| jobs.last().map(|job| job.id)).flatten();
    Ok(axum::Json(JobList { jobs, next_before }))
}

/// Server-sent events: `status` on each change and `output` with command
/// output as it is produced (redacted), ending when the job ends. Events
/// from before the request are replayed first.
#[utoipa::path(
    get, path = "/v1/jobs/{id}/events", tag = "jobs",
    params(("id" = Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "An event stream (text/event-stream)"),
        (status = 404, description = "No such job of yours", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(job_id = %id))]
pub async fn job_events(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let job = state
        .stores
        .jobs
        .get_owned(user.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    // Reading a stream blocks its connection, so each follower has its own.
    // Its reads block for up to a second, longer than redis-rs waits for
    // an answer by default.
    let config = redis::AsyncConnectionConfig::new()
        .set_response_timeout(Some(EVENTS_BLOCK + Duration::from_secs(5)));
    let redis = state
        .redis_client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(|error| ApiError::internal(&error))?;
    let stream = follow(state, redis, job);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

fn event(payload: &JobEvent) -> Event {
    let name = match payload {
        JobEvent::Status { .. } => "status",
        JobEvent::Output { .. } => "output",
    };
    Event::default()
        .event(name)
        .json_data(payload)
        .unwrap_or_else(|_| Event::default().event(name))
}

fn follow(
    state: AppState,
    mut redis: redis::aio::MultiplexedConnection,
    job: Job,
) -> impl Stream<Item = Result<Event, Infallible>> {
    async_stream::stream! {
        let prefix = state.dispatcher.settings().prefix.clone();
        let mut last = job.status;
        yield Ok(event(&JobEvent::Status { status: last }));
        let mut after = "0".to_owned();
        let mut ended = last.is_terminal();
        loop {
            let block = if ended { Duration::ZERO } else { EVENTS_BLOCK };
            let read = events::read(&mut redis, &prefix, job.id, &after, block).await;
            let entries = match read {
                Ok(entries) => entries,
                Err(error) => {
                    tracing::debug!(%error, "reading job events failed");
                    break;
                }
            };
            for (id, payload) in entries {
                after = id;
                if let JobEvent::Status { status } = payload {
                    if status == last {
                        continue;
                    }
                    last = status;
                }
                yield Ok(event(&payload));
            }
            // A worker writes a job's output before its last status, so
            // nothing follows an end read from the stream.
            if ended || last.is_terminal() {
                break;
            }
            // Changes no worker reports (a cancel before it started) and
            // the end itself come from the record.
            match state.stores.jobs.get(job.id).await {
                Ok(Some(now)) if now.status != last => {
                    ended = now.status.is_terminal();
                    if !ended {
                        last = now.status;
                        yield Ok(event(&JobEvent::Status { status: last }));
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        let status = state.stores.jobs.get(job.id).await.ok().flatten().map_or(last, |j| j.status);
        if status != last {
            yield Ok(event(&JobEvent::Status { status }));
        }
    }
}
