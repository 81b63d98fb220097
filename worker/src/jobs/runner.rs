//! One job, from its queue message to its recorded outcome.
//!
//! The order matters. The job starts only once the project's sandbox is
//! leased, under the lease's fencing token; its outcome is written under
//! the same token before the lease is given back, so a worker that lost
//! its lease (it stalled, another took over) cannot overwrite anything,
//! and a finished job is never mistaken for an abandoned one. The
//! project's next job is dispatched right after, from here, so an agent's
//! next tool call waits for no loop.

use std::time::{Duration, Instant};

use chrono::Utc;
use hero_common::jobs::params::JobParams;
use hero_common::jobs::queue::JobMessage;
use hero_common::jobs::{Job, JobFailure, JobStatus, Outcome};
use hero_common::redact::Redactor;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::Services;
use super::cancel::Registered;
use super::failure::{RunError, backoff};
use super::handlers;
use super::workspace::Workspace;
use crate::lease::{Checkout, Heartbeat, LeaseError, PoolError};

/// How long a stopped job's command gets to die before its handler is
/// dropped.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// How long a job that found no free sandbox waits before it is offered
/// again.
const CAPACITY_RETRY: Duration = Duration::from_secs(1);

/// Runs the job `message` names, if the message is still current. Never
/// fails: whatever goes wrong is recorded on the job, or left for the
/// recovery to find, since Postgres is the record and Redis only the
/// transport.
pub async fn run_message(services: &Services, message: JobMessage) {
    let job = match services.stores.jobs.get(message.job).await {
        Ok(Some(job)) => job,
        Ok(None) => {
            tracing::debug!(job_id = %message.job, "message for a job that no longer exists");
            return;
        }
        Err(error) => {
            // The job stays dispatched; recovery sends it again.
            tracing::warn!(job_id = %message.job, %error, "cannot read the job");
            return;
        }
    };
    if job.status != JobStatus::Dispatched || job.dispatch != message.dispatch {
        tracing::debug!(job_id = %job.id, status = %job.status, "stale or duplicated message; dropped");
        return;
    }

    let span = tracing::info_span!(
        "job",
        job_id = %job.id,
        project_id = %job.project_id,
        kind = %job.kind,
        attempt = job.attempt + 1,
    );
    run(services, job).instrument(span).await;
}

/// Why a running job stopped before its handler finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopped {
    Cancelled,
    /// The worker is shutting down and its grace has passed.
    Aborted,
    /// Someone else holds the sandbox now; nothing may be written.
    LeaseLost,
}

