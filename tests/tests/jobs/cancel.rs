use std::time::Duration;

use hero_tests::hero_env::{HeroEnv, succeeded};
use reqwest::Method;
use serde_json::{Value, json};

async fn cancel(env: &HeroEnv, job: &str) -> Value {
    let response = env
        .app
        .request(Method::POST, &format!("/v1/jobs/{job}/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_running_command_is_killed_and_its_job_ends_cancelled() {
    let env = HeroEnv::start(&[]).await;
    let project = env
        .project_with_repo("acme", "slow", &[("a.txt", "a\n")])
        .await;
    succeeded(&env.run(&project, "hydrate", json!({})).await);
    let job = env
        .enqueue(
            &project,
            "run_tool",
            json!({"tool": "run_shell", "command": "echo started; sleep 30; echo finished > late.txt"}),
        )
        .await;
    env.wait_until(&job, Duration::from_secs(60), |now| {
        now["status"] == "running"
    })
    .await;

    cancel(&env, &job).await;
    let ended = env.wait(&job, Duration::from_secs(20)).await;
    let next = env
        .run(
            &project,
            "run_tool",
            json!({"tool": "run_shell", "command": "sleep 1; ls"}),
        )
        .await;

    assert_eq!(ended["status"], "cancelled");
    let listing = succeeded(&next)["stdout"].as_str().unwrap().to_owned();
    assert!(
        !listing.contains("late.txt"),
        "the command was killed: {listing}"
    );
}

#[tokio::test]
async fn a_queued_job_is_cancelled_at_once_and_never_runs() {
    let env = HeroEnv::start(&[]).await;
    let project = env
        .project_with_repo("acme", "queue", &[("a.txt", "a\n")])
        .await;
    let blocker = env
        .enqueue(
            &project,
            "run_tool",
            json!({"tool": "run_shell", "command": "sleep 2"}),
        )
        .await;
    let queued = env
        .enqueue(
            &project,
            "run_tool",
            json!({"tool": "write_file", "path": "b.txt", "content": "b"}),
        )
        .await;

    let cancelled = cancel(&env, &queued).await;
    succeeded(&env.wait(&blocker, Duration::from_secs(60)).await);
    let listing = env
        .run(&project, "run_tool", json!({"tool": "list_files"}))
        .await;

    assert_eq!(cancelled["status"], "cancelled");
    assert!(!succeeded(&listing).to_string().contains("b.txt"));
}
