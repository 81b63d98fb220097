use std::time::Duration;

use hero_tests::hero_env::{HeroEnv, succeeded};
use serde_json::json;

#[tokio::test]
async fn a_burst_of_jobs_for_one_project_runs_one_at_a_time_in_order() {
    let mut env = HeroEnv::start(&[]).await;
    env.add_worker().await;
    let project = env
        .project_with_repo("acme", "log", &[("log.txt", "")])
        .await;

    let mut jobs = Vec::new();
    for i in 0..20 {
        let params = json!({"tool": "run_shell", "command": format!("echo {i} >> log.txt")});
        jobs.push(env.enqueue(&project, "run_tool", params).await);
    }
    for job in &jobs {
        succeeded(&env.wait(job, Duration::from_secs(120)).await);
    }
    let read = env
        .run(
            &project,
            "run_tool",
            json!({"tool": "read_file", "path": "log.txt"}),
        )
        .await;

    let expected: String = (0..20).map(|i| format!("{i}\n")).collect();
    assert_eq!(succeeded(&read)["content"], expected);
}

#[tokio::test]
async fn the_same_idempotency_key_returns_the_same_job() {
    let env = HeroEnv::start(&[]).await;
    let project = env
        .project_with_repo("acme", "once", &[("a.txt", "a\n")])
        .await;
    let body = json!({
        "kind": "run_tool",
        "params": {"tool": "run_shell", "command": "echo ran >> runs.txt"},
        "idempotency_key": "call-1",
    });

    let first = env.enqueue_with(&project, body.clone()).await;
    let second = env.enqueue_with(&project, body).await;
    succeeded(
        &env.wait(first["id"].as_str().unwrap(), Duration::from_secs(60))
            .await,
    );
    let runs = env
        .run(
            &project,
            "run_tool",
            json!({"tool": "read_file", "path": "runs.txt"}),
        )
        .await;

    assert_eq!(first["id"], second["id"]);
    assert_eq!(succeeded(&runs)["content"], "ran\n");
}
