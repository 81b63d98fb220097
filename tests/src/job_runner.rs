//! Plays a worker's part against the job record, so that tests of what
//! surrounds jobs (batches, progress, cancelling) can move jobs to an end
//! without sandboxes: take a job the dispatcher handed out, start it under
//! a sandbox lease, and finish it with a chosen outcome.

use std::sync::Arc;
use std::time::Duration;

use hero_common::jobs::{JobFailure, JobStatus, Outcome};
use hero_common::store::JobStore;
use sqlx::PgPool;
use uuid::Uuid;

/// How long a job may take to be dispatched before the test gives up: a
/// guard against hanging, not a measurement.
const DISPATCH_PATIENCE: Duration = Duration::from_secs(20);

/// A started job: what `finish` must present, as a worker would.
#[derive(Debug, Clone, Copy)]
pub struct Started {
    pub job: Uuid,
    pub dispatch: i32,
    pub fencing_token: i64,
}

pub struct JobRunner {
    pool: PgPool,
    jobs: Arc<dyn JobStore>,
}

impl JobRunner {
    pub fn new(pool: PgPool, jobs: Arc<dyn JobStore>) -> Self {
        Self { pool, jobs }
    }

    /// Waits until a dispatcher has handed the job out, then starts it
    /// holding its project's sandbox lease.
    #[track_caller]
    pub fn start(&self, job: Uuid) -> impl Future<Output = Started> + '_ {
        let caller = std::panic::Location::caller();
        async move {
            let dispatched = self.dispatched(job, caller).await;
            let fencing_token = self.take_lease(dispatched.project_id).await;
            let started = self
                .jobs
                .start(job, dispatched.dispatch, "test-worker", fencing_token)
                .await
                .expect("start the job");
            assert!(started.is_some(), "job {job} could not start ({caller})");
            Started {
                job,
                dispatch: dispatched.dispatch,
                fencing_token,
            }
        }
    }

    /// Ends a started job as a worker reports it.
    pub async fn finish(&self, started: Started, outcome: Outcome) {
        let finished = self
            .jobs
            .finish(
                started.job,
                started.dispatch,
                started.fencing_token,
                outcome,
            )
            .await
            .expect("finish the job");
        assert!(finished, "job {} could not finish", started.job);
    }

    /// Starts the job once it is dispatched and ends it with `outcome`.
    #[track_caller]
    pub fn run(&self, job: Uuid, outcome: Outcome) -> impl Future<Output = ()> + '_ {
        let start = self.start(job);
        async move {
            let started = start.await;
            self.finish(started, outcome).await;
        }
    }

    async fn dispatched(
        &self,
        job: Uuid,
        caller: &std::panic::Location<'_>,
    ) -> hero_common::jobs::Job {
        let deadline = tokio::time::Instant::now() + DISPATCH_PATIENCE;
        loop {
            let current = self
                .jobs
                .get(job)
                .await
                .expect("read the job")
                .expect("the job exists");
            match current.status {
                JobStatus::Dispatched => return current,
                JobStatus::Queued if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                status => panic!("job {job} is {status}, not dispatched ({caller})"),
            }
        }
    }

    /// The project's sandbox lease, taken afresh: a new fencing token, as
    /// every acquire makes. Called alone, it is another worker taking the
    /// sandbox from whoever held it.
    pub async fn take_lease(&self, project: Uuid) -> i64 {
        sqlx::query_scalar(
            "INSERT INTO sandboxes (id, project_id, provider, state, slot, lease_holder,
                                    fencing_token, lease_expires_at)
             VALUES ($1, $2, 'local', 'ready',
                     (SELECT coalesce(max(slot), -1) + 1 FROM sandboxes),
                     'test-worker', 1, now() + interval '10 minutes')
             ON CONFLICT (project_id) WHERE state IN ('starting', 'ready', 'closing')
             DO UPDATE SET fencing_token = sandboxes.fencing_token + 1,
                           lease_holder = 'test-worker',
                           lease_expires_at = now() + interval '10 minutes'
             RETURNING fencing_token",
        )
        .bind(Uuid::now_v7())
        .bind(project)
        .fetch_one(&self.pool)
        .await
        .expect("lease the project's sandbox")
    }
}

/// A permanent failure with this code and message.
pub fn failure(code: &str, message: &str) -> Outcome {
    Outcome::Failed(JobFailure {
        code: code.to_owned(),
        message: message.to_owned(),
        transient: false,
    })
}
