//! The whole path through Hero's jobs, with `HERO_FORGE=github` aimed at
//! the fake GitHub: the API and a worker in-process, driven over HTTP as
//! an IDE would. The project's owner signed in with GitHub, and their
//! access token has expired by the time the first job needs it, so the
//! worker refreshes it. GitHub answers the first pull request create with
//! a 429 and the next by opening it and cutting the connection, so the
//! retry has to find it; a second `submit_pr` finds it too.
//! Afterwards no token the fake issued is anywhere Hero wrote.

use std::time::Duration;

use hero_tests::fake_github::{Endpoint, FakeGitHub, Fault};
use hero_tests::hero_env::{HeroEnv, succeeded};
use hero_tests::traces::Traces;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{OWNER, PACKAGE_JSON, PACKAGE_LOCK, REPO};

/// The GitHub account the project's owner signs in with.
const LOGIN: &str = "alice-gh";

#[tokio::test]
async fn a_github_project_is_hydrated_changed_synced_and_turned_into_one_pull_request_by_jobs() {
    let fake = FakeGitHub::start().await;
    fake.add_repo_with(
        OWNER,
        REPO,
        "main",
        &[
            ("README.md", "# widgets\n"),
            ("package.json", PACKAGE_JSON),
            ("package-lock.json", PACKAGE_LOCK),
        ],
        true,
    )
    .await;
    let settings = fake.hero_settings();
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let env = HeroEnv::start(&settings).await;
    connect_with_an_expired_token(&env, &fake).await;
    let project = env.link_project(OWNER, REPO).await;
    fake.faults.on(
        Endpoint::CreatePull,
        1,
        Fault::TooManyRequests {
            retry_after: Some(1),
        },
    );
    fake.faults.on(Endpoint::CreatePull, 1, Fault::LoseResponse);

    let hydrated = env.run(&project, "hydrate", json!({})).await;
    let edited = env
        .run(
            &project,
            "run_tool",
            json!({"tool": "edit_file", "path": "README.md", "edits": [{"find": "# widgets", "replace": "# widgets, now blue"}]}),
        )
        .await;
    let pushed = env
        .run(
            &project,
            "sync",
            json!({"action": "commit_and_push", "message": "Paint the widgets", "branch": "blue"}),
        )
        .await;
    let pr = json!({"title": "Paint the widgets", "branch": "blue"});
    let submitted = env.run(&project, "submit_pr", pr.clone()).await;
    let again = env.run(&project, "submit_pr", pr).await;

    let hydrated = succeeded(&hydrated);
    assert_eq!(hydrated["package_manager"], "npm");
    assert_eq!(hydrated["manifest"]["testCommand"], "npm run test");
    succeeded(&edited);
    assert_eq!(succeeded(&pushed)["branch"], "hero/blue");
    let number = &succeeded(&submitted)["number"];
    assert_eq!(
        &succeeded(&again)["number"],
        number,
        "a second submit finds the first pull request"
    );
    let pulls = fake.pulls(OWNER, REPO);
    assert_eq!(pulls.len(), 1, "exactly one pull request: {pulls:?}");
    assert_eq!(pulls[0].head, "hero/blue");
    assert_eq!(pulls[0].author, LOGIN, "opened with the owner's token");
    let refused: Vec<u16> = fake
        .requests_to(Endpoint::CreatePull)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(
        refused.first(),
        Some(&429),
        "the 429 was served: {refused:?}"
    );
    assert_eq!(
        fake.counts().refreshes,
        1,
        "the expired token was refreshed"
    );

    Traces::of(&env).await.assert_free_of(&fake.issued_tokens());
}

/// The test's user connects GitHub through the OAuth web flow, as the IDE
/// would, and gets an access token that is already expired; tokens issued
/// after that (the refreshed ones) last for hours.
async fn connect_with_an_expired_token(env: &HeroEnv, fake: &FakeGitHub) {
    fake.set_user_token_lifetimes(Some(Duration::ZERO), Duration::from_secs(3600));
    let code = fake.authorize(LOGIN, None);

    let response = env
        .app
        .request(Method::POST, "/v1/github/oauth/exchange")
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let connection: Value = response.json().await.unwrap();
    assert_eq!(connection["connected"], true);

    fake.set_user_token_lifetimes(
        Some(Duration::from_secs(8 * 3600)),
        Duration::from_secs(3600),
    );
}
