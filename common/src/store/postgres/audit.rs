use async_trait::async_trait;
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::{AuditEntry, AuditRecord};
use crate::store::{AuditLog, StoreResult};

pub(super) struct PgAudit(pub(super) PgPool);

#[async_trait]
impl AuditLog for PgAudit {
    async fn record(&self, entry: AuditEntry) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (actor_id, project_id, action, subject, details)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(entry.actor_id)
        .bind(entry.project_id)
        .bind(entry.action)
        .bind(entry.subject)
        .bind(entry.details)
        .execute(&self.0)
        .await?;
        Ok(())
    }

    async fn for_project(&self, project_id: Uuid) -> StoreResult<Vec<AuditRecord>> {
        let rows = sqlx::query_as(
            "SELECT id, at, actor_id, project_id, action, subject, details
             FROM audit_log WHERE project_id = $1 ORDER BY id",
        )
        .bind(project_id)
        .fetch_all(&self.0)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, at, actor_id, project_id, action, subject, details)| AuditRecord {
                    id,
                    at,
                    actor_id,
                    project_id,
                    action,
                    subject,
                    details,
                },
            )
            .collect())
    }
}
