//! Batches: one job kind over many projects at once, for an operator who
//! migrates or refreshes a fleet of repositories.
//!
//! A batch is accepted in one transaction with all of its jobs. Its jobs
//! are ordinary jobs with a `batch_id`: they keep the per-project order,
//! and the dispatcher lets only a bounded number of them hold sandboxes so
//! that interactive work never waits behind a batch.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::JobKind;

/// The most jobs one batch may hold: far above a fleet migration, and
/// small enough that accepting it stays one quick statement.
pub const MAX_BATCH_JOBS: usize = 50_000;

/// Which of the owner's projects a batch covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchSelection {
    /// Every project the owner has when the batch is accepted.
    All,
    /// These projects, in this order; no id twice.
    Listed(Vec<Uuid>),
}

impl BatchSelection {
    /// A fingerprint of the selection that does not depend on the order
    /// of the list, so that a replay can be told from a different request.
    pub fn digest(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        match self {
            Self::All => hash.update(b"all"),
            Self::Listed(ids) => {
                let mut sorted = ids.clone();
                sorted.sort_unstable();
                hash.update(b"listed");
                for id in sorted {
                    hash.update(id.as_bytes());
                }
            }
        }
        hash.finalize().into()
    }
}

/// A batch as it is accepted; `params` already validated for its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBatch {
    pub owner_id: Uuid,
    pub kind: JobKind,
    pub params: serde_json::Value,
    pub selection: BatchSelection,
    pub idempotency_key: Option<String>,
}

/// What accepting a batch came to.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchCreated {
    /// The batch and its jobs were recorded.
    Created(Batch),
    /// The idempotency key already named this batch; nothing new.
    Replayed(Batch),
    /// These listed ids are not projects of the owner; nothing was
    /// recorded.
    UnknownProjects(Vec<Uuid>),
    /// Every project was asked for and the owner has none.
    NoProjects,
    /// More projects were selected than [`MAX_BATCH_JOBS`].
    TooMany { count: usize },
}

/// A batch's jobs by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BatchCounts {
    pub queued: i64,
    pub dispatched: i64,
    pub running: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub cancelled: i64,
}

impl BatchCounts {
    /// Jobs that ended, however they ended.
    pub fn ended(&self) -> i64 {
        self.succeeded + self.failed + self.cancelled
    }

    /// Jobs not started yet: queued, or in their queue for a worker.
    pub fn waiting(&self) -> i64 {
        self.queued + self.dispatched
    }

    pub fn unfinished(&self) -> i64 {
        self.waiting() + self.running
    }
}

/// A batch and where its jobs are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Batch {
    pub id: Uuid,
    pub kind: JobKind,
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
    /// Jobs created with the batch, one per project.
    pub total: i64,
    pub counts: BatchCounts,
    pub idempotency_key: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When its first job started.
    pub started_at: Option<DateTime<Utc>>,
    /// When its last job ended; absent while any job is unfinished.
    pub finished_at: Option<DateTime<Utc>>,
}

/// One failed job of a batch, with enough to find the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BatchFailure {
    pub job_id: Uuid,
    pub project_id: Uuid,
    /// `owner/name` on GitHub.
    pub repo: String,
    /// As on the job's error: `git`, `sandbox`, `forge`, ...
    pub code: String,
    /// Redacted, as on the job.
    pub message: String,
}

/// What cancelling a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BatchCancellation {
    /// Jobs that had not started and are now cancelled.
    pub cancelled: i64,
    /// Running jobs asked to stop; they end as cancelled soon.
    pub stopping: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_selection_has_the_same_digest_in_any_order() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());

        let forwards = BatchSelection::Listed(vec![a, b]).digest();
        let backwards = BatchSelection::Listed(vec![b, a]).digest();

        assert_eq!(forwards, backwards);
        assert_ne!(forwards, BatchSelection::Listed(vec![a]).digest());
        assert_ne!(forwards, BatchSelection::All.digest());
    }

    #[test]
    fn counts_group_statuses_as_a_watcher_reads_them() {
        let counts = BatchCounts {
            queued: 5,
            dispatched: 2,
            running: 3,
            succeeded: 7,
            failed: 1,
            cancelled: 1,
        };

        assert_eq!(counts.waiting(), 7);
        assert_eq!(counts.unfinished(), 10);
        assert_eq!(counts.ended(), 9);
    }
}
