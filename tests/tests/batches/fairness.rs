//! The dispatcher and batches: interactive work goes first, and batch
//! jobs in flight never pass the batch bound, however many dispatchers
//! claim at once.

use std::sync::Arc;

use hero_common::jobs::queue::{self, JobMessage, Presence};
use hero_common::jobs::{JobKind, JobStatus, Outcome};
use hero_common::store::Stores;
use hero_tests::TestDb;
use hero_tests::job_runner::JobRunner;
use tokio::sync::Barrier;

use crate::support::{
    batch_in_flight, batch_jobs, dispatcher, hydrate_batch, interactive_job, projects, redis,
    status,
};

#[tokio::test]
async fn with_room_for_one_job_an_interactive_job_goes_before_older_batch_jobs() {
    let db = TestDb::new().await;
    let stores = Stores::postgres(db.pool.clone());
    let owner = stores.users.get_or_create("ops").await.unwrap().id;
    let fleet = projects(&stores, owner, "fleet", 5).await;
    let agent = projects(&stores, owner, "agent", 1).await[0];
    let batch = hydrate_batch(&stores, owner, &fleet).await;
    let interactive = interactive_job(&stores, agent, JobKind::Hydrate).await;
    let dispatcher = dispatcher(&db, 4, 1).await;

    let pushed = dispatcher.dispatch_ready().await.unwrap();

    assert_eq!(pushed, 1);
    assert_eq!(status(&db.pool, interactive).await, JobStatus::Dispatched);
    for job in batch_jobs(&db.pool, batch.id).await {
        assert_eq!(status(&db.pool, job).await, JobStatus::Queued);
    }
}

#[tokio::test]
async fn batch_jobs_in_flight_never_pass_the_batch_concurrency() {
    let db = TestDb::new().await;
    let stores = Stores::postgres(db.pool.clone());
    let runner = JobRunner::new(db.pool.clone(), stores.jobs.clone());
    let owner = stores.users.get_or_create("ops").await.unwrap().id;
    let fleet = projects(&stores, owner, "fleet", 12).await;
    let batch = hydrate_batch(&stores, owner, &fleet).await;
    let jobs = batch_jobs(&db.pool, batch.id).await;
    let dispatcher = dispatcher(&db, 3, 1000).await;

    let first = dispatcher.dispatch_ready().await.unwrap();
    let running = runner.start(jobs[0]).await;
    let while_running = dispatcher.dispatch_ready().await.unwrap();

    assert_eq!(first, 3);
    assert_eq!(
        while_running, 0,
        "a running batch job still holds its place"
    );
    assert_eq!(batch_in_flight(&db.pool).await, 3);

    runner
        .finish(running, Outcome::Succeeded(serde_json::json!({})))
        .await;
    runner.run(jobs[1], Outcome::Cancelled).await;
    let after_two_ended = dispatcher.dispatch_ready().await.unwrap();

    assert_eq!(after_two_ended, 2);
    assert_eq!(batch_in_flight(&db.pool).await, 3);
    let queued: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE batch_id = $1 AND status = 'queued'")
            .bind(batch.id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(queued, 7);
}

#[tokio::test]
async fn an_interactive_job_is_dispatched_while_a_batch_holds_its_whole_bound() {
    let db = TestDb::new().await;
    let stores = Stores::postgres(db.pool.clone());
    let owner = stores.users.get_or_create("ops").await.unwrap().id;
    let fleet = projects(&stores, owner, "fleet", 10).await;
    let agent = projects(&stores, owner, "agent", 1).await[0];
    hydrate_batch(&stores, owner, &fleet).await;
    let dispatcher = dispatcher(&db, 2, 1000).await;
    dispatcher.dispatch_ready().await.unwrap();

    let tool_call = interactive_job(&stores, agent, JobKind::RunTool).await;
    let pushed = dispatcher.dispatch_project(agent).await.unwrap();

    assert_eq!(pushed, 1);
    let job = stores.jobs.get(tool_call).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Dispatched);
    let mut redis = redis().await;
    let message = JobMessage {
        job: job.id,
        dispatch: job.dispatch,
    };
    let presence = queue::presence(
        &mut redis,
        dispatcher.settings(),
        JobKind::RunTool,
        &message,
    )
    .await
    .unwrap();
    assert_eq!(presence, Presence::Pending);
    assert_eq!(batch_in_flight(&db.pool).await, 2);
}

