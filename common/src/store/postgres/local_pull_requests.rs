use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::{LocalPullRequest, NewLocalPullRequest};
use crate::store::{LocalPullRequestStore, StoreError, StoreResult};

pub(super) struct PgLocalPullRequests(pub(super) PgPool);

const COLUMNS: &str =
    "repo_owner, repo_name, number, title, body, head, base, draft, state, created_at";

#[derive(sqlx::FromRow)]
struct Row {
    repo_owner: String,
    repo_name: String,
    number: i64,
    title: String,
    body: Option<String>,
    head: String,
    base: String,
    draft: bool,
    state: String,
    created_at: DateTime<Utc>,
}

impl From<Row> for LocalPullRequest {
    fn from(row: Row) -> Self {
        Self {
            repo_owner: row.repo_owner,
            repo_name: row.repo_name,
            number: row.number,
            title: row.title,
            body: row.body,
            head: row.head,
            base: row.base,
            draft: row.draft,
            state: row.state,
            created_at: row.created_at,
        }
    }
}

/// Two pull requests opened at once in one repository may pick the same
/// number; the loser tries again with the next.
const NUMBERING_TRIES: usize = 8;

#[async_trait]
impl LocalPullRequestStore for PgLocalPullRequests {
    async fn open(&self, pr: NewLocalPullRequest) -> StoreResult<(LocalPullRequest, bool)> {
        for _ in 0..NUMBERING_TRIES {
            // Either conflict (the number, or an open one from this head)
            // inserts nothing; which one it was is read back below.
            let inserted: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "INSERT INTO local_pull_requests
                     (id, repo_owner, repo_name, number, title, body, head, base, draft)
                 SELECT $1, $2, $3, COALESCE(MAX(number), 0) + 1, $4, $5, $6, $7, $8
                 FROM local_pull_requests WHERE repo_owner = $2 AND repo_name = $3
                 ON CONFLICT DO NOTHING
                 RETURNING {COLUMNS}"
            )))
            .bind(Uuid::now_v7())
            .bind(&pr.repo_owner)
            .bind(&pr.repo_name)
            .bind(&pr.title)
            .bind(&pr.body)
            .bind(&pr.head)
            .bind(&pr.base)
            .bind(pr.draft)
            .fetch_optional(&self.0)
            .await?;
            if let Some(row) = inserted {
                return Ok((row.into(), true));
            }

            let open: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM local_pull_requests
                 WHERE repo_owner = $1 AND repo_name = $2 AND head = $3 AND state = 'open'"
            )))
            .bind(&pr.repo_owner)
            .bind(&pr.repo_name)
            .bind(&pr.head)
            .fetch_optional(&self.0)
            .await?;
            if let Some(row) = open {
                return Ok((row.into(), false));
            }
        }
        Err(StoreError::Conflict(
            "too many pull requests opened at once in this repository; try again".to_owned(),
        ))
    }

    async fn get(
        &self,
        owner: &str,
        name: &str,
        number: i64,
    ) -> StoreResult<Option<LocalPullRequest>> {
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM local_pull_requests
             WHERE repo_owner = $1 AND repo_name = $2 AND number = $3"
        )))
        .bind(owner)
        .bind(name)
        .bind(number)
        .fetch_optional(&self.0)
        .await?;
        Ok(row.map(Into::into))
    }
}
