//! Jobs: what an IDE, a webhook or an operator asks Hero to do in a
//! project's sandbox.
//!
//! Postgres holds every job ([`Job`]); Redis only carries a [`queue::JobMessage`]
//! naming a job to a worker. The [`dispatch::Dispatcher`] moves ready jobs
//! from one to the other, one job per project at a time. A
//! [`batch::Batch`] is one kind of job over many projects.

pub mod batch;
pub mod context;
pub mod dispatch;
pub mod events;
pub mod params;
pub mod queue;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub use context::JobContext;

/// The four kinds of job, each with its own queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Hydrate,
    RunTool,
    Sync,
    SubmitPr,
}

impl JobKind {
    pub const ALL: [JobKind; 4] = [Self::Hydrate, Self::RunTool, Self::Sync, Self::SubmitPr];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hydrate => "hydrate",
            Self::RunTool => "run_tool",
            Self::Sync => "sync",
            Self::SubmitPr => "submit_pr",
        }
    }

    /// How many times a job of this kind runs before a transient failure
    /// becomes final. Installs and pushes talk to flaky networks; a tool
    /// call is an agent's step, and the agent would rather hear back.
    pub fn max_attempts(self) -> i32 {
        match self {
            Self::Hydrate | Self::SubmitPr => 5,
            Self::Sync => 4,
            Self::RunTool => 3,
        }
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| {
                format!("unknown job kind {s:?}; expected hydrate, run_tool, sync or submit_pr")
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Accepted, waiting for its turn (or for a retry's time).
    Queued,
    /// Pushed to its queue; no worker has started it yet.
    Dispatched,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub const ALL: [JobStatus; 6] = [
        Self::Queued,
        Self::Dispatched,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Dispatched => "dispatched",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown job status {s:?}"))
    }
}

/// Why a job failed, as clients see it. The message is redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobFailure {
    /// Machine-readable: `invalid_params`, `sandbox`, `git`, `forge`,
    /// `tool`, `lease`, `internal`, `cancelled`, ...
    pub code: String,
    pub message: String,
    /// Whether Hero would have retried it (true on the last attempt of a
    /// transient failure).
    pub transient: bool,
}

/// A job as the record holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Job {
    pub id: Uuid,
    pub project_id: Uuid,
    pub kind: JobKind,
    pub params: serde_json::Value,
    pub status: JobStatus,
    /// Runs started so far (a retry or a re-dispatch after a lost worker
    /// counts).
    pub attempt: i32,
    pub max_attempts: i32,
    /// How many times it was pushed to its queue.
    #[serde(skip)]
    pub dispatch: i32,
    pub run_after: DateTime<Utc>,
    pub cancel_requested: bool,
    pub idempotency_key: Option<String>,
    pub execution_id: Option<String>,
    pub agent_id: Option<String>,
    /// The event that started the job (a webhook); absent for a client's.
    pub context: Option<JobContext>,
    /// The batch it belongs to, if it was accepted as part of one.
    pub batch_id: Option<Uuid>,
    pub result: Option<serde_json::Value>,
    pub error: Option<JobFailure>,
    pub worker: Option<String>,
    #[serde(skip)]
    pub fencing_token: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub dispatched_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A job as it is accepted; `params` already validated for its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub project_id: Uuid,
    pub kind: JobKind,
    pub params: serde_json::Value,
    pub idempotency_key: Option<String>,
    pub execution_id: Option<String>,
    pub agent_id: Option<String>,
    pub context: Option<JobContext>,
}

/// A job claimed for its queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub id: Uuid,
    pub project_id: Uuid,
    pub kind: JobKind,
    pub dispatch: i32,
    /// How long it was ready before it was claimed.
    pub lag: Duration,
}

/// How a running job ended, as the worker reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Succeeded(serde_json::Value),
    Failed(JobFailure),
    /// Failed transiently with attempts left: queued again for `retry_at`.
    Retry {
        failure: JobFailure,
        retry_at: DateTime<Utc>,
    },
    Cancelled,
}

/// Filters for listing a project's jobs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    pub status: Option<JobStatus>,
    pub kind: Option<JobKind>,
    pub execution_id: Option<String>,
    pub agent_id: Option<String>,
}
