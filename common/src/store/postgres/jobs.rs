use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, PgPool};
use uuid::Uuid;

use super::unique_violation;
use crate::jobs::{
    Claimed, Job, JobContext, JobFailure, JobFilter, JobKind, JobStatus, NewJob, Outcome,
};
use crate::store::{JobStore, StoreError, StoreResult};

pub(super) struct PgJobs(pub(super) PgPool);

const COLUMNS: &str = "id, project_id, kind, params, status, attempt, max_attempts, dispatch, \
     run_after, cancel_requested, idempotency_key, execution_id, agent_id, context, batch_id, \
     result, error, worker, fencing_token, created_at, dispatched_at, started_at, finished_at";

/// The head of each project's unfinished jobs is the only one that may
/// run; it is claimable when it is queued and due. Two dispatchers skip
/// each other's locked rows, and the one-in-flight index stops any race
/// that slips through.
///
/// One text for one project (`$2`) and one for all: a single text with
/// `$2 IS NULL OR project_id = $2` gets a generic plan that scans every
/// project's jobs for a claim meant for one.
fn heads(project: Option<Uuid>) -> &'static str {
    match project {
        Some(_) => {
            "heads AS (
                 SELECT DISTINCT ON (project_id) id, status, kind, run_after, seq, batch_id
                 FROM jobs
                 WHERE status IN ('queued', 'dispatched', 'running') AND project_id = $2
                 ORDER BY project_id, seq
             )"
        }
        None => {
            "heads AS (
                 SELECT DISTINCT ON (project_id) id, status, kind, run_after, seq, batch_id
                 FROM jobs
                 WHERE status IN ('queued', 'dispatched', 'running') AND $2::uuid IS NULL
                 ORDER BY project_id, seq
             )"
        }
    }
}

/// Of the `due` heads (`id`, `kind`, `turn`, `seq`: the order they go
/// in), those that fit in their kind's Redis backlog of at most `$4`
/// waiting. `jobs_backlog_room` (see its migration) counts under a lock
/// per kind, so concurrent claims never fill one place twice.
const WITHIN_BACKLOG: &str = "room AS (
         SELECT kind, jobs_backlog_room(kind, $4) AS free
         FROM (SELECT DISTINCT kind FROM due ORDER BY kind) kinds
     ), within_backlog AS (
         SELECT placed.id, placed.turn, placed.seq
         FROM (SELECT *, row_number() OVER (PARTITION BY kind ORDER BY turn, seq) AS place
               FROM due) placed
         JOIN room USING (kind)
         WHERE placed.place <= room.free
     )";

/// Marks the `ready` rows dispatched and returns them as claimed.
const DISPATCH_READY: &str = "UPDATE jobs SET status = 'dispatched', dispatch = dispatch + 1,
                     dispatched_at = now(), updated_at = now()
     FROM ready
     WHERE jobs.id = ready.id AND jobs.status = 'queued'
     RETURNING jobs.id, jobs.project_id, jobs.kind, jobs.dispatch,
               (EXTRACT(EPOCH FROM (now() - jobs.run_after)) * 1000)::float8 AS lag_ms";

/// The assignments that cancel a job: one not started ends at once, a
/// running one is asked to stop, an ended one keeps what it has.
pub(super) const CANCEL: &str = "
    status = CASE WHEN status IN ('queued', 'dispatched') THEN 'cancelled' ELSE status END,
    finished_at = CASE WHEN status IN ('queued', 'dispatched') THEN now() ELSE finished_at END,
    error = CASE WHEN status IN ('queued', 'dispatched')
            THEN '{\"code\": \"cancelled\", \"message\": \"cancelled before it started\", \"transient\": false}'::jsonb
            ELSE error END,
    cancel_requested = cancel_requested OR status = 'running',
    updated_at = now()";

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    project_id: Uuid,
    kind: String,
    params: serde_json::Value,
    status: String,
    attempt: i32,
    max_attempts: i32,
    dispatch: i32,
    run_after: DateTime<Utc>,
    cancel_requested: bool,
    idempotency_key: Option<String>,
    execution_id: Option<String>,
    agent_id: Option<String>,
    context: Option<Json<JobContext>>,
    batch_id: Option<Uuid>,
    result: Option<serde_json::Value>,
    error: Option<Json<JobFailure>>,
    worker: Option<String>,
    fencing_token: Option<i64>,
    created_at: DateTime<Utc>,
    dispatched_at: Option<DateTime<Utc>>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

