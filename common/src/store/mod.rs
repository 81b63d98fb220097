//! Storage, one small interface per aggregate.
//!
//! Callers hold [`Stores`] and never see SQL, so that another backend (an
//! embedded SQLite for a single-process setup) can stand in without
//! touching them. [`postgres`] is the implementation Hero runs on.

pub mod postgres;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::crypto::Sealed;
use crate::domain::{
    ApiTokenInfo, AuditEntry, AuditRecord, Delivery, LocalPullRequest, NewDelivery,
    NewLocalPullRequest, NewProject, NewPullRequest, Project, ProjectChanges, PullRequestRecord,
    SandboxRecord, SealedSecret, SecretMetadata, StoredSecret, User,
};
use crate::jobs::batch::{Batch, BatchCancellation, BatchCreated, BatchFailure, NewBatch};
use crate::jobs::{Claimed, Job, JobFailure, JobFilter, JobKind, JobStatus, NewJob, Outcome};

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
    /// The project whoever owns it: for workers, which act on jobs already
    /// checked against their owner.
    async fn find(&self, id: Uuid) -> StoreResult<Option<Project>>;
    /// Every project linked to the repository `owner/name`, whoever owns
    /// it, matched ignoring case as GitHub matches names.
    async fn find_by_repository(&self, owner: &str, name: &str) -> StoreResult<Vec<Project>>;
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
    /// Whether one of the owner's projects is linked to `repo_owner/repo_name`
    /// (compared without case, as GitHub compares names).
    async fn owns_repository(
        &self,
        owner_id: Uuid,
        repo_owner: &str,
        repo_name: &str,
    ) -> StoreResult<bool>;
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
    /// Marks an open pull request `merged` or `closed` and returns it; one
    /// that already ended is returned as it is, one Hero never opened is
    /// `None`.
    async fn record_closed(
        &self,
        project_id: Uuid,
        forge: &str,
        number: i64,
        merged: bool,
    ) -> StoreResult<Option<PullRequestRecord>>;
}

/// Projects' sandboxes as the API sees them: read, and asked to close.
/// Only workers create, lease or destroy sandboxes; a close request is
/// carried out by the reaper once nobody leases the sandbox.
#[async_trait]
pub trait SandboxStore: Send + Sync {
    /// The project's live sandbox (starting, ready or closing), if any.
    async fn live(&self, project_id: Uuid) -> StoreResult<Option<SandboxRecord>>;
    /// Asks for the project's live sandbox to be closed and returns it;
    /// asking again keeps the first request's time. `None` when the
    /// project has no live sandbox.
    async fn request_close(&self, project_id: Uuid) -> StoreResult<Option<SandboxRecord>>;
}

/// Webhook deliveries, to recognise GitHub's redeliveries and replays.
#[async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Records a delivery as it arrives. A delivery seen before (by its id,
    /// or by the digest of its body under another id) comes back as it was
    /// recorded: finished, or not (an earlier attempt died half-way).
    async fn begin(&self, delivery: NewDelivery) -> StoreResult<Delivery>;
    /// Records what a delivery did.
    async fn finish(&self, delivery_id: &str, report: serde_json::Value) -> StoreResult<()>;
    /// Forgets deliveries received longer than `age` ago; returns how many.
    async fn prune(&self, age: std::time::Duration) -> StoreResult<u64>;
}

/// The local forge's pull requests (a GitHub repository's are GitHub's).
#[async_trait]
pub trait LocalPullRequestStore: Send + Sync {
    /// Opens a pull request, numbered next in its repository; when one is
    /// already open from the same head, returns that one (`false`).
    async fn open(&self, pr: NewLocalPullRequest) -> StoreResult<(LocalPullRequest, bool)>;
    async fn get(
        &self,
        owner: &str,
        name: &str,
        number: i64,
    ) -> StoreResult<Option<LocalPullRequest>>;
}