#[tokio::test]
async fn the_fast_path_leaves_a_batch_job_queued_when_the_bound_is_full() {
    let db = TestDb::new().await;
    let stores = Stores::postgres(db.pool.clone());
    let owner = stores.users.get_or_create("ops").await.unwrap().id;
    let fleet = projects(&stores, owner, "fleet", 3).await;
    let batch = hydrate_batch(&stores, owner, &fleet).await;
    let jobs = batch_jobs(&db.pool, batch.id).await;
    let dispatcher = dispatcher(&db, 1, 1000).await;
    dispatcher.dispatch_ready().await.unwrap();

    let pushed = dispatcher.dispatch_project(fleet[1]).await.unwrap();

    assert_eq!(pushed, 0);
    assert_eq!(status(&db.pool, jobs[0]).await, JobStatus::Dispatched);
    assert_eq!(status(&db.pool, jobs[1]).await, JobStatus::Queued);
}

#[tokio::test]
async fn an_interactive_job_still_waits_behind_its_own_projects_batch_job() {
    let db = TestDb::new().await;
    let stores = Stores::postgres(db.pool.clone());
    let owner = stores.users.get_or_create("ops").await.unwrap().id;
    let fleet = projects(&stores, owner, "fleet", 2).await;
    let batch = hydrate_batch(&stores, owner, &fleet).await;
    let dispatcher = dispatcher(&db, 1, 1000).await;
    dispatcher.dispatch_ready().await.unwrap();

    let behind = interactive_job(&stores, fleet[1], JobKind::RunTool).await;
    let pushed = dispatcher.dispatch_project(fleet[1]).await.unwrap();
    let round = dispatcher.dispatch_ready().await.unwrap();

    assert_eq!((pushed, round), (0, 0));
    assert_eq!(status(&db.pool, behind).await, JobStatus::Queued);
    let second = batch_jobs(&db.pool, batch.id).await[1];
    assert_eq!(status(&db.pool, second).await, JobStatus::Queued);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatchers_claiming_at_once_together_stay_within_the_bound() {
    let db = TestDb::new().await;
    let stores = Stores::postgres(db.pool.clone());
    let owner = stores.users.get_or_create("ops").await.unwrap().id;
    let fleet = projects(&stores, owner, "fleet", 40).await;
    hydrate_batch(&stores, owner, &fleet).await;
    let claimers = 8;
    let start = Arc::new(Barrier::new(claimers));

    // Each claimer stands for a dispatcher on another replica; they all
    // count the free places at the same moment.
    let claims: Vec<_> = (0..claimers)
        .map(|_| {
            let (jobs, start) = (stores.jobs.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                jobs.claim_batch(None, None, 4, 4, 1000)
                    .await
                    .unwrap()
                    .len()
            })
        })
        .collect();
    let mut claimed = 0;
    for claim in claims {
        claimed += claim.await.unwrap();
    }

    assert_eq!(claimed, 4);
    assert_eq!(batch_in_flight(&db.pool).await, 4);
}

#[tokio::test]
async fn batches_take_turns_for_the_places_in_flight() {
    let db = TestDb::new().await;
    let stores = Stores::postgres(db.pool.clone());
    let owner = stores.users.get_or_create("ops").await.unwrap().id;
    let large = projects(&stores, owner, "large", 10).await;
    let small = projects(&stores, owner, "small", 3).await;
    let first = hydrate_batch(&stores, owner, &large).await;
    let second = hydrate_batch(&stores, owner, &small).await;
    let dispatcher = dispatcher(&db, 4, 1000).await;

    dispatcher.dispatch_ready().await.unwrap();

    let first = stores.batches.get(owner, first.id).await.unwrap().unwrap();
    let second = stores.batches.get(owner, second.id).await.unwrap().unwrap();
    assert_eq!(first.counts.dispatched, 2);
    assert_eq!(second.counts.dispatched, 2);
}
