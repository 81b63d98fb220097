//! The Postgres implementation of every store.

mod audit;
mod batches;
mod deliveries;
mod jobs;
mod key_versions;
mod local_pull_requests;
mod projects;
mod pull_requests;
mod sandboxes;
mod secrets;
mod tokens;
mod users;

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::PgPool;

use super::{Health, StoreError, StoreResult, Stores};

impl Stores {
    pub fn postgres(pool: PgPool) -> Self {
        Self {
            users: Arc::new(users::PgUsers(pool.clone())),
            tokens: Arc::new(tokens::PgTokens(pool.clone())),
            projects: Arc::new(projects::PgProjects(pool.clone())),
            secrets: Arc::new(secrets::PgSecrets(pool.clone())),
            audit: Arc::new(audit::PgAudit(pool.clone())),
            key_versions: Arc::new(key_versions::PgKeyVersions(pool.clone())),
            pull_requests: Arc::new(pull_requests::PgPullRequests(pool.clone())),
            sandboxes: Arc::new(sandboxes::PgSandboxes(pool.clone())),
            local_pull_requests: Arc::new(local_pull_requests::PgLocalPullRequests(pool.clone())),
            jobs: Arc::new(jobs::PgJobs(pool.clone())),
            deliveries: Arc::new(deliveries::PgDeliveries(pool.clone())),
            batches: Arc::new(batches::PgBatches(pool.clone())),
            health: Arc::new(PgHealth(pool)),
        }
    }
}

struct PgHealth(PgPool);

#[async_trait]
impl Health for PgHealth {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.0).await?;
        Ok(())
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::Database(error)
    }
}

/// The name of the unique constraint `error` broke, if that is what it is.
fn unique_violation(error: &sqlx::Error) -> Option<&str> {
    match error {
        sqlx::Error::Database(db) if db.is_unique_violation() => db.constraint(),
        _ => None,
    }
}
