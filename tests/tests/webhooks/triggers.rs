//! Each trigger, end to end: the delivery's answer, and the jobs and pull
//! request records it left behind, read from the stores.

use std::time::Duration;

use hero_common::domain::NewPullRequest;
use hero_common::jobs::queue::Presence;
use hero_common::jobs::{JobKind, JobStatus};
use hero_tests::fake_github::webhooks::EventSource;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{Hook, INSTALLATION};

fn hero_pull_request(project: Uuid, number: i64, head: &str) -> NewPullRequest {
    NewPullRequest {
        project_id: project,
        forge: "github".to_owned(),
        number,
        url: format!("https://github.com/octo-org/shop/pull/{number}"),
        title: format!("Change {number}"),
        head: head.to_owned(),
        base: "main".to_owned(),
    }
}

#[tokio::test]
async fn a_push_to_the_default_branch_rehydrates_every_project_linked_to_the_repository() {
    let hook = Hook::spawn().await;
    let mine = hook.project("shop", json!({})).await;
    let (_, bob) = hook.app.other_user("bob").await;
    let bobs = hook
        .project_as(&bob, "bobs-shop", Some(INSTALLATION), json!({}))
        .await;
    let unlinked = hook.project_as(&bob, "unlinked", None, json!({})).await;
    let opted_out = hook
        .project("no-hydrate", json!({"hydrate_on_push": false}))
        .await;
    // GitHub may spell the repository differently from the project.
    let source = EventSource::new("Octo-Org", "Shop", Some(INSTALLATION));

    let answer = hook
        .deliver_as("push", "d-push", &source.push("refs/heads/main"))
        .await;

    let report = answer.report(200, "handled");
    assert_eq!(report["actions"].as_array().unwrap().len(), 2, "{report}");
    assert_eq!(report["skipped"].as_array().unwrap().len(), 2, "{report}");
    for project in [mine, bobs] {
        let jobs = hook.jobs(project).await;
        assert_eq!(jobs.len(), 1, "one hydrate for {project}");
        let job = &jobs[0];
        assert_eq!(job.kind, JobKind::Hydrate);
        assert_eq!(job.params, json!({"branch": "main"}));
        assert_eq!(
            job.idempotency_key.as_deref(),
            Some("github-delivery:d-push")
        );
        let context = job.context.as_ref().expect("a webhook job has a context");
        assert_eq!(context.source, "github_webhook");
        assert_eq!(context.event, "push");
        assert_eq!(context.delivery_id, "d-push");
        assert_eq!(context.repository, "Octo-Org/Shop");
        assert_eq!(context.sender.as_deref(), Some("mona"));
    }
    assert!(hook.jobs(unlinked).await.is_empty());
    assert!(hook.jobs(opted_out).await.is_empty());
}

#[tokio::test]
async fn a_push_is_answered_once_its_jobs_are_queued_without_waiting_for_a_worker() {
    // No worker runs beside this app: an answer that waited for the work
    // would never come.
    let hook = Hook::spawn().await;
    let mut projects = Vec::new();
    for i in 0..5 {
        projects.push(hook.project(&format!("shop-{i}"), json!({})).await);
    }

    let answer = tokio::time::timeout(
        Duration::from_secs(60),
        hook.deliver("push", &hook.source.push("refs/heads/main")),
    )
    .await
    .expect("a guard against an answer that waits for the jobs, not a measurement");

    let report = answer.report(200, "handled");
    assert_eq!(report["actions"].as_array().unwrap().len(), 5, "{report}");
    for project in projects {
        let jobs = hook.jobs(project).await;
        assert_eq!(jobs.len(), 1, "one hydrate for {project}");
        let job = &jobs[0];
        assert_eq!(
            job.status,
            JobStatus::Dispatched,
            "sent on at once: {job:?}"
        );
        assert_eq!(hook.in_queue(job).await, Presence::Pending, "{job:?}");
        assert!(job.started_at.is_none() && job.result.is_none(), "{job:?}");
    }
}