async fn run(services: &Services, job: Job) {
    let clock = Instant::now();
    let dispatch = job.dispatch;

    let project = match services.stores.projects.find(job.project_id).await {
        Ok(Some(project)) => project,
        Ok(None) => {
            let failure = RunError::permanent("project_gone", "the project was deleted");
            fail_unstarted(services, &job, failure).await;
            return;
        }
        Err(error) => {
            fail_unstarted(services, &job, error.into()).await;
            return;
        }
    };
    let params = match JobParams::parse(job.kind, &job.params) {
        Ok(params) => params,
        Err(error) => {
            let failure = RunError::permanent("invalid_params", error.to_string());
            fail_unstarted(services, &job, failure).await;
            return;
        }
    };

    let holder = format!("{}/{}", services.worker, job.id);
    let checkout = match services.pool.checkout(project.id, &holder).await {
        Ok(checkout) => checkout,
        Err(PoolError::Lease(LeaseError::WaitExceeded { waited })) => {
            tracing::info!(?waited, "no sandbox free; the job waits for capacity");
            let again = Utc::now() + CAPACITY_RETRY;
            if let Err(error) = services.stores.jobs.defer(job.id, dispatch, again).await {
                tracing::warn!(%error, "could not put the job back; recovery will");
            }
            return;
        }
        Err(error) => {
            fail_unstarted(services, &job, error.into()).await;
            return;
        }
    };
    hero_common::metrics::lease_waited(checkout.waited);

    // Listening for a cancel before starting leaves no gap: one asked
    // before the start makes the start refuse, one asked after it is heard.
    let cancel = services.cancellations.register(job.id);
    let started = services
        .stores
        .jobs
        .start(job.id, dispatch, &holder, checkout.lease.token)
        .await;
    let job = match started {
        Ok(Some(job)) => job,
        Ok(None) => {
            tracing::debug!("the job was cancelled or moved on before it started");
            release(services, &job, &checkout).await;
            return;
        }
        Err(error) => {
            tracing::warn!(%error, "cannot start the job; recovery will send it again");
            release(services, &job, &checkout).await;
            return;
        }
    };
    services.output.status(job.id, JobStatus::Running).await;
    tracing::info!(
        sandbox = checkout.sandbox.id(),
        waited_ms = checkout.waited.as_millis(),
        "job started"
    );

    let (outcome, redactor) = execute(services, &job, project, params, &checkout, &cancel).await;
    let Some(outcome) = outcome else {
        tracing::warn!("the sandbox lease was lost mid-job; its new holder owns the outcome");
        return;
    };
    let outcome = redact_outcome(outcome, &redactor);
    let label = outcome_label(&outcome);
    let status = status_of(&outcome);

    let recorded = services
        .stores
        .jobs
        .finish(job.id, dispatch, checkout.lease.token, outcome)
        .await;
    let took = clock.elapsed();
    hero_common::metrics::job_ran(job.kind, label, took);
    match recorded {
        Ok(true) => {}
        Ok(false) => tracing::warn!("the outcome was not recorded: the lease moved on"),
        Err(error) => {
            tracing::warn!(%error, "recording the outcome failed; recovery will re-run the job")
        }
    }
    release(services, &job, &checkout).await;
    services.output.status(job.id, status).await;
    tracing::info!(outcome = label, duration_ms = took.as_millis(), "job ended");

    if let Err(error) = services.dispatcher.dispatch_project(job.project_id).await {
        tracing::debug!(%error, "dispatching the project's next job failed; the loop will");
    }
}

/// Runs the handler in the leased sandbox while heartbeating the lease,
/// and turns how it ended into an outcome (`None` when the lease was lost).
async fn execute(
    services: &Services,
    job: &Job,
    project: hero_common::domain::Project,
    params: JobParams,
    checkout: &Checkout,
    cancel: &Registered,
) -> (Option<Outcome>, Redactor) {
    let heartbeat = Heartbeat::start(
        services.pool.table().clone(),
        checkout.lease.clone(),
        services.lease_ttl / 3,
    );
    let stop = CancellationToken::new();
    let mut output = services.output.for_job(job.id);
    let mut redactor = builtin_redactor().clone();

    let mut ran = Box::pin(async {
        let mut workspace = Workspace::open(
            services,
            project,
            checkout.sandbox.clone(),
            checkout.lease.clone(),
            stop.clone(),
        )
        .await?;
        let result = handlers::run(services, &mut workspace, params, &mut output).await;
        redactor = workspace.redactor().clone();
        result
    });

    let stopped_by = async {
        tokio::select! {
            () = cancel.token.cancelled() => Stopped::Cancelled,
            () = services.abort.cancelled() => Stopped::Aborted,
            () = heartbeat.lost.cancelled() => Stopped::LeaseLost,
        }
    };
    let (result, stopped) = tokio::select! {
        result = &mut ran => (Some(result), None),
        reason = stopped_by => {
            tracing::info!(?reason, "stopping the job");
            stop.cancel();
            // The command is being killed; let the handler notice and
            // return, then give up on it.
            let result = tokio::time::timeout(STOP_GRACE, &mut ran).await.ok();
            (result, Some(reason))
        }
    };
    drop(ran);
    output.finish().await;
    drop(heartbeat);

    let outcome = match (stopped, result) {
        (Some(Stopped::LeaseLost), _) => None,
        // Work that completed is kept even if a stop came at the end.
        (_, Some(Ok(value))) => Some(Outcome::Succeeded(value)),
        (Some(Stopped::Cancelled), _) => Some(Outcome::Cancelled),
        (Some(Stopped::Aborted), _) => Some(Outcome::Retry {
            failure: JobFailure {
                code: "worker_stopped".to_owned(),
                message: "the worker running it shut down; it runs again elsewhere".to_owned(),
                transient: true,
            },
            retry_at: Utc::now(),
        }),
        (None, Some(Err(error))) => Some(failed(job, error)),
        (None, None) => None,
    };
    (outcome, redactor)
}

