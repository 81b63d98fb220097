//! No secret value or token reaches the logs, even at trace level.

use hero_tests::{TestApp, logs};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn secret_values_and_tokens_never_appear_in_logs() {
    let captured = logs::capture();
    let app = TestApp::spawn().await;
    let project = app.create_project("logged").await;
    let put_value = "canary-put-8c1f0b";
    let import_value = "canary-import-77ad3e";
    let bad_import_value = "canary-rejected-import-5b2c";

    app.request(
        Method::PUT,
        &format!("/v1/projects/{project}/secrets/PUT_KEY"),
    )
    .json(&json!({"value": put_value}))
    .send()
    .await
    .unwrap();
    app.request(
        Method::POST,
        &format!("/v1/projects/{project}/secrets:import"),
    )
    .json(&json!({"secrets": [{"key": "IMPORTED", "value": import_value}]}))
    .send()
    .await
    .unwrap();
    app.request(
        Method::POST,
        &format!("/v1/projects/{project}/secrets:import"),
    )
    .json(&json!({"secrets": [{"key": "bad key", "value": bad_import_value}]}))
    .send()
    .await
    .unwrap();
    app.request(Method::GET, &format!("/v1/projects/{project}/secrets"))
        .send()
        .await
        .unwrap();
    for key in ["PUT_KEY", "IMPORTED"] {
        let read = app
            .request(
                Method::GET,
                &format!("/v1/projects/{project}/secrets/{key}"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), 200);
    }

    let text = captured.text();
    assert!(text.contains("secret read"), "the capture saw the requests");
    for needle in [
        put_value,
        import_value,
        bad_import_value,
        &app.token,
        &app.key_hex,
    ] {
        assert!(!text.contains(needle), "{needle} appeared in the logs");
    }
}
