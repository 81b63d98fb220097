//! Each delivery acts once: a redelivery, a replay of the same body under
//! a new id, and a retry after a half-finished attempt add nothing.

use std::time::Duration;

use serde_json::json;

use crate::support::Hook;

#[tokio::test]
async fn a_redelivery_is_acknowledged_and_does_nothing() {
    let hook = Hook::spawn().await;
    let project = hook.project("shop", json!({})).await;
    let push = hook.source.push("refs/heads/main");

    let first = hook.deliver_as("push", "d-1", &push).await;
    let again = hook.deliver_as("push", "d-1", &push).await;

    let first = first.report(200, "handled");
    let again = again.report(200, "duplicate");
    assert!(
        again["message"]
            .as_str()
            .unwrap()
            .contains("already handled"),
        "{again}"
    );
    assert_eq!(
        again["actions"], first["actions"],
        "the answer repeats what was done"
    );
    assert_eq!(hook.jobs(project).await.len(), 1);
}

#[tokio::test]
async fn the_same_body_under_a_new_delivery_id_does_nothing() {
    let hook = Hook::spawn().await;
    let project = hook.project("shop", json!({})).await;
    let push = hook.source.push("refs/heads/main");

    hook.deliver_as("push", "d-1", &push)
        .await
        .report(200, "handled");
    // The headers are not signed: someone holding a captured delivery
    // can send it again under any id.
    let replayed = hook.deliver_as("push", "d-forged", &push).await;

    let replayed = replayed.report(200, "duplicate");
    assert!(
        replayed["message"].as_str().unwrap().contains("d-1"),
        "{replayed}"
    );
    assert_eq!(hook.jobs(project).await.len(), 1);
}

#[tokio::test]
async fn a_delivery_whose_first_attempt_died_half_way_enqueues_its_jobs_once() {
    let hook = Hook::spawn().await;
    let project = hook.project("shop", json!({})).await;
    let push = hook.source.push("refs/heads/main");
    let first = hook.deliver_as("push", "d-1", &push).await;
    let first_job = first.report(200, "handled")["actions"][0]["job_id"].clone();
    // As if the first attempt had enqueued its job and died before
    // recording that it finished.
    sqlx::query("UPDATE github_deliveries SET finished_at = NULL, report = NULL")
        .execute(&hook.app.db.pool)
        .await
        .unwrap();

    let retried = hook.deliver_as("push", "d-1", &push).await;

    let retried = retried.report(200, "handled");
    assert_eq!(retried["actions"][0]["job_id"], first_job);
    assert_eq!(hook.jobs(project).await.len(), 1);
    let finished: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT finished_at FROM github_deliveries WHERE delivery_id = 'd-1'")
            .fetch_one(&hook.app.db.pool)
            .await
            .unwrap();
    assert!(finished.is_some(), "the retry recorded its end");
}

#[tokio::test]
async fn concurrent_copies_of_a_delivery_enqueue_one_job() {
    let hook = Hook::spawn().await;
    let project = hook.project("shop", json!({})).await;
    let push = hook.source.push("refs/heads/main");

    let answers =
        futures_util::future::join_all((0..4).map(|_| hook.deliver_as("push", "d-1", &push))).await;

    for answer in &answers {
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    assert_eq!(hook.jobs(project).await.len(), 1);
}

#[tokio::test]
async fn pruning_forgets_old_deliveries_and_keeps_recent_ones() {
    let hook = Hook::spawn().await;
    hook.deliver_as("ping", "d-old", &json!({"zen": "Old."}))
        .await;
    hook.deliver_as("ping", "d-new", &json!({"zen": "New."}))
        .await;
    sqlx::query(
        "UPDATE github_deliveries SET received_at = now() - interval '8 days'
         WHERE delivery_id = 'd-old'",
    )
    .execute(&hook.app.db.pool)
    .await
    .unwrap();

    let pruned = hook
        .app
        .stores
        .deliveries
        .prune(Duration::from_secs(7 * 24 * 3600))
        .await
        .unwrap();

    assert_eq!(pruned, 1);
    let left: Vec<String> = sqlx::query_scalar("SELECT delivery_id FROM github_deliveries")
        .fetch_all(&hook.app.db.pool)
        .await
        .unwrap();
    assert_eq!(left, ["d-new"]);
}
