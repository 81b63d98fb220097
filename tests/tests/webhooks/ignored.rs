//! Events Hero does not act on are acknowledged with 202 and a report that
//! says which event it was and why nothing happened; no job is enqueued.

use serde_json::json;

use crate::support::Hook;
use hero_tests::fake_github::webhooks::EventSource;

#[tokio::test]
async fn events_hero_does_not_act_on_are_202_naming_the_event() {
    let hook = Hook::spawn().await;
    let project = hook.project("shop", json!({})).await;

    let ping = hook
        .deliver(
            "ping",
            &json!({"zen": "Approachable is better than simple.", "hook_id": 1}),
        )
        .await;
    let opened = hook
        .deliver(
            "pull_request",
            &hook.source.pull_request_opened(3, "feature"),
        )
        .await;
    let edited = hook
        .deliver("issue_comment", &{
            let mut comment = hook.source.comment_created(3, false, "/hero", "OWNER");
            comment["action"] = json!("edited");
            comment
        })
        .await;

    for (answer, event) in [
        (&ping, "ping"),
        (&opened, "pull_request.opened"),
        (&edited, "issue_comment.edited"),
    ] {
        let report = answer.report(202, "ignored");
        assert_eq!(report["event"], event);
        let message = report["message"].as_str().unwrap();
        assert!(
            message.contains("does not act on") && message.contains(event),
            "{message}"
        );
    }
    assert!(hook.jobs(project).await.is_empty());
}

#[tokio::test]
async fn a_push_to_another_branch_or_a_tag_is_ignored() {
    let hook = Hook::spawn().await;
    let project = hook.project("shop", json!({})).await;

    let feature = hook
        .deliver("push", &hook.source.push("refs/heads/feature"))
        .await;
    let tag = hook
        .deliver("push", &hook.source.push("refs/tags/v1.0.0"))
        .await;

    let feature = feature.report(202, "ignored");
    assert_eq!(feature["skipped"][0]["project_id"], project.to_string());
    let reason = feature["skipped"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("feature") && reason.contains("main"),
        "{reason}"
    );
    let tag = tag.report(202, "ignored");
    assert!(
        tag["message"].as_str().unwrap().contains("not a branch"),
        "{tag}"
    );
    assert!(hook.jobs(project).await.is_empty());
}

#[tokio::test]
async fn an_event_from_another_installation_is_ignored() {
    let hook = Hook::spawn().await;
    let project = hook.project("shop", json!({})).await;
    let elsewhere = EventSource::new("octo-org", "shop", Some(7));

    let answer = hook
        .deliver("push", &elsewhere.push("refs/heads/main"))
        .await;

    let report = answer.report(202, "ignored");
    let reason = report["skipped"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("installation 7") && reason.contains("42"),
        "{reason}"
    );
    assert!(hook.jobs(project).await.is_empty());
}

#[tokio::test]
async fn a_repository_webhook_without_an_installation_is_ignored() {
    let hook = Hook::spawn().await;
    let project = hook.project("shop", json!({})).await;
    let repository_hook = EventSource::new("octo-org", "shop", None);

    let answer = hook
        .deliver("push", &repository_hook.push("refs/heads/main"))
        .await;

    let report = answer.report(202, "ignored");
    assert!(
        report["message"].as_str().unwrap().contains("installation"),
        "{report}"
    );
    assert!(hook.jobs(project).await.is_empty());
}

#[tokio::test]
async fn an_event_for_a_repository_no_project_links_is_ignored() {
    let hook = Hook::spawn().await;
    let stranger = EventSource::new("someone", "else", Some(42));

    let answer = hook
        .deliver("push", &stranger.push("refs/heads/main"))
        .await;

    let report = answer.report(202, "ignored");
    assert!(
        report["message"].as_str().unwrap().contains("someone/else"),
        "{report}"
    );
}
