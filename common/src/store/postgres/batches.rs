//! Batches in Postgres: a batch row and all of its jobs written in one
//! transaction, its progress counted from the jobs when it is read.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, PgPool};
use uuid::Uuid;

use super::jobs::CANCEL;
use crate::jobs::JobFailure;
use crate::jobs::batch::{
    Batch, BatchCancellation, BatchCounts, BatchCreated, BatchFailure, BatchSelection,
    MAX_BATCH_JOBS, NewBatch,
};
use crate::store::{BatchStore, StoreError, StoreResult};

pub(super) struct PgBatches(pub(super) PgPool);

/// A batch with its jobs counted by status. Counting from the jobs keeps
/// one record of truth; the `jobs_by_batch` index serves the count.
const SUMMARY: &str = "
    SELECT b.id, b.kind, b.params, b.total, b.idempotency_key, b.created_at, c.*
    FROM batches b CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE status = 'queued') AS queued,
               count(*) FILTER (WHERE status = 'dispatched') AS dispatched,
               count(*) FILTER (WHERE status = 'running') AS running,
               count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
               count(*) FILTER (WHERE status = 'failed') AS failed,
               count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
               min(started_at) AS started_at,
               -- Finished once nothing is left to run; a batch whose every
               -- project was deleted is finished when it was created.
               CASE WHEN count(*) FILTER (WHERE status IN ('queued', 'dispatched', 'running')) = 0
                    THEN coalesce(max(finished_at), b.created_at) END AS finished_at
        FROM jobs WHERE batch_id = b.id
    ) c";

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: Uuid,
    kind: String,
    params: serde_json::Value,
    total: i32,
    idempotency_key: Option<String>,
    created_at: DateTime<Utc>,
    queued: i64,
    dispatched: i64,
    running: i64,
    succeeded: i64,
    failed: i64,
    cancelled: i64,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

impl TryFrom<SummaryRow> for Batch {
    type Error = StoreError;

