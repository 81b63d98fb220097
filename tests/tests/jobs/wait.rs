//! `GET /v1/jobs/{id}?wait=SECONDS` holds the request until the job ends,
//! and no longer: an ending job is answered at once, one that goes on is
//! answered as it is when the wait is over.

use std::time::{Duration, Instant};

use hero_common::jobs::Outcome;
use hero_tests::hero_env::HeroEnv;
use hero_tests::job_runner::JobRunner;
use serde_json::json;

fn runner(env: &HeroEnv) -> JobRunner {
    JobRunner::new(env.app.db.pool.clone(), env.app.stores.jobs.clone())
}

#[tokio::test]
async fn a_wait_returns_the_job_as_soon_as_it_ends() {
    let env = HeroEnv::api_only(&[]).await;
    let runner = runner(&env);
    let project = env.app.create_project("quick").await;
    let job = env
        .enqueue(&project, "run_tool", json!({"tool": "list_files"}))
        .await;
    let started = runner.start(job.parse().unwrap()).await;

    // The job ends a second into the wait; the answer must follow it,
    // not the sixty-second deadline.
    let path = format!("/v1/jobs/{job}?wait=60");
    let asked = Instant::now();
    let (waited, ()) = tokio::join!(env.get(&path), async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        runner
            .finish(started, Outcome::Succeeded(json!({"done": true})))
            .await;
    });
    let elapsed = asked.elapsed();

    assert_eq!(waited["status"], "succeeded", "{waited}");
    assert_eq!(waited["result"], json!({"done": true}));
    assert!(
        elapsed < Duration::from_secs(30),
        "answered {elapsed:?} after asking, long after the job ended"
    );
}

#[tokio::test]
async fn a_wait_on_a_job_that_goes_on_returns_it_still_running() {
    let env = HeroEnv::api_only(&[]).await;
    let project = env.app.create_project("slow").await;
    let job = env
        .enqueue(&project, "run_tool", json!({"tool": "list_files"}))
        .await;
    runner(&env).start(job.parse().unwrap()).await;

    let asked = Instant::now();
    let waited = env.get(&format!("/v1/jobs/{job}?wait=1")).await;
    let elapsed = asked.elapsed();

    assert_eq!(waited["status"], "running", "{waited}");
    assert!(
        elapsed >= Duration::from_secs(1),
        "answered after {elapsed:?}, before the wait was over"
    );
}
