use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

use super::unique_violation;
use crate::domain::{NewProject, Project, ProjectChanges};
use crate::store::{ProjectStore, StoreError, StoreResult};
use crate::webhook_triggers::WebhookTriggers;

pub(super) struct PgProjects(pub(super) PgPool);

/// The columns of [`ProjectRow`], as a literal for `concat!`: sqlx accepts
/// only static SQL.
macro_rules! columns {
    () => {
        "id, owner_id, name, repo_owner, repo_name, github_installation_id, \
         default_branch, use_cloud_sandbox, allow_default_branch_push, webhook_triggers, \
         created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct ProjectRow {
    id: Uuid,
    owner_id: Uuid,
    name: String,
    repo_owner: String,
    repo_name: String,
    github_installation_id: Option<i64>,
    default_branch: String,
    use_cloud_sandbox: bool,
    allow_default_branch_push: bool,
    webhook_triggers: Json<WebhookTriggers>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<ProjectRow> for Project {
    fn from(row: ProjectRow) -> Self {
        Self {
            id: row.id,
            owner_id: row.owner_id,
            name: row.name,
            repo_owner: row.repo_owner,
            repo_name: row.repo_name,
            github_installation_id: row.github_installation_id,
            default_branch: row.default_branch,
            use_cloud_sandbox: row.use_cloud_sandbox,
            allow_default_branch_push: row.allow_default_branch_push,
            webhook_triggers: row.webhook_triggers.0,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

fn name_taken(error: sqlx::Error, name: &str) -> StoreError {
    match unique_violation(&error) {
        Some("projects_owner_name_key") => {
            StoreError::Conflict(format!("you already have a project named {name:?}"))
        }
        _ => StoreError::Database(error),
    }
}

#[async_trait]
impl ProjectStore for PgProjects {
    async fn create(&self, owner_id: Uuid, project: NewProject) -> StoreResult<Project> {
        let row: ProjectRow = sqlx::query_as(concat!(
            "INSERT INTO projects (id, owner_id, name, repo_owner, repo_name,
                                   github_installation_id, default_branch, use_cloud_sandbox,
                                   allow_default_branch_push, webhook_triggers)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             RETURNING ",
            columns!(),
            ""
        ))
        .bind(Uuid::now_v7())
        .bind(owner_id)
        .bind(&project.name)
        .bind(&project.repo_owner)
        .bind(&project.repo_name)
        .bind(project.github_installation_id)
        .bind(&project.default_branch)
        .bind(project.use_cloud_sandbox)
        .bind(project.allow_default_branch_push)
        .bind(Json(&project.webhook_triggers))
        .fetch_one(&self.0)
        .await
        .map_err(|e| name_taken(e, &project.name))?;
        Ok(row.into())
    }

    async fn get(&self, owner_id: Uuid, id: Uuid) -> StoreResult<Option<Project>> {
        let row: Option<ProjectRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM projects WHERE id = $1 AND owner_id = $2"
        ))
        .bind(id)
        .bind(owner_id)
        .fetch_optional(&self.0)
        .await?;
        Ok(row.map(Into::into))
    }

    async fn find(&self, id: Uuid) -> StoreResult<Option<Project>> {
        let row: Option<ProjectRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM projects WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.0)
        .await?;
        Ok(row.map(Into::into))
    }

    async fn find_by_repository(&self, owner: &str, name: &str) -> StoreResult<Vec<Project>> {
        // GitHub names are case-insensitive; projects_repo_idx covers this.
        let rows: Vec<ProjectRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM projects
             WHERE lower(repo_owner) = lower($1) AND lower(repo_name) = lower($2)
             ORDER BY id"
        ))
        .bind(owner)
        .bind(name)
        .fetch_all(&self.0)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn list(
        &self,
        owner_id: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Project>> {
        let rows: Vec<ProjectRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM projects
             WHERE owner_id = $1 AND ($2::uuid IS NULL OR id > $2)
             ORDER BY id LIMIT $3"
        ))
        .bind(owner_id)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.0)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn update(
        &self,
        owner_id: Uuid,
        id: Uuid,
        changes: ProjectChanges,
    ) -> StoreResult<Option<Project>> {
        let new_name = changes.name.clone().unwrap_or_default();
        let row: Option<ProjectRow> = sqlx::query_as(concat!(
            "UPDATE projects SET
                name = COALESCE($3, name),
                repo_owner = COALESCE($4, repo_owner),
                repo_name = COALESCE($5, repo_name),
                github_installation_id = CASE WHEN $6 THEN $7 ELSE github_installation_id END,
                default_branch = COALESCE($8, default_branch),
                use_cloud_sandbox = COALESCE($9, use_cloud_sandbox),
                webhook_triggers = COALESCE($10, webhook_triggers),
                allow_default_branch_push = COALESCE($11, allow_default_branch_push),
                updated_at = now()
             WHERE id = $1 AND owner_id = $2
             RETURNING ",
            columns!(),
            ""
        ))
        .bind(id)
        .bind(owner_id)
        .bind(changes.name)
        .bind(changes.repo_owner)
        .bind(changes.repo_name)
        .bind(changes.github_installation_id.is_some())
        .bind(changes.github_installation_id.flatten())
        .bind(changes.default_branch)
        .bind(changes.use_cloud_sandbox)
        .bind(changes.webhook_triggers.as_ref().map(Json))
        .bind(changes.allow_default_branch_push)
        .fetch_optional(&self.0)
        .await
        .map_err(|e| name_taken(e, &new_name))?;
        Ok(row.map(Into::into))
    }

    async fn delete(&self, owner_id: Uuid, id: Uuid) -> StoreResult<bool> {
        let result = sqlx::query("DELETE FROM projects WHERE id = $1 AND owner_id = $2")
            .bind(id)
            .bind(owner_id)
            .execute(&self.0)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn owns_repository(
        &self,
        owner_id: Uuid,
        repo_owner: &str,
        repo_name: &str,
    ) -> StoreResult<bool> {
        let owns: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM projects WHERE owner_id = $1
                            AND lower(repo_owner) = lower($2) AND lower(repo_name) = lower($3))",
        )
        .bind(owner_id)
        .bind(repo_owner)
        .bind(repo_name)
        .fetch_one(&self.0)
        .await?;
        Ok(owns)
    }
}
