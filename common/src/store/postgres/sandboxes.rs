//! The API's view of the `sandboxes` table: a project's live sandbox, and
//! the close request the reaper acts on. The workers' lease statements
//! live beside the lease manager (hero-worker's `lease::table`); nothing
//! here takes or changes a lease.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::{LiveSandboxState, SandboxRecord};
use crate::store::{SandboxStore, StoreError, StoreResult};

pub(super) struct PgSandboxes(pub(super) PgPool);

/// The columns of [`SandboxRow`], as a literal for `concat!`: sqlx accepts
/// only static SQL. A lease counts only until it expires, as acquire
/// counts it; the holder and fencing token are never read.
macro_rules! columns {
    () => {
        "id, project_id, provider, provider_id, state, created_at, last_active_at, \
         hydrated_commit, \
         (lease_holder IS NOT NULL AND lease_expires_at > now()) AS leased, \
         CASE WHEN lease_holder IS NOT NULL AND lease_expires_at > now() \
              THEN lease_expires_at END AS leased_until, \
         close_requested_at"
    };
}

#[derive(sqlx::FromRow)]
struct SandboxRow {
    id: Uuid,
    project_id: Uuid,
    provider: String,
    provider_id: Option<String>,
    state: String,
    created_at: DateTime<Utc>,
    last_active_at: DateTime<Utc>,
    hydrated_commit: Option<String>,
    leased: bool,
    leased_until: Option<DateTime<Utc>>,
    close_requested_at: Option<DateTime<Utc>>,
}

impl TryFrom<SandboxRow> for SandboxRecord {
    type Error = StoreError;

    fn try_from(row: SandboxRow) -> Result<Self, Self::Error> {
        let state = match row.state.as_str() {
            "starting" => LiveSandboxState::Starting,
            "ready" => LiveSandboxState::Ready,
            "closing" => LiveSandboxState::Closing,
            // The queries select live rows only; anything else is a bug.
            other => {
                return Err(StoreError::Database(sqlx::Error::Decode(
                    format!("sandbox {} is in state {other:?}, not a live one", row.id).into(),
                )));
            }
        };
        Ok(Self {
            id: row.id,
            project_id: row.project_id,
            provider: row.provider,
            provider_sandbox_id: row.provider_id,
            state,
            created_at: row.created_at,
            last_active_at: row.last_active_at,
            hydrated_commit: row.hydrated_commit,
            leased: row.leased,
            leased_until: row.leased_until,
            close_requested_at: row.close_requested_at,
        })
    }
}

#[async_trait]
impl SandboxStore for PgSandboxes {
    async fn live(&self, project_id: Uuid) -> StoreResult<Option<SandboxRecord>> {
        // sandboxes_one_live_per_project allows one live row; the order
        // only makes the choice explicit.
        let row: Option<SandboxRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM sandboxes
             WHERE project_id = $1 AND state IN ('starting', 'ready', 'closing')
             ORDER BY created_at DESC LIMIT 1"
        ))
        .bind(project_id)
        .fetch_optional(&self.0)
        .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn request_close(&self, project_id: Uuid) -> StoreResult<Option<SandboxRecord>> {
        // One statement, so a row a worker closes meanwhile is re-checked
        // under its lock and left alone once it is no longer live. At most
        // one row matches (sandboxes_one_live_per_project).
        let row: Option<SandboxRow> = sqlx::query_as(concat!(
            "UPDATE sandboxes SET close_requested_at = COALESCE(close_requested_at, now())
             WHERE project_id = $1 AND state IN ('starting', 'ready', 'closing')
             RETURNING ",
            columns!(),
            ""
        ))
        .bind(project_id)
        .fetch_optional(&self.0)
        .await?;
        row.map(TryInto::try_into).transpose()
    }
}
