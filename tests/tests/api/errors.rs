//! Bad input of every shape gets a 4xx JSON error that names the problem.

use hero_tests::TestApp;
use reqwest::Method;
use serde_json::Value;

#[track_caller]
fn assert_error(status: u16, body: &Value, expected_status: u16, code: &str, mentions: &str) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(mentions),
        "{message:?} should mention {mentions:?}"
    );
}

async fn send_raw(app: &TestApp, method: Method, path: &str, body: &str) -> (u16, Value) {
    let response = app
        .request(method, path)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = TestApp::spawn().await;

    let (status, body) = send_raw(&app, Method::POST, "/v1/projects", "{\"repo_owner\": ").await;

    assert_error(status, &body, 400, "malformed_json", "");
}

#[tokio::test]
async fn unknown_fields_are_422_and_named() {
    let app = TestApp::spawn().await;

    let (status, body) = send_raw(
        &app,
        Method::POST,
        "/v1/projects",
        r#"{"repo_owner":"a","repo_name":"b","colour":"red"}"#,
    )
    .await;

    assert_error(status, &body, 422, "invalid_body", "colour");
}

#[tokio::test]
async fn wrong_types_and_missing_fields_are_422_and_named() {
    let app = TestApp::spawn().await;

    let (status, body) = send_raw(
        &app,
        Method::POST,
        "/v1/projects",
        r#"{"repo_owner":"a","repo_name":7}"#,
    )
    .await;
    assert_error(status, &body, 422, "invalid_body", "repo_name");

    let (status, body) =
        send_raw(&app, Method::POST, "/v1/projects", r#"{"repo_owner":"a"}"#).await;
    assert_error(status, &body, 422, "invalid_body", "repo_name");
}

#[tokio::test]
async fn a_body_without_json_content_type_is_415() {
    let app = TestApp::spawn().await;

    let response = app
        .request(Method::POST, "/v1/projects")
        .body(r#"{"repo_owner":"a","repo_name":"b"}"#)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 415);
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let app = TestApp::spawn_with(&[("HERO_MAX_BODY_BYTES", "4096")]).await;
    let project = app.create_project("big").await;
    let huge = format!(r#"{{"value":"{}"}}"#, "x".repeat(10_000));

    let (status, body) = send_raw(
        &app,
        Method::PUT,
        &format!("/v1/projects/{project}/secrets/BIG"),
        &huge,
    )
    .await;

    assert_error(status, &body, 413, "payload_too_large", "");
}

#[tokio::test]
async fn a_malformed_path_id_is_400_and_says_so() {
    let app = TestApp::spawn().await;

    let response = app
        .request(Method::GET, "/v1/projects/not-a-uuid")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();

    assert_error(status, &body, 400, "invalid_path", "UUID");
}

#[tokio::test]
async fn a_malformed_query_is_400() {
    let app = TestApp::spawn().await;

    let response = app
        .request(Method::GET, "/v1/projects?limit=lots")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let app = TestApp::spawn().await;

    let missing = app
        .request(Method::GET, "/v1/nothing-here")
        .send()
        .await
        .unwrap();
    let wrong = app
        .request(Method::PUT, "/v1/projects")
        .send()
        .await
        .unwrap();

    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["error"]["code"],
        "not_found"
    );
    assert_eq!(wrong.status(), 405);
    assert_eq!(
        wrong.json::<Value>().await.unwrap()["error"]["code"],
        "method_not_allowed"
    );
}