#[tokio::test]
async fn a_webhook_job_shows_its_context_over_the_api() {
    let hook = Hook::spawn().await;
    hook.project("shop", json!({})).await;
    let answer = hook
        .deliver_as("push", "d-push", &hook.source.push("refs/heads/main"))
        .await;
    let job_id = answer.report(200, "handled")["actions"][0]["job_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let job: Value = hook
        .app
        .request(Method::GET, &format!("/v1/jobs/{job_id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(job["context"]["delivery_id"], "d-push");
    assert_eq!(job["context"]["repository"], "octo-org/shop");
    assert_eq!(job["context"]["event"], "push");
}

#[tokio::test]
async fn closing_a_pull_request_hero_opened_records_it_merged_or_closed() {
    let hook = Hook::spawn().await;
    let project = hook.project("shop", json!({})).await;
    let pulls = &hook.app.stores.pull_requests;
    pulls
        .record(hero_pull_request(project, 7, "hero/fix"))
        .await
        .unwrap();
    pulls
        .record(hero_pull_request(project, 8, "hero/try"))
        .await
        .unwrap();

    let merged = hook
        .deliver(
            "pull_request",
            &hook.source.pull_request_closed(7, "hero/fix", true),
        )
        .await;
    let closed = hook
        .deliver(
            "pull_request",
            &hook.source.pull_request_closed(8, "hero/try", false),
        )
        .await;

    let merged = merged.report(200, "handled");
    assert_eq!(merged["event"], "pull_request.closed");
    assert_eq!(
        merged["actions"][0],
        json!({"action": "pull_request_closed", "project_id": project, "number": 7, "state": "merged"})
    );
    closed.report(200, "handled");
    let states: Vec<(i64, String)> = pulls
        .list(project)
        .await
        .unwrap()
        .into_iter()
        .map(|pr| (pr.number, pr.state))
        .collect();
    assert_eq!(states, [(8, "closed".to_owned()), (7, "merged".to_owned())]);
    assert!(hook.jobs(project).await.is_empty(), "closing starts no job");
}

#[tokio::test]
async fn closing_a_pull_request_asks_for_the_sandbox_to_close_only_where_the_project_says_so() {
    let hook = Hook::spawn().await;
    let closing = hook
        .project("closing", json!({"close_sandbox_on_pr_close": true}))
        .await;
    let keeping = hook.project("keeping", json!({})).await;
    let no_sandbox = hook
        .project("no-sandbox", json!({"close_sandbox_on_pr_close": true}))
        .await;
    for project in [closing, keeping, no_sandbox] {
        hook.app
            .stores
            .pull_requests
            .record(hero_pull_request(project, 7, "hero/fix"))
            .await
            .unwrap();
    }
    let closing_sandbox = hook.sandbox(closing, 0).await;
    let kept_sandbox = hook.sandbox(keeping, 1).await;

    let answer = hook
        .deliver(
            "pull_request",
            &hook.source.pull_request_closed(7, "hero/fix", true),
        )
        .await;

    let report = answer.report(200, "handled");
    let actions = report["actions"].as_array().unwrap();
    let requested: Vec<&Value> = actions
        .iter()
        .filter(|action| action["action"] == "sandbox_close_requested")
        .collect();
    assert_eq!(
        requested,
        [&json!({
            "action": "sandbox_close_requested",
            "project_id": closing,
            "sandbox_id": closing_sandbox,
        })],
        "{report}"
    );
    let closed_prs = actions
        .iter()
        .filter(|action| action["action"] == "pull_request_closed")
        .count();
    assert_eq!(closed_prs, 3, "{report}");
    assert!(hook.close_requested(closing_sandbox).await);
    assert!(!hook.close_requested(kept_sandbox).await);
    assert!(
        hook.jobs(closing).await.is_empty(),
        "the workers close it; no job"
    );
}

#[tokio::test]
async fn a_late_closed_event_never_turns_a_merged_pull_request_back_to_closed() {
    let hook = Hook::spawn().await;
    let project = hook.project("shop", json!({})).await;
    let pulls = &hook.app.stores.pull_requests;
    pulls
        .record(hero_pull_request(project, 7, "hero/fix"))
        .await
        .unwrap();
    hook.deliver(
        "pull_request",
        &hook.source.pull_request_closed(7, "hero/fix", true),
    )
    .await
    .report(200, "handled");

    let mut late = hook.source.pull_request_closed(7, "hero/fix", false);
    late["pull_request"]["updated_at"] = json!("2026-12-04T09:00:00Z");
    hook.deliver("pull_request", &late).await;

    assert_eq!(pulls.list(project).await.unwrap()[0].state, "merged");
}

#[tokio::test]
async fn closing_a_pull_request_hero_did_not_open_is_ignored() {
    let hook = Hook::spawn().await;
    let project = hook.project("shop", json!({})).await;

    let answer = hook
        .deliver(
            "pull_request",
            &hook.source.pull_request_closed(99, "someone/else", true),
        )
        .await;

    let report = answer.report(202, "ignored");
    assert!(
        report["message"]
            .as_str()
            .unwrap()
            .contains("#99 was not opened by Hero"),
        "{report}"
    );
    assert!(
        hook.app
            .stores
            .pull_requests
            .list(project)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_comment_command_enqueues_the_configured_job_with_the_event_as_context() {
    let hook = Hook::spawn().await;
    let project = hook
        .project(
            "shop",
            json!({"commands": [{
                "command": "/hero",
                "job": {"kind": "run_tool", "params": {"tool": "run_shell", "command": "npm test"}},
            }]}),
        )
        .await;
    let comment = hook.source.comment_created(
        12,
        true,
        "/hero please run the tests, token=ghp_notreal",
        "MEMBER",
    );

    let answer = hook
        .deliver_as("issue_comment", "d-comment", &comment)
        .await;

    let report = answer.report(200, "handled");
    assert_eq!(report["actions"][0]["trigger"], "command /hero");
    let jobs = hook.jobs(project).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].kind, JobKind::RunTool);
    assert_eq!(
        jobs[0].params,
        json!({"tool": "run_shell", "command": "npm test"})
    );
    let context = serde_json::to_value(jobs[0].context.as_ref().unwrap()).unwrap();
    assert_eq!(
        context,
        json!({
            "source": "github_webhook",
            "event": "issue_comment.created",
            "delivery_id": "d-comment",
            "repository": "octo-org/shop",
            "number": 12,
            "pull_request": true,
            "sender": "mona",
            "comment_url": "https://github.com/octo-org/shop/issues/12#issuecomment-1000012",
            "trigger": "command /hero",
        })
    );
}

#[tokio::test]
async fn a_command_from_someone_outside_the_repository_is_ignored() {
    let hook = Hook::spawn().await;
    let project = hook
        .project(
            "shop",
            json!({"commands": [{"command": "/hero", "job": {"kind": "hydrate"}}]}),
        )
        .await;

    let stranger = hook
        .deliver(
            "issue_comment",
            &hook.source.comment_created(3, false, "/hero", "NONE"),
        )
        .await;
    let chatter = hook
        .deliver(
            "issue_comment",
            &hook
                .source
                .comment_created(3, false, "Looks good /hero", "OWNER"),
        )
        .await;

    let stranger = stranger.report(202, "ignored");
    assert!(
        stranger["message"].as_str().unwrap().contains("NONE"),
        "{stranger}"
    );
    chatter.report(202, "ignored");
    assert!(hook.jobs(project).await.is_empty());
}

#[tokio::test]
async fn a_configured_label_on_an_issue_or_a_pull_request_enqueues_its_job() {
    let hook = Hook::spawn().await;
    let project = hook
        .project(
            "shop",
            json!({"labels": [{
                "label": "hero: sync",
                "job": {"kind": "sync", "params": {"action": "status"}},
            }]}),
        )
        .await;

    let on_issue = hook
        .deliver("issues", &hook.source.issue_labeled(3, "Hero: Sync"))
        .await;
    let on_pull = hook
        .deliver(
            "pull_request",
            &hook.source.pull_request_labeled(4, "hero/x", "hero: sync"),
        )
        .await;
    let other_label = hook
        .deliver("issues", &hook.source.issue_labeled(5, "bug"))
        .await;

    on_issue.report(200, "handled");
    on_pull.report(200, "handled");
    other_label.report(202, "ignored");
    let mut jobs = hook.jobs(project).await;
    jobs.reverse();
    assert_eq!(jobs.len(), 2);
    for job in &jobs {
        assert_eq!(job.kind, JobKind::Sync);
        assert_eq!(job.params, json!({"action": "status"}));
    }
    let contexts: Vec<_> = jobs
        .iter()
        .map(|job| {
            let context = job.context.as_ref().unwrap();
            (context.event.as_str(), context.number, context.pull_request)
        })
        .collect();
    assert_eq!(
        contexts,
        [
            ("issues.labeled", Some(3), Some(false)),
            ("pull_request.labeled", Some(4), Some(true)),
        ]
    );
}
