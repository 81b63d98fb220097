//! The dispatcher: moves ready jobs from the Postgres record into their
//! Redis queues, one job per project at a time, and never more than the
//! backlog bound of any kind waiting in Redis. Batch jobs go only after
//! interactive ones, and only up to the batch bound in flight, so a batch
//! of thousands never keeps an agent's tool call from a sandbox.
//!
//! It runs in three places: inside the API request that accepts a job for
//! an idle project (the fast path), in a worker right after a job ends
//! (the project's next job goes at once), and as a loop that picks up
//! everything else (retries coming due, backlog freed, lost messages).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use apalis_redis::ConnectionManager;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::events::StatusFeed;
use super::queue::{self, JobMessage, Presence, PushError, QueueSettings};
use super::{Claimed, JobKind};
use crate::store::{JobStore, StoreError};

/// The least time between two rounds that job changes set off. Under load
/// every job's start and end would each set one off, and a round claims
/// across every kind; the fast path and the worker's dispatch after each
/// job already move each project's next job, so rounds only need to catch
/// up on room freed in the backlog, which waiting this long gathers.
const ROUND_GAP: Duration = Duration::from_millis(20);

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Push(#[from] PushError),
    #[error("reading Redis: {0}")]
    Redis(#[from] redis::RedisError),
}

#[derive(Clone)]
pub struct Dispatcher {
    store: Arc<dyn JobStore>,
    redis: ConnectionManager,
    settings: QueueSettings,
}

impl Dispatcher {
    pub fn new(
        store: Arc<dyn JobStore>,
        redis: ConnectionManager,
        settings: QueueSettings,
    ) -> Self {
        Self {
            store,
            redis,
            settings,
        }
    }

    pub fn settings(&self) -> &QueueSettings {
        &self.settings
    }

    /// Dispatches the project's next interactive job, for the request that
    /// just accepted one. The project's batch jobs are not looked at: they
    /// go after its interactive ones, so with an interactive job waiting
    /// none of them could go now unless that job is held back (not due, or
    /// its kind's backlog full), which the loop catches up on. One claim
    /// instead of two on the path every tool call takes.
    pub async fn dispatch_accepted(&self, project: Uuid) -> Result<usize, DispatchError> {
        let claimed = self
            .store
            .claim(None, Some(project), 1, self.settings.backlog)
            .await?;
        self.push(claimed).await
    }

    /// Dispatches the project's next job if it is ready, nothing of the
    /// project is in flight and its kind's backlog has room: an
    /// interactive one, or else a batch one. Used right after a job ends.
    pub async fn dispatch_project(&self, project: Uuid) -> Result<usize, DispatchError> {
        let QueueSettings {
            backlog,
            batch_concurrency,
            ..
        } = self.settings;
        let mut claimed = self.store.claim(None, Some(project), 1, backlog).await?;
        if claimed.is_empty() {
            claimed = self
                .store
                .claim_batch(None, Some(project), 1, batch_concurrency, backlog)
                .await?;
        }
        self.push(claimed).await
    }

    /// Dispatches ready jobs of every kind, up to each kind's free backlog
    /// (the claims count it): interactive jobs first, then batch jobs
    /// while the batch bound has room.
    pub async fn dispatch_ready(&self) -> Result<usize, DispatchError> {
        let QueueSettings {
            backlog,
            batch_concurrency,
            ..
        } = self.settings;
        let mut pushed = 0;
        for kind in JobKind::ALL {
            let interactive = self.store.claim(Some(kind), None, backlog, backlog).await?;
            pushed += self.push(interactive).await?;
            let batch = self
                .store
                .claim_batch(Some(kind), None, backlog, batch_concurrency, backlog)
                .await?;
            pushed += self.push(batch).await?;
        }
        Ok(pushed)
    }

    async fn push(&self, claimed: Vec<Claimed>) -> Result<usize, DispatchError> {
        if claimed.is_empty() {
            return Ok(0);
        }
        let messages: Vec<(JobKind, JobMessage)> = claimed
            .iter()
            .map(|job| {
                (
                    job.kind,
                    JobMessage {
                        job: job.id,
                        dispatch: job.dispatch,
                    },
                )
            })
            .collect();
        let mut redis = self.redis.clone();
        if let Err(error) = queue::push(&mut redis, &self.settings, &messages).await {
            // Put them back so the next round (or the recovery) tries again.
            for job in &claimed {
                self.store.undispatch(job.id, job.dispatch).await.ok();
            }
            return Err(error.into());
        }
        for job in &claimed {
            tracing::debug!(job = %job.id, project = %job.project_id, kind = %job.kind,
                lag_ms = job.lag.as_millis(), "dispatched");
            crate::metrics::dispatched(job.kind, job.lag);
        }
        Ok(claimed.len())
    }

    /// Finds accepted work that would otherwise never run: dispatched jobs
    /// whose message is not in Redis any more (a flush, a restart, a crash
    /// between claim and push), and running jobs whose worker lost its
    /// lease. Both go back to queued. Returns how many.
    pub async fn recover_lost(&self, grace: Duration) -> Result<u64, DispatchError> {
        let mut recovered = self.store.requeue_abandoned().await?;
        let mut redis = self.redis.clone();
        for job in self.store.dispatched_before(grace).await? {
            let message = JobMessage {
                job: job.id,
                dispatch: job.dispatch,
            };
            let presence = queue::presence(&mut redis, &self.settings, job.kind, &message).await?;
            if presence != Presence::Pending && self.store.undispatch(job.id, job.dispatch).await? {
                tracing::info!(job = %job.id, project = %job.project_id, kind = %job.kind,
                    ?presence, "queue message lost; dispatching the job again");
                recovered += 1;
            }
        }
        if recovered > 0 {
            tracing::info!(recovered, "recovered lost jobs");
        }
        Ok(recovered)
    }

    /// Dispatches until `stop`: whenever a job ends (its project may have a
    /// next one, and the backlog has room) and at least every `interval`
    /// (retries coming due).
    pub async fn run(self, feed: StatusFeed, interval: Duration, stop: CancellationToken) {
        let mut changes = feed.subscribe();
        loop {
            match self.dispatch_ready().await {
                Ok(0) => {}
                Ok(pushed) => tracing::debug!(pushed, "dispatch round"),
                Err(error) => tracing::warn!(%error, "dispatch round failed"),
            }
            let earliest = Instant::now() + ROUND_GAP;
            let deadline = tokio::time::sleep(interval);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = &mut deadline => break,
                    change = changes.recv() => match change {
                        Ok(change) if change.status.is_terminal() || change.status == super::JobStatus::Queued => {
                            tokio::time::sleep_until(earliest).await;
                            break;
                        }
                        Ok(_) => {}
                        Err(RecvError::Lagged(_)) => break,
                        Err(RecvError::Closed) => return,
                    },
                }
            }
        }
    }
}
