//! Results are written under the fencing token: a worker that lost its
//! sandbox lease, whose job was then handed to another, cannot record
//! anything, whether it presents its old dispatch or the current one.

use hero_common::jobs::{JobStatus, Outcome};
use hero_tests::hero_env::HeroEnv;
use hero_tests::job_runner::JobRunner;
use serde_json::json;

#[tokio::test]
async fn a_stale_workers_finish_is_refused_and_changes_nothing() {
    let env = HeroEnv::api_only(&[]).await;
    let jobs = env.app.stores.jobs.clone();
    let runner = JobRunner::new(env.app.db.pool.clone(), jobs.clone());
    let project = env.app.create_project("fenced").await;
    let job = env
        .enqueue(&project, "run_tool", json!({"tool": "list_files"}))
        .await
        .parse()
        .unwrap();
    let stale = runner.start(job).await;

    // Another worker takes the sandbox; recovery sees the job's lease is
    // gone and hands the job out again, to a worker with a new lease.
    runner.take_lease(project.parse().unwrap()).await;
    assert_eq!(jobs.requeue_abandoned().await.unwrap(), 1);
    let current = runner.start(job).await;
    let late = |dispatch| {
        jobs.finish(
            job,
            dispatch,
            stale.fencing_token,
            Outcome::Succeeded(json!({"from": "the stale worker"})),
        )
    };
    let with_old_dispatch = late(stale.dispatch).await.unwrap();
    let with_current_dispatch = late(current.dispatch).await.unwrap();
    let after_stale = jobs.get(job).await.unwrap().unwrap();
    runner
        .finish(
            current,
            Outcome::Succeeded(json!({"from": "the current worker"})),
        )
        .await;
    let ended = jobs.get(job).await.unwrap().unwrap();

    assert_ne!(stale.fencing_token, current.fencing_token);
    assert!(!with_old_dispatch, "the old dispatch's finish is refused");
    assert!(!with_current_dispatch, "the old lease's finish is refused");
    assert_eq!(after_stale.status, JobStatus::Running);
    assert_eq!(after_stale.result, None);
    assert_eq!(ended.status, JobStatus::Succeeded);
    assert_eq!(ended.result, Some(json!({"from": "the current worker"})));
}
