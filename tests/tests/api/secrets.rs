use hero_tests::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

async fn put(app: &TestApp, project: &str, key: &str, body: Value) -> (u16, Value) {
    let response = app
        .request(
            Method::PUT,
            &format!("/v1/projects/{project}/secrets/{key}"),
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    let response = app.request(Method::GET, path).send().await.unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

async fn import(app: &TestApp, project: &str, body: Value) -> (u16, Value) {
    let response = app
        .request(
            Method::POST,
            &format!("/v1/projects/{project}/secrets:import"),
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn put_creates_then_updates_and_keeps_the_description_when_left_out() {
    let app = TestApp::spawn().await;
    let project = app.create_project("r").await;

    let (created, first) = put(
        &app,
        &project,
        "API_KEY",
        json!({"value": "v1", "description": "Stripe"}),
    )
    .await;
    let (updated, second) = put(&app, &project, "API_KEY", json!({"value": "v2"})).await;
    let (_, value) = get(&app, &format!("/v1/projects/{project}/secrets/API_KEY")).await;

    assert_eq!(created, 201);
    assert_eq!(updated, 200);
    assert_eq!(first["key"], "API_KEY");
    assert_eq!(second["description"], "Stripe");
    assert!(first.get("value").is_none());
    assert_eq!(value["value"], "v2");
    assert_eq!(value["description"], "Stripe");
}

#[tokio::test]
async fn listing_returns_metadata_only() {
    let app = TestApp::spawn().await;
    let project = app.create_project("r").await;
    put(&app, &project, "B_KEY", json!({"value": "value-b-123"})).await;
    put(
        &app,
        &project,
        "A_KEY",
        json!({"value": "value-a-123", "description": "first"}),
    )
    .await;

    let response = app
        .request(Method::GET, &format!("/v1/projects/{project}/secrets"))
        .send()
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    let list: Value = serde_json::from_str(&text).unwrap();

    let keys: Vec<&str> = list["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["A_KEY", "B_KEY"]);
    assert!(!text.contains("value-a-123") && !text.contains("value-b-123"));
    assert!(!text.contains("\"value\""));
}

#[tokio::test]
async fn reading_a_value_is_audited_and_not_cached() {
    let app = TestApp::spawn().await;
    let project = app.create_project("r").await;
    put(&app, &project, "DB_PASSWORD", json!({"value": "pw"})).await;

    let response = app
        .request(
            Method::GET,
            &format!("/v1/projects/{project}/secrets/DB_PASSWORD"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.json::<Value>().await.unwrap()["value"], "pw");

    let audit = app
        .stores
        .audit
        .for_project(project.parse().unwrap())
        .await
        .unwrap();
    let reads: Vec<_> = audit.iter().filter(|e| e.action == "secret.read").collect();
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].subject.as_deref(), Some("DB_PASSWORD"));
    assert_eq!(reads[0].actor_id, Some(app.user.id));
}

#[tokio::test]
async fn a_missing_secret_is_404_and_its_read_is_not_audited() {
    let app = TestApp::spawn().await;
    let project = app.create_project("r").await;

    let (status, body) = get(&app, &format!("/v1/projects/{project}/secrets/NOPE")).await;

    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    let audit = app
        .stores
        .audit
        .for_project(project.parse().unwrap())
        .await
        .unwrap();
    assert!(audit.iter().all(|e| e.action != "secret.read"));
}

#[tokio::test]
async fn deleting_a_secret_removes_it() {
    let app = TestApp::spawn().await;
    let project = app.create_project("r").await;
    put(&app, &project, "GONE", json!({"value": "x"})).await;
    let path = format!("/v1/projects/{project}/secrets/GONE");

    let first = app.request(Method::DELETE, &path).send().await.unwrap();
    let second = app.request(Method::DELETE, &path).send().await.unwrap();
    let (status, _) = get(&app, &path).await;

    assert_eq!(first.status(), 204);
    assert_eq!(second.status(), 404);
    assert_eq!(status, 404);
}

#[tokio::test]
async fn invalid_keys_values_and_descriptions_are_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let project = app.create_project("r").await;
    let big = "x".repeat(64 * 1024 + 1);
    let long_description = "d".repeat(1001);
    let cases = [
        ("1STARTS_WITH_DIGIT", json!({"value": "v"}), "key"),
        ("HAS-DASH", json!({"value": "v"}), "key"),
        ("PATH", json!({"value": "v"}), "key"),
        ("GIT_ASKPASS", json!({"value": "v"}), "key"),
        ("BIG", json!({"value": big}), "value"),
        ("NUL", json!({"value": "a\u{0}b"}), "value"),
        (
            "DESC",
            json!({"value": "v", "description": long_description}),
            "description",
        ),
    ];
    for (key, body, field) in cases {
        let (status, error) = put(&app, &project, key, body).await;

        assert_eq!(status, 422, "{key}");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{error} should name {field}"
        );
    }
    let (_, list) = get(&app, &format!("/v1/projects/{project}/secrets")).await;
    assert_eq!(list["secrets"], json!([]));
}

#[tokio::test]
async fn an_import_stores_every_secret() {
    let app = TestApp::spawn().await;
    let project = app.create_project("r").await;
    put(&app, &project, "EXISTING", json!({"value": "old"})).await;

    let (status, body) = import(
        &app,
        &project,
        json!({"secrets": [
            {"key": "EXISTING", "value": "new"},
            {"key": "FRESH", "value": "f", "description": "brand new"},
        ]}),
    )
    .await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["secrets"].as_array().unwrap().len(), 2);
    let (_, existing) = get(&app, &format!("/v1/projects/{project}/secrets/EXISTING")).await;
    let (_, fresh) = get(&app, &format!("/v1/projects/{project}/secrets/FRESH")).await;
    assert_eq!(existing["value"], "new");
    assert_eq!(fresh["value"], "f");
}

#[tokio::test]
async fn an_import_with_one_invalid_key_stores_nothing_and_names_the_key() {
    let app = TestApp::spawn().await;
    let project = app.create_project("r").await;
    put(&app, &project, "KEEP", json!({"value": "original"})).await;

    let (status, body) = import(
        &app,
        &project,
        json!({"secrets": [
            {"key": "KEEP", "value": "overwritten?"},
            {"key": "GOOD", "value": "g"},
            {"key": "BAD KEY", "value": "b"},
        ]}),
    )
    .await;

    assert_eq!(status, 422);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("secrets[2].key"), "{message}");
    assert!(message.contains("BAD KEY"), "{message}");
    let (_, list) = get(&app, &format!("/v1/projects/{project}/secrets")).await;
    assert_eq!(list["secrets"].as_array().unwrap().len(), 1);
    let (_, kept) = get(&app, &format!("/v1/projects/{project}/secrets/KEEP")).await;
    assert_eq!(kept["value"], "original");
}

