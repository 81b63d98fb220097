//! Storage, one small interface per aggregate.
//!
//! Callers hold [`Stores`] and never see SQL, so that another backend (an
//! embedded SQLite for a single-process setup) can stand in without
//! touching them. [`postgres`] is the implementation Hero runs on.

pub mod postgres;

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use crate::crypto::Sealed;
use crate::domain::{
    ApiTokenInfo, AuditEntry, AuditRecord, NewProject, NewPullRequest, Project, ProjectChanges,
    PullRequestRecord, SealedSecret, SecretMetadata, StoredSecret, User,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken; the message says which in user terms.
    #[error("{0}")]
    Conflict(String),
    /// A referenced record does not exist (or is not the caller's).
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait UserStore: Send + Sync {
    /// The user with this name, created if there is none.
    async fn get_or_create(&self, name: &str) -> StoreResult<User>;
    async fn find_by_name(&self, name: &str) -> StoreResult<Option<User>>;
}

#[async_trait]
pub trait TokenStore: Send + Sync {
    async fn create(
        &self,
        user_id: Uuid,
        token_hash: &[u8; 32],
        label: Option<&str>,
    ) -> StoreResult<ApiTokenInfo>;
    /// The owner of an unrevoked token with this hash.
    async fn authenticate(&self, token_hash: &[u8; 32]) -> StoreResult<Option<User>>;
    /// Revokes a token; false when no live token has this id.
    async fn revoke(&self, token_id: Uuid) -> StoreResult<bool>;
    async fn list(&self, user_id: Uuid) -> StoreResult<Vec<ApiTokenInfo>>;
}

#[async_trait]
pub trait ProjectStore: Send + Sync {
    async fn create(&self, owner_id: Uuid, project: NewProject) -> StoreResult<Project>;
    /// The project, if it exists and belongs to `owner_id`.
    async fn get(&self, owner_id: Uuid, id: Uuid) -> StoreResult<Option<Project>>;
    /// Up to `limit` of the owner's projects with ids after `after`, oldest
    /// first (ids are time-ordered).
    async fn list(
        &self,
        owner_id: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Project>>;
    async fn update(
        &self,
        owner_id: Uuid,
        id: Uuid,
        changes: ProjectChanges,
    ) -> StoreResult<Option<Project>>;
    async fn delete(&self, owner_id: Uuid, id: Uuid) -> StoreResult<bool>;
}

#[async_trait]
pub trait SecretStore: Send + Sync {
    /// Creates or replaces one secret; true when it was created. A `None`
    /// description keeps the one already stored.
    async fn put(
        &self,
        project_id: Uuid,
        secret: SealedSecret,
    ) -> StoreResult<(SecretMetadata, bool)>;
    /// Creates or replaces several secrets in one transaction: all or none.
    async fn put_many(
        &self,
        project_id: Uuid,
        secrets: Vec<SealedSecret>,
    ) -> StoreResult<Vec<SecretMetadata>>;
    async fn list(&self, project_id: Uuid) -> StoreResult<Vec<SecretMetadata>>;
    async fn get(&self, project_id: Uuid, key: &str) -> StoreResult<Option<StoredSecret>>;
    async fn get_all(&self, project_id: Uuid) -> StoreResult<Vec<StoredSecret>>;
    async fn delete(&self, project_id: Uuid, key: &str) -> StoreResult<bool>;
    /// Up to `limit` secrets sealed under any key version but `current`,
    /// with ids after `after`, in id order.
    async fn sealed_under_other_keys(
        &self,
        current: i32,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<StoredSecret>>;
    /// Replaces a secret's sealed value if it is still sealed as `expected`;
    /// false when it changed meanwhile (a concurrent write already resealed
    /// it).
    async fn reseal(&self, id: Uuid, expected: &Sealed, sealed: &Sealed) -> StoreResult<bool>;
}

#[async_trait]
pub trait AuditLog: Send + Sync {
    async fn record(&self, entry: AuditEntry) -> StoreResult<()>;
    async fn for_project(&self, project_id: Uuid) -> StoreResult<Vec<AuditRecord>>;
}

#[async_trait]
pub trait KeyVersionStore: Send + Sync {
    /// The version number of the master key with this fingerprint, assigned
    /// on first sight.
    async fn register(&self, fingerprint: &[u8; 32]) -> StoreResult<i32>;
}

#[async_trait]
pub trait PullRequestStore: Send + Sync {
    /// Records a pull request; recording the same one again keeps one row.
    async fn record(&self, pr: NewPullRequest) -> StoreResult<PullRequestRecord>;
    async fn open_for_head(
        &self,
        project_id: Uuid,
        forge: &str,
        head: &str,
    ) -> StoreResult<Option<PullRequestRecord>>;
    /// A project's pull requests, newest first.
    async fn list(&self, project_id: Uuid) -> StoreResult<Vec<PullRequestRecord>>;
}

#[async_trait]
pub trait Health: Send + Sync {
    /// Succeeds when the backing database answers.
    async fn ping(&self) -> StoreResult<()>;
}

/// Every store Hero uses, behind its interface.
#[derive(Clone)]
pub struct Stores {
    pub users: Arc<dyn UserStore>,
    pub tokens: Arc<dyn TokenStore>,
    pub projects: Arc<dyn ProjectStore>,
    pub secrets: Arc<dyn SecretStore>,
    pub audit: Arc<dyn AuditLog>,
    pub key_versions: Arc<dyn KeyVersionStore>,
    pub pull_requests: Arc<dyn PullRequestStore>,
    pub health: Arc<dyn Health>,
}
