//! Connecting a GitHub account through the API, against the fake GitHub.

use hero_tests::TestApp;
use hero_tests::fake_github::FakeGitHub;
use reqwest::Method;
use serde_json::{Value, json};

async fn app_with_github() -> (TestApp, FakeGitHub) {
    let github = FakeGitHub::start().await;
    let app = TestApp::spawn_with(&[
        ("GITHUB_CLIENT_ID", github.client_id.as_str()),
        ("GITHUB_CLIENT_SECRET", github.client_secret.as_str()),
        ("GITHUB_WEB_URL", github.url.as_str()),
    ])
    .await;
    (app, github)
}

async fn exchange(app: &TestApp, code: &str) -> (u16, Value) {
    let response = app
        .request(Method::POST, "/v1/github/oauth/exchange")
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_code_from_githubs_redirect_connects_the_account_and_the_tokens_are_sealed() {
    let (app, github) = app_with_github().await;
    let code = github.authorize("alice-gh", None);

    let (status, body) = exchange(&app, &code).await;
    let state: Value = app
        .request(Method::GET, "/v1/github/oauth")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!((status, &body["connected"]), (200, &json!(true)), "{body}");
    assert_eq!(state["connected"], true);
    let sealed: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT access_ciphertext FROM github_oauth_tokens")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(sealed.len(), 1);
    for token in github.issued_tokens() {
        assert!(
            !sealed[0]
                .windows(token.len())
                .any(|w| w == token.as_bytes())
        );
    }
}

#[tokio::test]
async fn a_wrong_code_is_a_400_naming_githubs_refusal() {
    let (app, _github) = app_with_github().await;

    let (status, body) = exchange(&app, "not-a-real-code").await;

    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "github_refused");
}

#[tokio::test]
async fn disconnecting_forgets_the_tokens() {
    let (app, github) = app_with_github().await;
    exchange(&app, &github.authorize("alice-gh", None)).await;

    let first = app
        .request(Method::DELETE, "/v1/github/oauth")
        .send()
        .await
        .unwrap();
    let second = app
        .request(Method::DELETE, "/v1/github/oauth")
        .send()
        .await
        .unwrap();

    assert_eq!(first.status(), 204);
    assert_eq!(second.status(), 404);
}

#[tokio::test]
async fn the_authorize_url_points_at_github_with_the_clients_id_and_state() {
    let (app, github) = app_with_github().await;

    let body: Value = app
        .request(
            Method::GET,
            "/v1/github/oauth/authorize_url?state=0123456789abcdef",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let url = body["url"].as_str().unwrap();
    assert!(url.starts_with(&github.url), "{url}");
    assert!(
        url.contains(&github.client_id) && url.contains("0123456789abcdef"),
        "{url}"
    );
}

#[tokio::test]
async fn without_github_sign_in_configured_the_routes_say_so() {
    let app = TestApp::spawn().await;

    let (status, body) = exchange(&app, "code").await;

    assert_eq!(status, 503);
    assert_eq!(body["error"]["code"], "not_configured");
}