/// The job record. Per project, jobs run one at a time in acceptance
/// order; every state change is fenced by the job's status and dispatch
/// number, so a stale worker or a duplicated message changes nothing.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Accepts a job. With an idempotency key already used in the project,
    /// returns that job instead (`false`); a different kind or params under
    /// the same key is a conflict.
    async fn insert(&self, job: NewJob) -> StoreResult<(Job, bool)>;
    async fn get(&self, id: Uuid) -> StoreResult<Option<Job>>;
    /// The job, if its project belongs to `owner_id`.
    async fn get_owned(&self, owner_id: Uuid, id: Uuid) -> StoreResult<Option<Job>>;
    /// A project's jobs, newest first, older than the job `before`.
    async fn list(
        &self,
        project_id: Uuid,
        filter: &JobFilter,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Job>>;
    /// Cancels a job not yet started at once; asks a running one to stop.
    /// Ended jobs are returned unchanged.
    async fn cancel(&self, id: Uuid) -> StoreResult<Option<Job>>;
    /// Marks up to `limit` ready jobs of `kind` dispatched: each the oldest
    /// unfinished job of its project, with nothing of its project in
    /// flight, its `run_after` passed. Only `kind` and `project` when given.
    /// Never more than `backlog` of a kind end up dispatched but not
    /// started (waiting in Redis), however many dispatchers claim at once.
    /// Batch jobs are left to [`JobStore::claim_batch`].
    async fn claim(
        &self,
        kind: Option<JobKind>,
        project: Option<Uuid>,
        limit: u32,
        backlog: u32,
    ) -> StoreResult<Vec<Claimed>>;
    /// As [`JobStore::claim`], for ready heads that belong to a batch, and
    /// only while fewer than `concurrency` batch jobs are in flight
    /// (dispatched or running) across Hero, however many dispatchers
    /// claim at once. Batches take turns.
    async fn claim_batch(
        &self,
        kind: Option<JobKind>,
        project: Option<Uuid>,
        limit: u32,
        concurrency: u32,
        backlog: u32,
    ) -> StoreResult<Vec<Claimed>>;
    /// Puts a dispatched job back to queued (its push failed or its
    /// message was lost); false when it moved on meanwhile.
    async fn undispatch(&self, id: Uuid, dispatch: i32) -> StoreResult<bool>;
    /// Starts the job for `worker` holding the sandbox lease `fencing_token`,
    /// if it is still at `dispatch` and not cancelled.
    async fn start(
        &self,
        id: Uuid,
        dispatch: i32,
        worker: &str,
        fencing_token: i64,
    ) -> StoreResult<Option<Job>>;
    /// Records how a running job ended, only while it is still this
    /// dispatch's and the sandbox lease is still `fencing_token`'s.
    async fn finish(
        &self,
        id: Uuid,
        dispatch: i32,
        fencing_token: i64,
        outcome: Outcome,
    ) -> StoreResult<bool>;
    /// A dispatched job that could not start (its project is gone, its
    /// sandbox could not be made) counts an attempt: with `retry_at` and
    /// attempts left it is queued again for then, otherwise it fails.
    async fn fail_unstarted(
        &self,
        id: Uuid,
        dispatch: i32,
        failure: JobFailure,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<bool>;
    /// Puts a dispatched job back to queued until `run_after` without
    /// counting an attempt: it waited for capacity, which is nobody's fault.
    async fn defer(&self, id: Uuid, dispatch: i32, run_after: DateTime<Utc>) -> StoreResult<bool>;
    /// Dispatched jobs older than `age`: candidates for a lost message.
    async fn dispatched_before(&self, age: std::time::Duration) -> StoreResult<Vec<Claimed>>;
    /// Running jobs whose worker lost the sandbox lease (it died, or was
    /// cut off) go back to queued; returns how many.
    async fn requeue_abandoned(&self) -> StoreResult<u64>;
    /// Jobs per status, for metrics.
    async fn counts(&self) -> StoreResult<Vec<(JobKind, JobStatus, i64)>>;
}

/// Batches: many projects' jobs of one kind, accepted together.
#[async_trait]
pub trait BatchStore: Send + Sync {
    /// Records the batch and one queued job per selected project in one
    /// transaction, all or nothing. With an idempotency key the owner
    /// already used, returns that batch instead; a different kind, params
    /// or selection under the same key is a conflict.
    async fn create(&self, batch: NewBatch) -> StoreResult<BatchCreated>;
    /// The batch, if it belongs to `owner_id`.
    async fn get(&self, owner_id: Uuid, id: Uuid) -> StoreResult<Option<Batch>>;
    /// Up to `limit` of the owner's batches older than `before`, newest
    /// first.
    async fn list(
        &self,
        owner_id: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Batch>>;
    /// Up to `limit` failed jobs of a batch after the job `after`, in the
    /// order they were accepted.
    async fn failures(
        &self,
        batch_id: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<BatchFailure>>;
    /// Cancels every job of the batch not yet started and asks the running
    /// ones to stop, in one statement; `None` when the batch is not the
    /// owner's.
    async fn cancel(&self, owner_id: Uuid, id: Uuid) -> StoreResult<Option<BatchCancellation>>;
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
    pub sandboxes: Arc<dyn SandboxStore>,
    pub local_pull_requests: Arc<dyn LocalPullRequestStore>,
    pub jobs: Arc<dyn JobStore>,
    pub deliveries: Arc<dyn DeliveryStore>,
    pub batches: Arc<dyn BatchStore>,
    pub health: Arc<dyn Health>,
}
