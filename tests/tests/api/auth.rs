use hero_tests::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn a_request_without_a_token_is_401_with_a_json_error() {
    let app = TestApp::spawn().await;

    let response = app
        .client
        .get(format!("{}/v1/projects", app.url))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Bearer")
    );
}

#[tokio::test]
async fn an_unknown_or_malformed_token_is_401() {
    let app = TestApp::spawn().await;

    for header in [
        "Bearer hero_not-a-real-token",
        "Bearer ",
        "Basic abc",
        "Token x",
    ] {
        let response = app
            .client
            .get(format!("{}/v1/projects", app.url))
            .header("authorization", header)
            .send()
            .await
            .unwrap();

        assert_eq!(response.status(), 401, "{header}");
    }
}

#[tokio::test]
async fn a_revoked_token_stops_working() {
    let app = TestApp::spawn().await;
    let before = app
        .request(Method::GET, "/v1/projects")
        .send()
        .await
        .unwrap();
    let tokens = app.stores.tokens.list(app.user.id).await.unwrap();

    assert!(app.stores.tokens.revoke(tokens[0].id).await.unwrap());
    let after = app
        .request(Method::GET, "/v1/projects")
        .send()
        .await
        .unwrap();

    assert_eq!(before.status(), 200);
    assert_eq!(after.status(), 401);
}

#[tokio::test]
async fn another_users_project_is_404_for_every_route_never_403() {
    let app = TestApp::spawn().await;
    let project = app.create_project("private").await;
    let (_, mallory) = app.other_user("mallory").await;

    let attempts = [
        (Method::GET, format!("/v1/projects/{project}"), None),
        (
            Method::PATCH,
            format!("/v1/projects/{project}"),
            Some(json!({"name": "mine"})),
        ),
        (Method::DELETE, format!("/v1/projects/{project}"), None),
        (Method::GET, format!("/v1/projects/{project}/secrets"), None),
        (
            Method::PUT,
            format!("/v1/projects/{project}/secrets/K"),
            Some(json!({"value": "v"})),
        ),
        (
            Method::GET,
            format!("/v1/projects/{project}/secrets/K"),
            None,
        ),
        (
            Method::DELETE,
            format!("/v1/projects/{project}/secrets/K"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/projects/{project}/secrets:import"),
            Some(json!({"secrets": [{"key": "K", "value": "v"}]})),
        ),
        (Method::GET, format!("/v1/projects/{project}/sandbox"), None),
        (
            Method::DELETE,
            format!("/v1/projects/{project}/sandbox"),
            None,
        ),
    ];
    for (method, path, body) in attempts {
        let mut request = app.request_as(&mallory, method.clone(), &path);
        if let Some(body) = body {
            request = request.json(&body);
        }

        let response = request.send().await.unwrap();

        assert_eq!(response.status(), 404, "{method} {path}");
    }
    let listed: Value = app
        .request_as(&mallory, Method::GET, "/v1/projects")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["projects"], json!([]));
    let still_there = app
        .request(Method::GET, &format!("/v1/projects/{project}"))
        .send()
        .await
        .unwrap();
    assert_eq!(still_there.status(), 200);
}