    fn try_from(row: SummaryRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id,
            kind: row
                .kind
                .parse()
                .map_err(|e: String| StoreError::Database(sqlx::Error::Decode(e.into())))?,
            params: row.params,
            total: i64::from(row.total),
            counts: BatchCounts {
                queued: row.queued,
                dispatched: row.dispatched,
                running: row.running,
                succeeded: row.succeeded,
                failed: row.failed,
                cancelled: row.cancelled,
            },
            idempotency_key: row.idempotency_key,
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct FailureRow {
    id: Uuid,
    project_id: Uuid,
    repo: String,
    error: Option<Json<JobFailure>>,
}

impl PgBatches {
    /// The batch `key` already names, if any: returned when it was asked
    /// for the same way, a conflict otherwise.
    async fn replay(
        &self,
        batch: &NewBatch,
        key: &str,
        digest: &[u8; 32],
    ) -> StoreResult<Option<BatchCreated>> {
        let stored: Option<(Uuid, String, serde_json::Value, Vec<u8>)> = sqlx::query_as(
            "SELECT id, kind, params, selection_digest FROM batches
             WHERE owner_id = $1 AND idempotency_key = $2",
        )
        .bind(batch.owner_id)
        .bind(key)
        .fetch_optional(&self.0)
        .await?;
        let Some((id, kind, params, selection)) = stored else {
            return Ok(None);
        };
        if kind != batch.kind.as_str() || params != batch.params || selection != digest {
            return Err(StoreError::Conflict(
                "this idempotency_key was already used for a different batch".to_owned(),
            ));
        }
        let existing = self
            .get(batch.owner_id, id)
            .await?
            .ok_or(StoreError::NotFound("batch"))?;
        Ok(Some(BatchCreated::Replayed(existing)))
    }
}

#[async_trait]
impl BatchStore for PgBatches {
    async fn create(&self, batch: NewBatch) -> StoreResult<BatchCreated> {
        let digest = batch.selection.digest();
        if let Some(key) = &batch.idempotency_key
            && let Some(replayed) = self.replay(&batch, key, &digest).await?
        {
            return Ok(replayed);
        }

        // KEY SHARE holds the projects until the jobs exist: a project
        // deleted meanwhile waits, then takes its new job with it.
        let mut tx = self.0.begin().await?;
        let projects: Vec<Uuid> = match &batch.selection {
            BatchSelection::All => {
                sqlx::query_scalar(
                    "SELECT id FROM projects WHERE owner_id = $1 ORDER BY id FOR KEY SHARE",
                )
                .bind(batch.owner_id)
                .fetch_all(&mut *tx)
                .await?
            }
            BatchSelection::Listed(ids) => {
                let owned: HashSet<Uuid> = sqlx::query_scalar(
                    "SELECT id FROM projects WHERE owner_id = $1 AND id = ANY($2) FOR KEY SHARE",
                )
                .bind(batch.owner_id)
                .bind(ids)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
                let unknown: Vec<Uuid> = ids
                    .iter()
                    .filter(|id| !owned.contains(id))
                    .copied()
                    .collect();
                if !unknown.is_empty() {
                    return Ok(BatchCreated::UnknownProjects(unknown));
                }
                ids.clone()
            }
        };
        if projects.is_empty() {
            return Ok(BatchCreated::NoProjects);
        }
        let total = match i32::try_from(projects.len()) {
            Ok(total) if projects.len() <= MAX_BATCH_JOBS => total,
            _ => {
                return Ok(BatchCreated::TooMany {
                    count: projects.len(),
                });
            }
        };

        let id = Uuid::now_v7();
        let inserted: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO batches (id, owner_id, kind, params, total, idempotency_key,
                                  selection_digest)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (owner_id, idempotency_key) WHERE idempotency_key IS NOT NULL
             DO NOTHING
             RETURNING id",
        )
        .bind(id)
        .bind(batch.owner_id)
        .bind(batch.kind.as_str())
        .bind(&batch.params)
        .bind(total)
        .bind(&batch.idempotency_key)
        .bind(&digest[..])
        .fetch_optional(&mut *tx)
        .await?;
        if inserted.is_none() {
            // A request with the same key committed while this one ran.
            drop(tx);
            let key = batch.idempotency_key.as_deref().unwrap_or_default();
            return self
                .replay(&batch, key, &digest)
                .await?
                .ok_or(StoreError::NotFound("batch"));
        }

        // Every job in one statement, in the order the projects were
        // given, so acceptance order (seq) follows the request.
        let job_ids: Vec<Uuid> = projects.iter().map(|_| Uuid::now_v7()).collect();
        sqlx::query(
            "INSERT INTO jobs (id, project_id, kind, params, max_attempts, batch_id)
             SELECT t.id, t.project_id, $3, $4, $5, $6
             FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS t (id, project_id, n)
             ORDER BY t.n",
        )
        .bind(&job_ids)
        .bind(&projects)
        .bind(batch.kind.as_str())
        .bind(&batch.params)
        .bind(batch.kind.max_attempts())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;

        let created = self
            .get(batch.owner_id, id)
            .await?
            .ok_or(StoreError::NotFound("batch"))?;
        Ok(BatchCreated::Created(created))
    }

    async fn get(&self, owner_id: Uuid, id: Uuid) -> StoreResult<Option<Batch>> {
        let row: Option<SummaryRow> = sqlx::query_as(AssertSqlSafe(format!(
            "{SUMMARY} WHERE b.id = $1 AND b.owner_id = $2"
        )))
        .bind(id)
        .bind(owner_id)
        .fetch_optional(&self.0)
        .await?;
        row.map(Batch::try_from).transpose()
    }

    async fn list(
        &self,
        owner_id: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Batch>> {
        let rows: Vec<SummaryRow> = sqlx::query_as(AssertSqlSafe(format!(
            "{SUMMARY}
             WHERE b.owner_id = $1 AND ($2::uuid IS NULL OR b.id < $2)
             ORDER BY b.id DESC
             LIMIT $3"
        )))
        .bind(owner_id)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&self.0)
        .await?;
        rows.into_iter().map(Batch::try_from).collect()
    }

    async fn failures(
        &self,
        batch_id: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<BatchFailure>> {
        let rows: Vec<FailureRow> = sqlx::query_as(
            "SELECT j.id, j.project_id, p.repo_owner || '/' || p.repo_name AS repo, j.error
             FROM jobs j JOIN projects p ON p.id = j.project_id
             WHERE j.batch_id = $1 AND j.status = 'failed'
               AND ($2::uuid IS NULL OR j.seq > (SELECT seq FROM jobs WHERE id = $2))
             ORDER BY j.seq
             LIMIT $3",
        )
        .bind(batch_id)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.0)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                // Every path that fails a job records why; a row without
                // it still says which job to look at.
                let (code, message) = match row.error {
                    Some(Json(failure)) => (failure.code, failure.message),
                    None => ("unknown".to_owned(), "no error was recorded".to_owned()),
                };
                BatchFailure {
                    job_id: row.id,
                    project_id: row.project_id,
                    repo: row.repo,
                    code,
                    message,
                }
            })
            .collect())
    }

    async fn cancel(&self, owner_id: Uuid, id: Uuid) -> StoreResult<Option<BatchCancellation>> {
        let (found, cancelled, stopping): (i64, i64, i64) = sqlx::query_as(AssertSqlSafe(format!(
            "WITH owned AS (
                 SELECT id FROM batches WHERE id = $1 AND owner_id = $2
             ), changed AS (
                 UPDATE jobs SET {CANCEL}
                 WHERE batch_id = (SELECT id FROM owned)
                   AND (status IN ('queued', 'dispatched')
                        OR (status = 'running' AND NOT cancel_requested))
                 RETURNING status
             )
             SELECT (SELECT count(*) FROM owned),
                    count(*) FILTER (WHERE status = 'cancelled'),
                    count(*) FILTER (WHERE status = 'running')
             FROM changed"
        )))
        .bind(id)
        .bind(owner_id)
        .fetch_one(&self.0)
        .await?;
        Ok((found > 0).then_some(BatchCancellation {
            cancelled,
            stopping,
        }))
    }
}
