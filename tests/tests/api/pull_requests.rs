use hero_common::domain::NewPullRequest;
use hero_tests::TestApp;
use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

fn pr(project: Uuid, number: i64, head: &str) -> NewPullRequest {
    NewPullRequest {
        project_id: project,
        forge: "github".to_owned(),
        number,
        url: format!("https://github.com/octo-org/r/pull/{number}"),
        title: format!("Change {number}"),
        head: head.to_owned(),
        base: "main".to_owned(),
    }
}

#[tokio::test]
async fn a_projects_pull_requests_are_listed_newest_first_and_recorded_once() {
    let app = TestApp::spawn().await;
    let project: Uuid = app.create_project("r").await.parse().unwrap();
    app.stores
        .pull_requests
        .record(pr(project, 1, "hero/a"))
        .await
        .unwrap();
    app.stores
        .pull_requests
        .record(pr(project, 2, "hero/b"))
        .await
        .unwrap();
    app.stores
        .pull_requests
        .record(pr(project, 2, "hero/b"))
        .await
        .unwrap();

    let listed: Value = app
        .request(
            Method::GET,
            &format!("/v1/projects/{project}/pull_requests"),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let numbers: Vec<i64> = listed["pull_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 1]);
    assert_eq!(listed["pull_requests"][0]["state"], "open");
    let open = app
        .stores
        .pull_requests
        .open_for_head(project, "github", "hero/a")
        .await
        .unwrap();
    assert_eq!(open.unwrap().number, 1);
}

#[tokio::test]
async fn another_users_pull_requests_are_not_found() {
    let app = TestApp::spawn().await;
    let project = app.create_project("r").await;
    let (_, mallory) = app.other_user("mallory").await;

    let response = app
        .request_as(
            &mallory,
            Method::GET,
            &format!("/v1/projects/{project}/pull_requests"),
        )
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 404);
}