impl TryFrom<Row> for Job {
    type Error = StoreError;

    fn try_from(row: Row) -> Result<Self, StoreError> {
        let corrupt = |what: String| StoreError::Database(sqlx::Error::Decode(what.into()));
        Ok(Self {
            id: row.id,
            project_id: row.project_id,
            kind: row.kind.parse().map_err(corrupt)?,
            params: row.params,
            status: row.status.parse().map_err(corrupt)?,
            attempt: row.attempt,
            max_attempts: row.max_attempts,
            dispatch: row.dispatch,
            run_after: row.run_after,
            cancel_requested: row.cancel_requested,
            idempotency_key: row.idempotency_key,
            execution_id: row.execution_id,
            agent_id: row.agent_id,
            context: row.context.map(|Json(context)| context),
            batch_id: row.batch_id,
            result: row.result,
            error: row.error.map(|Json(failure)| failure),
            worker: row.worker,
            fencing_token: row.fencing_token,
            created_at: row.created_at,
            dispatched_at: row.dispatched_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
        })
    }
}

fn jobs(rows: Vec<Row>) -> StoreResult<Vec<Job>> {
    rows.into_iter().map(Job::try_from).collect()
}

#[derive(sqlx::FromRow)]
struct ClaimedRow {
    id: Uuid,
    project_id: Uuid,
    kind: String,
    dispatch: i32,
    lag_ms: f64,
}

fn claimed(rows: Vec<ClaimedRow>) -> StoreResult<Vec<Claimed>> {
    rows.into_iter()
        .map(|row| {
            Ok(Claimed {
                id: row.id,
                project_id: row.project_id,
                kind: row
                    .kind
                    .parse()
                    .map_err(|e: String| StoreError::Database(sqlx::Error::Decode(e.into())))?,
                dispatch: row.dispatch,
                lag: Duration::from_secs_f64(row.lag_ms.max(0.0) / 1000.0),
            })
        })
        .collect()
}

#[async_trait]
impl JobStore for PgJobs {
    async fn insert(&self, job: NewJob) -> StoreResult<(Job, bool)> {
        let inserted: Option<Row> = sqlx::query_as(AssertSqlSafe(format!(
            "INSERT INTO jobs (id, project_id, kind, params, max_attempts, idempotency_key,
                               execution_id, agent_id, context)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (project_id, idempotency_key) WHERE idempotency_key IS NOT NULL
             DO NOTHING
             RETURNING {COLUMNS}"
        )))
        .bind(Uuid::now_v7())
        .bind(job.project_id)
        .bind(job.kind.as_str())
        .bind(&job.params)
        .bind(job.kind.max_attempts())
        .bind(&job.idempotency_key)
        .bind(&job.execution_id)
        .bind(&job.agent_id)
        .bind(job.context.as_ref().map(Json))
        .fetch_optional(&self.0)
        .await?;
        if let Some(row) = inserted {
            return Ok((row.try_into()?, true));
        }

