use hero_tests::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

async fn post(app: &TestApp, body: Value) -> (u16, Value) {
    let response = app
        .request(Method::POST, "/v1/projects")
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn linking_a_repository_fills_in_defaults() {
    let app = TestApp::spawn().await;

    let (status, project) = post(
        &app,
        json!({"repo_owner": "octo-org", "repo_name": "hello.world"}),
    )
    .await;

    assert_eq!(status, 201);
    assert_eq!(project["name"], "octo-org/hello.world");
    assert_eq!(project["default_branch"], "main");
    assert_eq!(project["use_cloud_sandbox"], false);
    assert_eq!(project["allow_default_branch_push"], false);
    assert_eq!(project["github_installation_id"], Value::Null);
    assert_eq!(project["owner_id"], app.user.id.to_string());
    assert_eq!(
        project["webhook_triggers"],
        json!({"hydrate_on_push": true, "close_sandbox_on_pr_close": false, "commands": [], "labels": []})
    );
}

#[tokio::test]
async fn every_field_can_be_given_on_create_and_read_back() {
    let app = TestApp::spawn().await;
    let (_, created) = post(
        &app,
        json!({
            "name": "Shop", "repo_owner": "acme", "repo_name": "shop",
            "default_branch": "release/2026", "github_installation_id": 42,
            "use_cloud_sandbox": true, "allow_default_branch_push": true,
            "webhook_triggers": {
                "hydrate_on_push": false, "close_sandbox_on_pr_close": true,
                "commands": [{"command": "/hero", "job": {"kind": "sync", "params": {"action": "status"}}}],
                "labels": [{"label": "hero", "job": {"kind": "hydrate"}}],
            }
        }),
    )
    .await;

    let fetched: Value = app
        .request(
            Method::GET,
            &format!("/v1/projects/{}", created["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(fetched, created);
    assert_eq!(fetched["default_branch"], "release/2026");
    assert_eq!(fetched["github_installation_id"], 42);
    assert_eq!(fetched["allow_default_branch_push"], true);
    let triggers = &fetched["webhook_triggers"];
    assert_eq!(triggers["hydrate_on_push"], false);
    assert_eq!(triggers["close_sandbox_on_pr_close"], true);
    assert_eq!(
        triggers["commands"][0]["job"]["params"],
        json!({"action": "status"})
    );
    assert_eq!(
        triggers["labels"][0]["job"],
        json!({"kind": "hydrate", "params": {}})
    );
}

#[tokio::test]
async fn invalid_names_and_branches_are_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            json!({"repo_owner": "-bad", "repo_name": "r"}),
            "repo_owner",
        ),
        (json!({"repo_owner": "o", "repo_name": "a/b"}), "repo_name"),
        (json!({"repo_owner": "o", "repo_name": ".."}), "repo_name"),
        (
            json!({"repo_owner": "o", "repo_name": "r", "default_branch": "-x"}),
            "default_branch",
        ),
        (
            json!({"repo_owner": "o", "repo_name": "r", "default_branch": "a..b"}),
            "default_branch",
        ),
        (
            json!({"repo_owner": "o", "repo_name": "r", "default_branch": "x.lock"}),
            "default_branch",
        ),
        (
            json!({"repo_owner": "o", "repo_name": "r", "github_installation_id": 0}),
            "github_installation_id",
        ),
        (
            json!({"repo_owner": "o", "repo_name": "r", "name": "  "}),
            "name",
        ),
        (
            json!({"repo_owner": "o", "repo_name": "r", "webhook_triggers": {"commands": [
                {"command": "/hero", "job": {"kind": "hydrate", "params": {"branch": "a..b"}}},
            ]}}),
            "webhook_triggers.commands[0].job.params.branch",
        ),
        (
            json!({"repo_owner": "o", "repo_name": "r", "webhook_triggers": {"commands": [
                {"command": "/hero", "job": {"kind": "submit_pr", "params": {"branch": "b"}}},
            ]}}),
            "webhook_triggers.commands[0].job.params",
        ),
        (
            json!({"repo_owner": "o", "repo_name": "r", "webhook_triggers": {"labels": [
                {"label": " ", "job": {"kind": "hydrate"}},
            ]}}),
            "webhook_triggers.labels[0].label",
        ),
    ];
    for (body, field) in cases {
        let (status, error) = post(&app, body.clone()).await;

        assert_eq!(status, 422, "{body}");
        assert_eq!(error["error"]["code"], "invalid_field");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{error} should name {field}"
        );
    }
}

#[tokio::test]
async fn a_duplicate_project_name_is_409() {
    let app = TestApp::spawn().await;
    post(&app, json!({"repo_owner": "o", "repo_name": "r"})).await;

    let (status, error) = post(&app, json!({"repo_owner": "o", "repo_name": "r"})).await;

    assert_eq!(status, 409);
    assert!(error["error"]["message"].as_str().unwrap().contains("o/r"));
}

#[tokio::test]
async fn projects_are_listed_a_page_at_a_time_in_creation_order() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.create_project(&format!("repo{i}")).await);
    }

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(after) => format!("/v1/projects?limit=2&after={after}"),
            None => "/v1/projects?limit=2".to_owned(),
        };
        let page: Value = app
            .request(Method::GET, &path)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for project in page["projects"].as_array().unwrap() {
            seen.push(project["id"].as_str().unwrap().to_owned());
        }
        match page["next_after"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }

    assert_eq!(seen, ids);
}

