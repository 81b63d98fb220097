use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::{NewPullRequest, PullRequestRecord};
use crate::store::{PullRequestStore, StoreResult};

pub(super) struct PgPullRequests(pub(super) PgPool);

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    project_id: Uuid,
    forge: String,
    number: i64,
    url: String,
    title: String,
    head: String,
    base: String,
    state: String,
    created_at: DateTime<Utc>,
}

impl From<Row> for PullRequestRecord {
    fn from(row: Row) -> Self {
        Self {
            id: row.id,
            project_id: row.project_id,
            forge: row.forge,
            number: row.number,
            url: row.url,
            title: row.title,
            head: row.head,
            base: row.base,
            state: row.state,
            created_at: row.created_at,
        }
    }
}

#[async_trait]
impl PullRequestStore for PgPullRequests {
    async fn record(&self, pr: NewPullRequest) -> StoreResult<PullRequestRecord> {
        // A retry records the same pull request again: keep one row.
        let row: Row = sqlx::query_as(
            "INSERT INTO pull_requests (id, project_id, forge, number, url, title, head, base)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT ON CONSTRAINT pull_requests_number_key
             DO UPDATE SET url = EXCLUDED.url, updated_at = now()
             RETURNING id, project_id, forge, number, url, title, head, base, state, created_at",
        )
        .bind(Uuid::now_v7())
        .bind(pr.project_id)
        .bind(&pr.forge)
        .bind(pr.number)
        .bind(&pr.url)
        .bind(&pr.title)
        .bind(&pr.head)
        .bind(&pr.base)
        .fetch_one(&self.0)
        .await?;
        Ok(row.into())
    }

    async fn open_for_head(
        &self,
        project_id: Uuid,
        forge: &str,
        head: &str,
    ) -> StoreResult<Option<PullRequestRecord>> {
        let row: Option<Row> = sqlx::query_as(
            "SELECT id, project_id, forge, number, url, title, head, base, state, created_at
             FROM pull_requests
             WHERE project_id = $1 AND forge = $2 AND head = $3 AND state = 'open'",
        )
        .bind(project_id)
        .bind(forge)
        .bind(head)
        .fetch_optional(&self.0)
        .await?;
        Ok(row.map(Into::into))
    }

    async fn record_closed(
        &self,
        project_id: Uuid,
        forge: &str,
        number: i64,
        merged: bool,
    ) -> StoreResult<Option<PullRequestRecord>> {
        // Only an open record moves: a merge is final, and a late or
        // repeated delivery must not turn `merged` into `closed`.
        let row: Option<Row> = sqlx::query_as(
            "UPDATE pull_requests
             SET state = CASE WHEN state = 'open' THEN $4 ELSE state END,
                 updated_at = CASE WHEN state = 'open' THEN now() ELSE updated_at END
             WHERE project_id = $1 AND forge = $2 AND number = $3
             RETURNING id, project_id, forge, number, url, title, head, base, state, created_at",
        )
        .bind(project_id)
        .bind(forge)
        .bind(number)
        .bind(if merged { "merged" } else { "closed" })
        .fetch_optional(&self.0)
        .await?;
        Ok(row.map(Into::into))
    }

    async fn list(&self, project_id: Uuid) -> StoreResult<Vec<PullRequestRecord>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, project_id, forge, number, url, title, head, base, state, created_at
             FROM pull_requests WHERE project_id = $1 ORDER BY created_at DESC",
        )
        .bind(project_id)
        .fetch_all(&self.0)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
