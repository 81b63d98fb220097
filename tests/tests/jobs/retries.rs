//! Transient failures are Hero's to retry: with the git server out of
//! reach, a tool call's hydrate fails, and the job goes back to queued
//! for later with its attempt counted, until its attempts are used up and
//! it ends failed.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hero_common::jobs::JobKind;
use hero_tests::hero_env::HeroEnv;
use serde_json::{Value, json};

/// A git server address where nothing listens: connections are refused.
fn unreachable_forge() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/git")
}

#[track_caller]
fn time(job: &Value, field: &str) -> DateTime<Utc> {
    job[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {job}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_transient_failure_is_retried_later_until_attempts_run_out() {
    let mut env = HeroEnv::api_only(&[]).await;
    let project = env
        .project_with_repo("acme", "offline", &[("a.txt", "a\n")])
        .await;
    for (key, value) in &mut env.worker_env {
        if key == "HERO_FORGE_URL" {
            *value = unreachable_forge();
        }
    }
    env.add_worker().await;
    let job = env
        .enqueue(
            &project,
            "run_tool",
            json!({"tool": "read_file", "path": "a.txt"}),
        )
        .await;

    let retrying = env
        .wait_until(&job, Duration::from_secs(60), |now| {
            now["status"] == "queued" && now["attempt"] == 1
        })
        .await;
    let ended = env.wait(&job, Duration::from_secs(120)).await;

    assert_eq!(retrying["error"]["transient"], true, "{retrying}");
    assert_eq!(retrying["error"]["code"], "git", "{retrying}");
    assert!(
        time(&retrying, "run_after") > time(&retrying, "started_at"),
        "the retry is scheduled for later: {retrying}"
    );
    assert_eq!(ended["status"], "failed", "{ended}");
    assert_eq!(ended["attempt"], JobKind::RunTool.max_attempts());
    assert_eq!(ended["error"]["transient"], true, "{ended}");
}
