//! The records Hero keeps, as every layer sees them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::crypto::Sealed;
use crate::webhook_triggers::WebhookTriggers;

/// Someone who owns projects and holds API tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// An API token's record; the token itself is shown once and never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ApiTokenInfo {
    pub id: Uuid,
    pub user_id: Uuid,
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A user's link to one GitHub repository.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Project {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub repo_owner: String,
    pub repo_name: String,
    pub github_installation_id: Option<i64>,
    pub default_branch: String,
    pub use_cloud_sandbox: bool,
    /// Whether the project's jobs may push to its default branch; when
    /// false, agents push to their own branches and open pull requests.
    pub allow_default_branch_push: bool,
    /// What GitHub events do for this project.
    pub webhook_triggers: WebhookTriggers,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A project as it is created; fields already validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProject {
    pub name: String,
    pub repo_owner: String,
    pub repo_name: String,
    pub github_installation_id: Option<i64>,
    pub default_branch: String,
    pub use_cloud_sandbox: bool,
    pub allow_default_branch_push: bool,
    pub webhook_triggers: WebhookTriggers,
}

/// Changes to a project; `None` leaves a field as it is. The installation
/// id is doubly optional so that it can be cleared.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectChanges {
    pub name: Option<String>,
    pub repo_owner: Option<String>,
    pub repo_name: Option<String>,
    pub github_installation_id: Option<Option<i64>>,
    pub default_branch: Option<String>,
    pub use_cloud_sandbox: Option<bool>,
    pub allow_default_branch_push: Option<bool>,
    /// Replaces the whole trigger configuration.
    pub webhook_triggers: Option<WebhookTriggers>,
}

/// A live sandbox's stage: `starting` (being created), `ready`, or
/// `closing` (being destroyed by a worker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LiveSandboxState {
    Starting,
    Ready,
    Closing,
}

/// A project's live sandbox as clients see it. Who holds its lease, and
/// the lease's fencing token, stay among the workers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SandboxRecord {
    /// Hero's id for this sandbox (not the provider's).
    pub id: Uuid,
    pub project_id: Uuid,
    /// `local` or `e2b`.
    pub provider: String,
    /// The provider's id for it; absent until it has been created there.
    pub provider_sandbox_id: Option<String>,
    pub state: LiveSandboxState,
    pub created_at: DateTime<Utc>,
    /// When a job last used it; idle sandboxes are closed after the
    /// configured idle timeout.
    pub last_active_at: DateTime<Utc>,
    /// The commit its repository was last hydrated at.
    pub hydrated_commit: Option<String>,
    /// Whether a worker holds it right now (a job, or the worker closing
    /// it).
    pub leased: bool,
    /// When the current lease runs out unless its holder renews it;
    /// absent when not leased.
    pub leased_until: Option<DateTime<Utc>>,
    /// When closing it was first asked for; absent when nobody asked.
    pub close_requested_at: Option<DateTime<Utc>>,
}

/// What may be shown about a secret without revealing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SecretMetadata {
    pub key: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A secret as stored: its metadata and its sealed value.
#[derive(Debug, Clone)]
pub struct StoredSecret {
    pub id: Uuid,
    pub project_id: Uuid,
    pub metadata: SecretMetadata,
    pub sealed: Sealed,
}

/// One secret to write, already sealed.
#[derive(Debug, Clone)]
pub struct SealedSecret {
    pub key: String,
    pub sealed: Sealed,
    pub description: Option<String>,
}

/// An entry for the audit log.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub actor_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub action: &'static str,
    pub subject: Option<String>,
    pub details: serde_json::Value,
}

/// A recorded audit entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub action: String,
    pub subject: Option<String>,
    pub details: serde_json::Value,
}

/// A pull request to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPullRequest {
    pub project_id: Uuid,
    /// `github` or `local`.
    pub forge: String,
    pub number: i64,
    pub url: String,
    pub title: String,
    pub head: String,
    pub base: String,
}

/// A pull request Hero opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PullRequestRecord {
    pub id: Uuid,
    pub project_id: Uuid,
    pub forge: String,
    pub number: i64,
    pub url: String,
    pub title: String,
    pub head: String,
    pub base: String,
    /// `open`, `closed` or `merged`.
    pub state: String,
    pub created_at: DateTime<Utc>,
}

/// A pull request to open on the local forge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLocalPullRequest {
    pub repo_owner: String,
    pub repo_name: String,
    pub title: String,
    pub body: Option<String>,
    pub head: String,
    pub base: String,
    pub draft: bool,
}

/// A pull request as the local forge keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LocalPullRequest {
    pub repo_owner: String,
    pub repo_name: String,
    /// Counts up per repository, from 1.
    pub number: i64,
    pub title: String,
    pub body: Option<String>,
    pub head: String,
    pub base: String,
    pub draft: bool,
    /// `open`, `closed` or `merged`.
    pub state: String,
    pub created_at: DateTime<Utc>,
}

/// A webhook delivery as it arrives: its id, its event, and the SHA-256 of
/// its body (to tell a replay under a new id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub delivery_id: String,
    pub event: String,
    pub body_sha256: [u8; 32],
}

/// A recorded webhook delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The id it was first recorded under; a replay of its body under
    /// another id is handled as this one.
    pub delivery_id: String,
    pub received_at: DateTime<Utc>,
    /// Set once its triggers ran; unset if an attempt died half-way.
    pub finished_at: Option<DateTime<Utc>>,
    /// What it did, once finished.
    pub report: Option<serde_json::Value>,
}