        let existing: Row = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM jobs WHERE project_id = $1 AND idempotency_key = $2"
        )))
        .bind(job.project_id)
        .bind(&job.idempotency_key)
        .fetch_one(&self.0)
        .await?;
        let existing = Job::try_from(existing)?;
        if existing.kind != job.kind || existing.params != job.params {
            return Err(StoreError::Conflict(
                "this idempotency_key was already used for a different job".to_owned(),
            ));
        }
        Ok((existing, false))
    }

    async fn get(&self, id: Uuid) -> StoreResult<Option<Job>> {
        let row: Option<Row> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM jobs WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.0)
        .await?;
        row.map(Job::try_from).transpose()
    }

    async fn get_owned(&self, owner_id: Uuid, id: Uuid) -> StoreResult<Option<Job>> {
        let row: Option<Row> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM jobs
             WHERE id = $1 AND project_id IN (SELECT id FROM projects WHERE owner_id = $2)"
        )))
        .bind(id)
        .bind(owner_id)
        .fetch_optional(&self.0)
        .await?;
        row.map(Job::try_from).transpose()
    }

    async fn list(
        &self,
        project_id: Uuid,
        filter: &JobFilter,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Job>> {
        let rows: Vec<Row> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM jobs
             WHERE project_id = $1
               AND ($2::text IS NULL OR status = $2)
               AND ($3::text IS NULL OR kind = $3)
               AND ($4::text IS NULL OR execution_id = $4)
               AND ($5::text IS NULL OR agent_id = $5)
               AND ($6::uuid IS NULL OR seq < (SELECT seq FROM jobs WHERE id = $6))
             ORDER BY seq DESC
             LIMIT $7"
        )))
        .bind(project_id)
        .bind(filter.status.map(JobStatus::as_str))
        .bind(filter.kind.map(JobKind::as_str))
        .bind(&filter.execution_id)
        .bind(&filter.agent_id)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&self.0)
        .await?;
        jobs(rows)
    }

    async fn cancel(&self, id: Uuid) -> StoreResult<Option<Job>> {
        let row: Option<Row> = sqlx::query_as(AssertSqlSafe(format!(
            "UPDATE jobs SET {CANCEL} WHERE id = $1 RETURNING {COLUMNS}"
        )))
        .bind(id)
        .fetch_optional(&self.0)
        .await?;
        row.map(Job::try_from).transpose()
    }

    async fn claim(
        &self,
        kind: Option<JobKind>,
        project: Option<Uuid>,
        limit: u32,
        backlog: u32,
    ) -> StoreResult<Vec<Claimed>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Interactive heads all share one turn: oldest first.
        let heads = heads(project);
        let result = sqlx::query_as(AssertSqlSafe(format!(
            "WITH {heads}, due AS (
                 SELECT id, kind, 0 AS turn, seq FROM heads
                 WHERE status = 'queued' AND batch_id IS NULL
                   AND ($1::text IS NULL OR kind = $1) AND run_after <= now()
             ), {WITHIN_BACKLOG}, ready AS (
                 SELECT j.id FROM jobs j JOIN within_backlog w ON w.id = j.id
                 ORDER BY w.seq
                 LIMIT $3
                 FOR UPDATE OF j SKIP LOCKED
             )
             {DISPATCH_READY}"
        )))
        .bind(kind.map(JobKind::as_str))
        .bind(project)
        .bind(i64::from(limit))
        .bind(i64::from(backlog))
        .fetch_all(&self.0)
        .await;
        match result {
            Ok(rows) => claimed(rows),
            // Another dispatcher put the project's head in flight between
            // our scan and our update: nothing to claim this time.
            Err(error) if unique_violation(&error) == Some("jobs_one_in_flight") => Ok(Vec::new()),
            Err(error) => Err(error.into()),
        }
    }

    async fn claim_batch(
        &self,
        kind: Option<JobKind>,
        project: Option<Uuid>,
        limit: u32,
        concurrency: u32,
        backlog: u32,
    ) -> StoreResult<Vec<Claimed>> {
        let in_flight = || {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM jobs
                 WHERE batch_id IS NOT NULL AND status IN ('dispatched', 'running')",
            )
        };
        let room = |in_flight: i64| {
            let free = i64::from(concurrency).saturating_sub(in_flight).max(0);
            u32::try_from(free).unwrap_or(0).min(limit)
        };
        // Most rounds during a large batch find it at its bound, and most
        // claims for one project find it has no batch job waiting: a cheap
        // look first spares them the lock and the scan.
        let look = match project {
            Some(_) => {
                "SELECT EXISTS (SELECT 1 FROM jobs WHERE project_id = $1 \
                        AND status = 'queued' AND batch_id IS NOT NULL),
                        (SELECT count(*) FROM jobs WHERE batch_id IS NOT NULL \
                         AND status IN ('dispatched', 'running'))"
            }
            None => {
                "SELECT $1::uuid IS NULL AND EXISTS (SELECT 1 FROM jobs \
                        WHERE batch_id IS NOT NULL AND status = 'queued'),
                        (SELECT count(*) FROM jobs WHERE batch_id IS NOT NULL \
                         AND status IN ('dispatched', 'running'))"
            }
        };
        let (waiting, in_flight_now): (bool, i64) = sqlx::query_as(look)
            .bind(project)
            .fetch_one(&self.0)
            .await?;
        if !waiting || room(in_flight_now) == 0 {
            return Ok(Vec::new());
        }

        // Counting and claiming must not interleave between dispatchers,
        // or two of them could each fill the last free place. Only batch
        // claims take this lock; interactive ones never wait on it.
        let mut tx = self.0.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('hero:claim_batch', 0))")
            .execute(&mut *tx)
            .await?;
        let room = room(in_flight().fetch_one(&mut *tx).await?);
        if room == 0 {
            return Ok(Vec::new());
        }
        // Each batch's ready heads take turns (its oldest first, then the
        // next batch's oldest), so a small batch is not stuck behind the
        // whole of a large one accepted earlier.
        let heads = heads(project);
        let result = sqlx::query_as(AssertSqlSafe(format!(
            "WITH {heads}, due AS (
                 SELECT id, kind,
                        row_number() OVER (PARTITION BY batch_id ORDER BY seq) AS turn, seq
                 FROM heads
                 WHERE status = 'queued' AND batch_id IS NOT NULL
                   AND ($1::text IS NULL OR kind = $1) AND run_after <= now()
             ), {WITHIN_BACKLOG}, ready AS (
                 SELECT j.id FROM jobs j JOIN within_backlog w ON w.id = j.id
                 ORDER BY w.turn, w.seq
                 LIMIT $3
                 FOR UPDATE OF j SKIP LOCKED
             )
             {DISPATCH_READY}"
        )))
        .bind(kind.map(JobKind::as_str))
        .bind(project)
        .bind(i64::from(room))
        .bind(i64::from(backlog))
        .fetch_all(&mut *tx)
        .await;
        match result {
            Ok(rows) => {
                tx.commit().await?;
                claimed(rows)
            }
            Err(error) if unique_violation(&error) == Some("jobs_one_in_flight") => Ok(Vec::new()),
            Err(error) => Err(error.into()),
        }
    }

    async fn undispatch(&self, id: Uuid, dispatch: i32) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET status = 'queued', updated_at = now()
             WHERE id = $1 AND dispatch = $2 AND status = 'dispatched'",
        )
        .bind(id)
        .bind(dispatch)
        .execute(&self.0)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn start(
        &self,
        id: Uuid,
        dispatch: i32,
        worker: &str,
        fencing_token: i64,
    ) -> StoreResult<Option<Job>> {
        let row: Option<Row> = sqlx::query_as(AssertSqlSafe(format!(
            "UPDATE jobs SET status = 'running', attempt = attempt + 1, started_at = now(),
                             worker = $3, fencing_token = $4, updated_at = now()
             WHERE id = $1 AND dispatch = $2 AND status = 'dispatched' AND NOT cancel_requested
             RETURNING {COLUMNS}"
        )))
        .bind(id)
        .bind(dispatch)
        .bind(worker)
        .bind(fencing_token)
        .fetch_optional(&self.0)
        .await?;
        row.map(Job::try_from).transpose()
    }

    async fn finish(
        &self,
        id: Uuid,
        dispatch: i32,
        fencing_token: i64,
        outcome: Outcome,
    ) -> StoreResult<bool> {
        let (status, result, error, run_after): (_, _, _, Option<DateTime<Utc>>) = match outcome {
            Outcome::Succeeded(result) => (JobStatus::Succeeded, Some(result), None, None),
            Outcome::Failed(failure) => (JobStatus::Failed, None, Some(Json(failure)), None),
            Outcome::Retry { failure, retry_at } => {
                (JobStatus::Queued, None, Some(Json(failure)), Some(retry_at))
            }
            Outcome::Cancelled => (
                JobStatus::Cancelled,
                None,
                Some(Json(JobFailure {
                    code: "cancelled".to_owned(),
                    message: "cancelled while running".to_owned(),
                    transient: false,
                })),
                None,
            ),
        };
        let done = sqlx::query(
            "UPDATE jobs SET status = $4, result = $5, error = $6,
                             run_after = COALESCE($7, run_after),
                             finished_at = CASE WHEN $4 = 'queued' THEN NULL ELSE now() END,
                             worker = CASE WHEN $4 = 'queued' THEN NULL ELSE worker END,
                             updated_at = now()
             WHERE id = $1 AND dispatch = $2 AND status = 'running' AND fencing_token = $3
               AND EXISTS (SELECT 1 FROM sandboxes s
                           WHERE s.project_id = jobs.project_id AND s.fencing_token = $3
                             AND s.state IN ('starting', 'ready'))",
        )
        .bind(id)
        .bind(dispatch)
        .bind(fencing_token)
        .bind(status.as_str())
        .bind(result)
        .bind(error)
        .bind(run_after)
        .execute(&self.0)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn fail_unstarted(
        &self,
        id: Uuid,
        dispatch: i32,
        failure: JobFailure,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET
                 attempt = attempt + 1, error = $3,
                 status = CASE WHEN $4::timestamptz IS NOT NULL AND attempt + 1 < max_attempts
                          THEN 'queued' ELSE 'failed' END,
                 run_after = COALESCE($4, run_after),
                 finished_at = CASE WHEN $4::timestamptz IS NOT NULL AND attempt + 1 < max_attempts
                               THEN NULL ELSE now() END,
                 updated_at = now()
             WHERE id = $1 AND dispatch = $2 AND status = 'dispatched'",
        )
        .bind(id)
        .bind(dispatch)
        .bind(Json(failure))
        .bind(retry_at)
        .execute(&self.0)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn defer(&self, id: Uuid, dispatch: i32, run_after: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET status = 'queued', run_after = $3, updated_at = now()
             WHERE id = $1 AND dispatch = $2 AND status = 'dispatched'",
        )
        .bind(id)
        .bind(dispatch)
        .bind(run_after)
        .execute(&self.0)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn dispatched_before(&self, age: Duration) -> StoreResult<Vec<Claimed>> {
        let rows: Vec<ClaimedRow> = sqlx::query_as(
            "SELECT id, project_id, kind, dispatch,
                    (EXTRACT(EPOCH FROM (now() - dispatched_at)) * 1000)::float8 AS lag_ms
             FROM jobs
             WHERE status = 'dispatched' AND dispatched_at < now() - make_interval(secs => $1)
             ORDER BY dispatched_at
             LIMIT 1000",
        )
        .bind(age.as_secs_f64())
        .fetch_all(&self.0)
        .await?;
        claimed(rows)
    }

    async fn requeue_abandoned(&self) -> StoreResult<u64> {
        // The lease is the proof of life: a running job whose sandbox lease
        // expired, or went to someone else, has no worker any more.
        let done = sqlx::query(
            "UPDATE jobs SET
                 status = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'queued' END,
                 error = CASE WHEN attempt >= max_attempts
                         THEN '{\"code\": \"worker_lost\", \"message\": \"the worker running it stopped answering on its last attempt\", \"transient\": true}'::jsonb
                         ELSE error END,
                 finished_at = CASE WHEN attempt >= max_attempts THEN now() END,
                 worker = NULL, run_after = now(), updated_at = now()
             WHERE status = 'running'
               AND NOT EXISTS (
                   SELECT 1 FROM sandboxes s
                   WHERE s.project_id = jobs.project_id
                     AND s.fencing_token = jobs.fencing_token
                     AND s.state IN ('starting', 'ready')
                     AND s.lease_holder IS NOT NULL
                     AND s.lease_expires_at > now())",
        )
        .execute(&self.0)
        .await?;
        Ok(done.rows_affected())
    }

    async fn counts(&self) -> StoreResult<Vec<(JobKind, JobStatus, i64)>> {
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT kind, status, count(*) FROM jobs GROUP BY kind, status")
                .fetch_all(&self.0)
                .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(kind, status, count)| {
                Some((kind.parse().ok()?, status.parse().ok()?, count))
            })
            .collect())
    }
}
