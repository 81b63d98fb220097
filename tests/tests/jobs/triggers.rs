//! What starts jobs besides an IDE: signed GitHub deliveries and batches,
//! run by real workers.

use std::time::Duration;

use hero_tests::fake_github::webhooks::{EventSource, signature};
use hero_tests::hero_env::{HeroEnv, succeeded};
use reqwest::Method;
use serde_json::{Value, json};

const SECRET: &str = "webhook-secret-for-tests";

async fn deliver(env: &HeroEnv, payload: &Value, secret: &str) -> reqwest::Response {
    let body = payload.to_string().into_bytes();
    env.app
        .client
        .post(format!("{}/v1/webhooks/github", env.app.url))
        .header("content-type", "application/json")
        .header("x-github-event", "push")
        .header("x-github-delivery", uuid::Uuid::new_v4().to_string())
        .header("x-hub-signature-256", signature(secret, &body))
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn jobs_of(env: &HeroEnv, project: &str) -> Vec<Value> {
    let listed: Value = env.get(&format!("/v1/projects/{project}/jobs")).await;
    listed["jobs"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_signed_push_hydrates_the_project_and_a_forged_one_does_nothing() {
    let env = HeroEnv::start(&[("GITHUB_WEBHOOK_SECRET", SECRET)]).await;
    let project = env
        .project_with_repo("acme", "hooked", &[("README.md", "x\n")])
        .await;
    let linked = env
        .app
        .request(Method::PATCH, &format!("/v1/projects/{project}"))
        .json(&json!({"github_installation_id": 4242}))
        .send()
        .await
        .unwrap();
    assert_eq!(linked.status(), 200);
    let push = EventSource::new("acme", "hooked", Some(4242)).push("refs/heads/main");

    let forged = deliver(&env, &push, "not-the-secret").await;
    assert_eq!(forged.status(), 401);
    assert!(
        jobs_of(&env, &project).await.is_empty(),
        "a forged delivery enqueues nothing"
    );
    let signed = deliver(&env, &push, SECRET).await;
    assert!(signed.status().is_success(), "{}", signed.status());
    let jobs = jobs_of(&env, &project).await;
    assert_eq!(jobs.len(), 1);
    let ran = env
        .wait(jobs[0]["id"].as_str().unwrap(), Duration::from_secs(60))
        .await;

    assert_eq!(ran["kind"], "hydrate");
    assert_eq!(succeeded(&ran)["branch"], "main");
    assert_eq!(ran["context"]["event"], "push", "{ran}");
}

#[tokio::test]
async fn a_batch_runs_every_project_without_ever_passing_the_sandbox_cap() {
    let env = HeroEnv::start(&[
        ("HERO_MAX_SANDBOXES", "2"),
        ("HERO_WORKER_CONCURRENCY", "4"),
    ])
    .await;
    for i in 0..6 {
        env.project_with_repo("fleet", &format!("repo-{i}"), &[("README.md", "x\n")])
            .await;
    }

    let created = env
        .app
        .request(Method::POST, "/v1/batches")
        .json(&json!({"kind": "hydrate", "params": {}, "all": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 202);
    let batch: Value = created.json().await.unwrap();
    let id = batch["id"].as_str().unwrap();
    let mut most_live = 0;
    let report = loop {
        let live: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sandboxes WHERE state IN ('starting', 'ready', 'closing')",
        )
        .fetch_one(&env.app.db.pool)
        .await
        .unwrap();
        most_live = most_live.max(live);
        let report: Value = env.get(&format!("/v1/batches/{id}")).await;
        let counts = &report["counts"];
        let ended = ["succeeded", "failed", "cancelled"]
            .iter()
            .map(|s| counts[*s].as_i64().unwrap_or(0))
            .sum::<i64>();
        if ended == 6 {
            break report;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    assert_eq!(report["counts"]["succeeded"], 6, "{report}");
    assert!(
        most_live <= 2,
        "at most the cap of sandboxes at once, saw {most_live}"
    );
}