#[tokio::test]
async fn a_page_size_out_of_range_is_422() {
    let app = TestApp::spawn().await;

    let response = app
        .request(Method::GET, "/v1/projects?limit=0")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn patch_changes_only_the_given_fields_and_null_unlinks_the_installation() {
    let app = TestApp::spawn().await;
    let (_, created) = post(
        &app,
        json!({"repo_owner": "o", "repo_name": "r", "github_installation_id": 7}),
    )
    .await;
    let path = format!("/v1/projects/{}", created["id"].as_str().unwrap());

    let renamed: Value = app
        .request(Method::PATCH, &path)
        .json(&json!({"name": "renamed", "default_branch": "develop"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let unlinked: Value = app
        .request(Method::PATCH, &path)
        .json(&json!({"github_installation_id": null}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(renamed["name"], "renamed");
    assert_eq!(renamed["default_branch"], "develop");
    assert_eq!(renamed["github_installation_id"], 7);
    assert_eq!(renamed["repo_name"], "r");
    assert_eq!(unlinked["github_installation_id"], Value::Null);
    assert_eq!(unlinked["name"], "renamed");
}

#[tokio::test]
async fn patch_validates_like_create() {
    let app = TestApp::spawn().await;
    let id = app.create_project("r").await;

    let response = app
        .request(Method::PATCH, &format!("/v1/projects/{id}"))
        .json(&json!({"default_branch": "bad branch"}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn deleting_a_project_removes_it_and_its_secrets() {
    let app = TestApp::spawn().await;
    let id = app.create_project("r").await;
    app.request(Method::PUT, &format!("/v1/projects/{id}/secrets/TOKEN"))
        .json(&json!({"value": "v"}))
        .send()
        .await
        .unwrap();

    let deleted = app
        .request(Method::DELETE, &format!("/v1/projects/{id}"))
        .send()
        .await
        .unwrap();
    let again = app
        .request(Method::DELETE, &format!("/v1/projects/{id}"))
        .send()
        .await
        .unwrap();
    let fetched = app
        .request(Method::GET, &format!("/v1/projects/{id}"))
        .send()
        .await
        .unwrap();

    assert_eq!(deleted.status(), 204);
    assert_eq!(again.status(), 404);
    assert_eq!(fetched.status(), 404);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM project_secrets")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn a_trigger_of_an_unknown_job_kind_is_422_naming_the_field() {
    let app = TestApp::spawn().await;

    let (status, error) = post(
        &app,
        json!({"repo_owner": "o", "repo_name": "r", "webhook_triggers": {
            "labels": [{"label": "hero", "job": {"kind": "format_disk"}}],
        }}),
    )
    .await;

    assert_eq!(status, 422);
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("webhook_triggers.labels[0].job.kind"),
        "{message}"
    );
    assert!(message.contains("format_disk"), "{message}");
}

#[tokio::test]
async fn patch_replaces_the_webhook_triggers_and_leaves_them_when_left_out() {
    let app = TestApp::spawn().await;
    let id = app.create_project("r").await;
    let path = format!("/v1/projects/{id}");

    let changed: Value = app
        .request(Method::PATCH, &path)
        .json(&json!({"webhook_triggers": {"labels": [{"label": "hero", "job": {"kind": "hydrate"}}]}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let renamed: Value = app
        .request(Method::PATCH, &path)
        .json(&json!({"name": "renamed"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refused = app
        .request(Method::PATCH, &path)
        .json(&json!({"webhook_triggers": {"commands": [{"command": "two words", "job": {"kind": "hydrate"}}]}}))
        .send()
        .await
        .unwrap();

    assert_eq!(changed["webhook_triggers"]["labels"][0]["label"], "hero");
    assert_eq!(changed["webhook_triggers"]["hydrate_on_push"], true);
    assert_eq!(renamed["webhook_triggers"], changed["webhook_triggers"]);
    assert_eq!(refused.status(), 422);
    let error: Value = refused.json().await.unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("webhook_triggers.commands[0].command"),
        "{error}"
    );
}

#[tokio::test]
async fn patch_allows_and_forbids_pushing_to_the_default_branch_and_leaves_it_when_left_out() {
    let app = TestApp::spawn().await;
    let id = app.create_project("r").await;
    let path = format!("/v1/projects/{id}");
    let patch = |body: Value| {
        let request = app.request(Method::PATCH, &path).json(&body);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };

    let allowed = patch(json!({"allow_default_branch_push": true})).await;
    let renamed = patch(json!({"name": "renamed"})).await;
    let forbidden = patch(json!({"allow_default_branch_push": false})).await;

    assert_eq!(allowed["allow_default_branch_push"], true);
    assert_eq!(renamed["allow_default_branch_push"], true);
    assert_eq!(forbidden["allow_default_branch_push"], false);
    let stored: bool =
        sqlx::query_scalar("SELECT allow_default_branch_push FROM projects WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert!(!stored);
}

#[tokio::test]
async fn allow_default_branch_push_that_is_not_a_boolean_is_422_naming_it() {
    let app = TestApp::spawn().await;
    let id = app.create_project("r").await;

    let (created_status, created) = post(
        &app,
        json!({"repo_owner": "o", "repo_name": "r", "allow_default_branch_push": "yes"}),
    )
    .await;
    let patched = app
        .request(Method::PATCH, &format!("/v1/projects/{id}"))
        .json(&json!({"allow_default_branch_push": 1}))
        .send()
        .await
        .unwrap();

    assert_eq!(created_status, 422, "{created}");
    assert_eq!(created["error"]["code"], "invalid_body");
    let message = created["error"]["message"].as_str().unwrap();
    assert!(message.contains("allow_default_branch_push"), "{message}");
    assert_eq!(patched.status(), 422);
    let body: Value = patched.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("allow_default_branch_push"),
        "{body}"
    );
}
