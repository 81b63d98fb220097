//! The Redis backlog bound holds on the fast path too: jobs accepted for
//! idle projects are claimed inside their requests, and together they
//! never put more than `HERO_QUEUE_BACKLOG` of a kind in Redis.

use std::time::Duration;

use futures_util::future::join_all;
use hero_common::jobs::{JobKind, JobStatus};
use hero_tests::hero_env::{HeroEnv, succeeded};
use serde_json::json;

const BACKLOG: i64 = 3;

async fn run_tool_jobs(env: &HeroEnv, status: JobStatus) -> i64 {
    let counts = env.app.stores.jobs.counts().await.unwrap();
    counts
        .iter()
        .find(|(kind, counted, _)| *kind == JobKind::RunTool && *counted == status)
        .map_or(0, |(_, _, count)| *count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_over_many_idle_projects_never_dispatches_more_than_the_backlog_bound() {
    // No worker yet: nothing leaves `dispatched`, so what is dispatched
    // after the burst is the most that ever was.
    let mut env = HeroEnv::api_only(&[("HERO_QUEUE_BACKLOG", "3")]).await;
    let mut projects = Vec::new();
    for i in 0..10 {
        let name = format!("idle-{i}");
        projects.push(
            env.project_with_repo("acme", &name, &[("a.txt", "a\n")])
                .await,
        );
    }
    let read = json!({"tool": "read_file", "path": "a.txt"});

    // Every request at once, each taking the fast path of an idle project.
    let jobs = join_all(
        projects
            .iter()
            .map(|project| env.enqueue(project, "run_tool", read.clone())),
    )
    .await;
    let dispatched = run_tool_jobs(&env, JobStatus::Dispatched).await;
    let held = run_tool_jobs(&env, JobStatus::Queued).await;
    env.add_worker().await;
    let ended = join_all(
        jobs.iter()
            .map(|job| env.wait(job, Duration::from_secs(120))),
    )
    .await;

    assert_eq!(dispatched, BACKLOG, "the bound is reached and never passed");
    assert_eq!(held, 10 - BACKLOG, "the rest wait in Postgres");
    for job in &ended {
        succeeded(job);
    }
}
