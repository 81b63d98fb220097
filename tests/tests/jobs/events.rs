use std::time::Duration;

use futures_util::StreamExt;
use hero_tests::hero_env::{HeroEnv, succeeded};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn events_carry_status_changes_and_redacted_output_as_it_is_produced() {
    let env = HeroEnv::start(&[]).await;
    let project = env
        .project_with_repo("acme", "chatty", &[("a.txt", "a\n")])
        .await;
    env.app
        .request(
            Method::PUT,
            &format!("/v1/projects/{project}/secrets/TOKEN"),
        )
        .json(&json!({"value": "tok_abcdefghijklmnop"}))
        .send()
        .await
        .unwrap();
    succeeded(&env.run(&project, "hydrate", json!({})).await);
    let job = env
        .enqueue(
            &project,
            "run_tool",
            json!({"tool": "run_shell", "command": "echo one; sleep 0.3; echo \"two $TOKEN\""}),
        )
        .await;

    let response = env
        .app
        .request(Method::GET, &format!("/v1/jobs/{job}/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = String::new();
    let mut stream = response.bytes_stream();
    let read = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(chunk) = stream.next().await {
            body.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        }
    });
    read.await.expect("the stream ends when the job does");

    assert!(body.contains("event: status"), "{body}");
    assert!(body.contains(r#""status":"running""#), "{body}");
    assert!(body.contains(r#""status":"succeeded""#), "{body}");
    assert!(body.contains("event: output"), "{body}");
    assert!(body.contains("one"), "{body}");
    assert!(body.contains("two [redacted:TOKEN]"), "{body}");
    assert!(!body.contains("tok_abcdefghijklmnop"));
}

#[tokio::test]
async fn metrics_count_jobs_by_kind_and_outcome_and_time_them() {
    let env = HeroEnv::start(&[]).await;
    let project = env
        .project_with_repo("acme", "counted", &[("a.txt", "a\n")])
        .await;
    succeeded(
        &env.run(
            &project,
            "run_tool",
            json!({"tool": "read_file", "path": "a.txt"}),
        )
        .await,
    );

    // The worker counts a job right after recording it; the client may
    // ask a moment sooner.
    let mut metrics = String::new();
    for _ in 0..50 {
        metrics = env
            .app
            .client
            .get(format!("{}/metrics", env.app.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("hero_jobs_total{") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    for name in [
        "hero_jobs_accepted_total{kind=\"run_tool\"}",
        "hero_jobs_total{kind=\"run_tool\",outcome=\"succeeded\"}",
        "hero_job_duration_seconds",
        "hero_dispatch_lag_seconds",
        "hero_lease_wait_seconds",
    ] {
        assert!(metrics.contains(name), "{name} missing from:\n{metrics}");
    }
}
