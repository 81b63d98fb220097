//! `GET /v1/projects/{id}/jobs`: filters by status, kind, execution and
//! agent, newest first, a page at a time through `limit` and
//! `before`/`next_before`.

use hero_common::jobs::Outcome;
use hero_tests::hero_env::HeroEnv;
use hero_tests::job_runner::{JobRunner, failure};
use serde_json::{Value, json};

/// Ids of the listed jobs, in the order listed.
fn ids(listed: &Value) -> Vec<&str> {
    let jobs = listed["jobs"].as_array().expect("a list of jobs");
    jobs.iter().map(|job| job["id"].as_str().unwrap()).collect()
}

async fn enqueue(
    env: &HeroEnv,
    project: &str,
    kind: &str,
    params: Value,
    labels: (&str, &str),
) -> String {
    let (execution_id, agent_id) = labels;
    let body =
        json!({"kind": kind, "params": params, "execution_id": execution_id, "agent_id": agent_id});
    let job = env.enqueue_with(project, body).await;
    job["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn filters_and_pages_return_the_right_jobs_newest_first() {
    let env = HeroEnv::api_only(&[]).await;
    let runner = JobRunner::new(env.app.db.pool.clone(), env.app.stores.jobs.clone());
    let project = env.app.create_project("listing").await;
    let list = json!({"tool": "list_files"});
    // Succeeded, failed, in flight, then two waiting behind it.
    let first = enqueue(&env, &project, "run_tool", list.clone(), ("e1", "a1")).await;
    runner
        .run(first.parse().unwrap(), Outcome::Succeeded(json!({})))
        .await;
    let second = enqueue(&env, &project, "hydrate", json!({}), ("e1", "a2")).await;
    runner
        .run(second.parse().unwrap(), failure("git", "no such branch"))
        .await;
    let third = enqueue(&env, &project, "run_tool", list.clone(), ("e2", "a1")).await;
    runner.start(third.parse().unwrap()).await;
    let fourth = enqueue(
        &env,
        &project,
        "sync",
        json!({"action": "status"}),
        ("e2", "a2"),
    )
    .await;
    let fifth = enqueue(&env, &project, "run_tool", list, ("e2", "a1")).await;
    let page = async |query: &str| {
        env.get(&format!("/v1/projects/{project}/jobs?{query}"))
            .await
    };

    let everything = page("").await;
    let succeeded = page("status=succeeded").await;
    let failed = page("status=failed").await;
    let running = page("status=running").await;
    let queued = page("status=queued").await;
    let tools = page("kind=run_tool").await;
    let first_execution = page("execution_id=e1").await;
    let first_agent = page("agent_id=a1").await;
    let combined = page("kind=run_tool&execution_id=e2&agent_id=a1").await;
    let nobody = page("agent_id=a3").await;
    let page_one = page("limit=2").await;
    let after_one = page_one["next_before"].as_str().unwrap().to_owned();
    let page_two = page(&format!("limit=2&before={after_one}")).await;
    let after_two = page_two["next_before"].as_str().unwrap().to_owned();
    let page_three = page(&format!("limit=2&before={after_two}")).await;

    assert_eq!(ids(&everything), [&fifth, &fourth, &third, &second, &first]);
    assert_eq!(everything["next_before"], Value::Null, "one page holds all");
    assert_eq!(ids(&succeeded), [&first]);
    assert_eq!(ids(&failed), [&second]);
    assert_eq!(ids(&running), [&third]);
    assert_eq!(ids(&queued), [&fifth, &fourth]);
    assert_eq!(ids(&tools), [&fifth, &third, &first]);
    assert_eq!(ids(&first_execution), [&second, &first]);
    assert_eq!(ids(&first_agent), [&fifth, &third, &first]);
    assert_eq!(ids(&combined), [&fifth, &third]);
    assert_eq!(ids(&nobody), Vec::<&str>::new());
    assert_eq!(ids(&page_one), [&fifth, &fourth]);
    assert_eq!(after_one, fourth);
    assert_eq!(ids(&page_two), [&third, &second]);
    assert_eq!(after_two, second);
    assert_eq!(ids(&page_three), [&first]);
    assert_eq!(page_three["next_before"], Value::Null, "the last page");
}
