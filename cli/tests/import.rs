//! `hero project import` against the API.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod support;

use hero_tests::TestApp;
use reqwest::Method;
use serde_json::Value;
use support::{TempFile, hero, json_lines, run, text};

async fn repos(app: &TestApp) -> Vec<(String, String, Option<i64>)> {
    sqlx::query_as(
        "SELECT repo_owner || '/' || repo_name, default_branch, github_installation_id
         FROM projects ORDER BY repo_name",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn import_links_the_good_rows_and_reports_each_bad_one_by_its_line() {
    let app = TestApp::spawn().await;
    app.create_project("linked-before").await;
    let file = TempFile::new(
        "csv",
        "repo,branch,installation\n\
         octo-org/app,main,42\n\
         not-a-repo,main,\n\
         octo-org/lib,,abc\n\
         octo-org/app,,\n\
         octo-org/bad name,,\n\
         octo-org/tools,develop,\n\
         octo-org/linked-before,,\n",
    );

    let output = run(hero(&app, &["project", "import", file.path()])).await;

    assert!(!output.status.success());
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(stdout.contains("linked 2 of 7 rows"), "{stdout}");
    assert!(
        stderr.contains("line 3: not-a-repo: repo: expected owner/name"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 4: octo-org/lib: installation:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 5: octo-org/app: repo: already on line 2"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 6: octo-org/bad name: repo_name:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 8: octo-org/linked-before: you already have a project"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("line 2:") && !stderr.contains("line 7:"),
        "{stderr}"
    );
    assert!(stderr.contains("5 of 7 rows failed"), "{stderr}");
    assert_eq!(
        repos(&app).await,
        [
            ("octo-org/app".to_owned(), "main".to_owned(), Some(42)),
            ("octo-org/linked-before".to_owned(), "main".to_owned(), None),
            ("octo-org/tools".to_owned(), "develop".to_owned(), None),
        ]
    );
}

#[tokio::test]
async fn import_of_json_lines_prints_each_row_and_a_summary_for_scripts() {
    let app = TestApp::spawn().await;
    let file = TempFile::new(
        "jsonl",
        "{\"repo\": \"octo-org/app\", \"installation\": 7}\n\
         {\"repo\": \"octo-org/lib\", \"default_branch\": \"dev\"}\n\
         \n\
         {\"repo\": \"octo-org/web\", \"branch\": \"trunk\"}\n",
    );

    let output = run(hero(&app, &["project", "import", "--json", file.path()])).await;

    assert!(!output.status.success());
    let lines = json_lines(&output.stdout);
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0]["event"], "row");
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[0]["status"], "linked");
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[1]["status"], "failed");
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .contains("default_branch"),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2]["line"], 4);
    assert_eq!(lines[2]["repo"], "octo-org/web");
    assert_eq!(
        lines[3],
        serde_json::json!({"event": "summary", "rows": 3, "linked": 2, "failed": 1})
    );
    let id = lines[2]["project_id"].as_str().unwrap();
    let project: Value = app
        .request(Method::GET, &format!("/v1/projects/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(project["default_branch"], "trunk");
}

#[tokio::test]
async fn a_clean_import_exits_with_success() {
    let app = TestApp::spawn().await;
    let file = TempFile::new("csv", "repo\nocto-org/one\nocto-org/two\n");

    let output = run(hero(&app, &["project", "import", file.path()])).await;

    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("linked 2 of 2 rows"));
    assert_eq!(repos(&app).await.len(), 2);
}

#[tokio::test]
async fn a_refused_token_stops_the_import_with_the_apis_message_and_is_never_printed() {
    let app = TestApp::spawn().await;
    let file = TempFile::new("csv", "repo\nocto-org/one\n");
    let token = "hero_not-a-real-token-0123456789";
    let mut command = hero(&app, &["project", "import", file.path()]);
    command.env("HERO_TOKEN", token);

    let output = run(command).await;

    assert!(!output.status.success());
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(
        stderr.contains("the token is not valid or was revoked"),
        "{stderr}"
    );
    assert!(!stdout.contains(token) && !stderr.contains(token));
    assert!(repos(&app).await.is_empty());
}

#[tokio::test]
async fn a_file_whose_header_cannot_be_used_links_nothing() {
    let app = TestApp::spawn().await;
    let file = TempFile::new("csv", "repository,branch\nocto-org/one,main\n");

    let output = run(hero(&app, &["project", "import", file.path()])).await;

    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("line 1: unknown column \"repository\""),
        "{stderr}"
    );
    assert!(repos(&app).await.is_empty());
}
