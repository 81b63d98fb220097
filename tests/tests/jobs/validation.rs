//! Job requests Hero cannot honour get a 422 whose message names the
//! field: a job of an unknown kind or with params that do not fit it
//! (and nothing is recorded), a listing with a bad filter, a wait longer
//! than the API holds a request.

use hero_tests::hero_env::HeroEnv;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

async fn answer(request: RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn post_job(env: &HeroEnv, project: &str, body: Value) -> (u16, Value) {
    let path = format!("/v1/projects/{project}/jobs");
    answer(env.app.request(Method::POST, &path).json(&body)).await
}

#[track_caller]
fn assert_names_field(status: u16, body: &Value, field: &str) {
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid_field", "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(&format!("{field}:")),
        "{message:?} should name {field}"
    );
}

async fn recorded(env: &HeroEnv, project: &str) -> Value {
    env.get(&format!("/v1/projects/{project}/jobs")).await["jobs"].clone()
}

#[tokio::test]
async fn an_unknown_kind_is_422_naming_kind() {
    let env = HeroEnv::api_only(&[]).await;
    let project = env.app.create_project("kinds").await;

    let (status, body) = post_job(&env, &project, json!({"kind": "format_disk"})).await;

    assert_names_field(status, &body, "kind");
    assert_eq!(recorded(&env, &project).await, json!([]));
}

#[tokio::test]
async fn params_that_do_not_fit_the_kind_are_422_naming_the_param() {
    let env = HeroEnv::api_only(&[]).await;
    let project = env.app.create_project("params").await;
    let cases = [
        (
            json!({"kind": "run_tool", "params": {"tool": "read_file", "path": "a", "start_line": "one"}}),
            "params.start_line",
        ),
        (
            json!({"kind": "run_tool", "params": {"tool": "edit_file", "path": "a", "edits": [{"find": 1, "replace": "x"}]}}),
            "params.edits[0].find",
        ),
        (
            json!({"kind": "hydrate", "params": {"branch": "a..b"}}),
            "params.branch",
        ),
        (
            json!({"kind": "submit_pr", "params": {"title": " ", "branch": "feature"}}),
            "params.title",
        ),
        (
            json!({"kind": "sync", "params": {"action": "commit_and_push", "message": "m", "branch": "-f"}}),
            "params.branch",
        ),
    ];

    for (body, field) in cases {
        let (status, answer) = post_job(&env, &project, body).await;
        assert_names_field(status, &answer, field);
    }
    assert_eq!(recorded(&env, &project).await, json!([]));
}

#[tokio::test]
async fn a_listing_with_a_bad_filter_is_422_naming_it() {
    let env = HeroEnv::api_only(&[]).await;
    let project = env.app.create_project("filters").await;

    for (query, field) in [
        ("status=lost", "status"),
        ("kind=format_disk", "kind"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
    ] {
        let path = format!("/v1/projects/{project}/jobs?{query}");
        let (status, body) = answer(env.app.request(Method::GET, &path)).await;
        assert_names_field(status, &body, field);
    }
}

#[tokio::test]
async fn a_wait_over_a_minute_is_422_naming_wait() {
    let env = HeroEnv::api_only(&[]).await;
    let project = env.app.create_project("patient").await;
    let job = env
        .enqueue(&project, "run_tool", json!({"tool": "list_files"}))
        .await;

    let path = format!("/v1/jobs/{job}?wait=61");
    let (status, body) = answer(env.app.request(Method::GET, &path)).await;

    assert_names_field(status, &body, "wait");
}