/// A failed run: retried later when it is transient and attempts are left.
fn failed(job: &Job, error: RunError) -> Outcome {
    tracing::info!(code = %error.failure.code, transient = error.is_transient(), "job run failed");
    if error.is_transient() && job.attempt < job.max_attempts {
        let delay = backoff(job.attempt, error.retry_after);
        return Outcome::Retry {
            failure: error.failure,
            retry_at: Utc::now() + delay,
        };
    }
    Outcome::Failed(error.failure)
}

/// Ends a job that could not start; a transient cause is retried.
async fn fail_unstarted(services: &Services, job: &Job, error: RunError) {
    let error = error.redacted(builtin_redactor());
    tracing::info!(code = %error.failure.code, "the job could not start");
    let retry_at = error
        .is_transient()
        .then(|| Utc::now() + backoff(job.attempt + 1, error.retry_after));
    let recorded = services
        .stores
        .jobs
        .fail_unstarted(job.id, job.dispatch, error.failure, retry_at)
        .await;
    if let Err(error) = recorded {
        tracing::warn!(%error, "recording the failure failed; recovery will send the job again");
    }
    if let Err(error) = services.dispatcher.dispatch_project(job.project_id).await {
        tracing::debug!(%error, "dispatching the project's next job failed; the loop will");
    }
}

async fn release(services: &Services, job: &Job, checkout: &Checkout) {
    let table = services.pool.table();
    let released = if job.batch_id.is_some() {
        table.release_from_batch(&checkout.lease).await
    } else {
        table.release(&checkout.lease).await
    };
    if let Err(error) = released {
        tracing::warn!(%error, "releasing the sandbox lease failed; it expires by itself");
    }
}

/// Masks secrets in whatever the outcome carries: results come from the
/// repository and commands, errors from everywhere.
fn redact_outcome(outcome: Outcome, redactor: &Redactor) -> Outcome {
    let failure = |mut failure: JobFailure| {
        failure.message = redactor.redact_str(&failure.message);
        failure
    };
    match outcome {
        Outcome::Succeeded(value) => {
            let text = value.to_string();
            let masked = redactor.redact_str(&text);
            if masked == text {
                Outcome::Succeeded(value)
            } else {
                Outcome::Succeeded(serde_json::from_str(&masked).unwrap_or(serde_json::Value::Null))
            }
        }
        Outcome::Failed(f) => Outcome::Failed(failure(f)),
        Outcome::Retry {
            failure: f,
            retry_at,
        } => Outcome::Retry {
            failure: failure(f),
            retry_at,
        },
        Outcome::Cancelled => Outcome::Cancelled,
    }
}

/// Masks Hero's and GitHub's token shapes, for failures that happen before
/// the project's secrets are known.
fn builtin_redactor() -> &'static Redactor {
    static BUILTIN: std::sync::OnceLock<Redactor> = std::sync::OnceLock::new();
    BUILTIN.get_or_init(|| Redactor::builtin().expect("the built-in token patterns compile"))
}

fn outcome_label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Succeeded(_) => "succeeded",
        Outcome::Failed(_) => "failed",
        Outcome::Retry { .. } => "retry",
        Outcome::Cancelled => "cancelled",
    }
}

fn status_of(outcome: &Outcome) -> JobStatus {
    match outcome {
        Outcome::Succeeded(_) => JobStatus::Succeeded,
        Outcome::Failed(_) => JobStatus::Failed,
        Outcome::Retry { .. } => JobStatus::Queued,
        Outcome::Cancelled => JobStatus::Cancelled,
    }
}