#[tokio::test]
async fn an_import_that_repeats_a_key_or_is_empty_is_refused() {
    let app = TestApp::spawn().await;
    let project = app.create_project("r").await;

    let (repeated, body) = import(
        &app,
        &project,
        json!({"secrets": [{"key": "A", "value": "1"}, {"key": "A", "value": "2"}]}),
    )
    .await;
    let (empty, _) = import(&app, &project, json!({"secrets": []})).await;

    assert_eq!(repeated, 422);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("secrets[1].key")
    );
    assert_eq!(empty, 422);
}

#[tokio::test]
async fn the_secrets_table_holds_no_plaintext() {
    let app = TestApp::spawn().await;
    let project = app.create_project("r").await;
    let value = "plaintext-canary-4f1d2e";
    put(
        &app,
        &project,
        "CANARY",
        json!({"value": value, "description": "d"}),
    )
    .await;
    import(
        &app,
        &project,
        json!({"secrets": [{"key": "CANARY2", "value": value}]}),
    )
    .await;

    let dump: Vec<String> = sqlx::query_scalar(
        "SELECT concat_ws('|', encode(ciphertext, 'escape'), encode(ciphertext, 'hex'), encode(nonce, 'escape')) FROM project_secrets",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    let audit: Vec<String> =
        sqlx::query_scalar("SELECT concat_ws('|', subject, details::text) FROM audit_log")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();

    assert_eq!(dump.len(), 2);
    let hex_value = hex::encode(value);
    for row in dump.iter().chain(&audit) {
        assert!(!row.contains(value) && !row.contains(&hex_value), "{row}");
    }
}
