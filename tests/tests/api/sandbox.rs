//! `GET` and `DELETE /v1/projects/{id}/sandbox`: the sandbox rows are
//! written with SQL as the workers would leave them, since the API never
//! creates a sandbox itself.

use hero_tests::TestApp;
use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

const HOLDER: &str = "worker-b7e1:job-canary-holder";
const FENCING_TOKEN: i64 = 918_273_645;

/// A sandbox row as a worker would have written it.
struct Row<'a> {
    state: &'a str,
    /// Seconds until the lease expires: negative for an expired lease,
    /// `None` for no lease at all.
    lease_for: Option<i64>,
}

impl Row<'_> {
    async fn insert(&self, app: &TestApp, project: &str, slot: i32) -> Uuid {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO sandboxes (id, project_id, provider, provider_id, state, slot,
                                    hydrated_commit, lease_holder, fencing_token,
                                    lease_expires_at, closed_at)
             VALUES ($1, $2::uuid, 'local', $3, $4, $5, 'c0ffee1', $6, $7,
                     now() + $8 * interval '1 second',
                     CASE WHEN $4 = 'closed' THEN now() END)",
        )
        .bind(id)
        .bind(project)
        .bind(format!("local-{id}"))
        .bind(self.state)
        .bind(slot)
        .bind(self.lease_for.map(|_| HOLDER))
        .bind(FENCING_TOKEN)
        .bind(self.lease_for)
        .execute(&app.db.pool)
        .await
        .unwrap();
        id
    }
}

fn unleased(state: &str) -> Row<'_> {
    Row {
        state,
        lease_for: None,
    }
}

async fn call(app: &TestApp, method: Method, project: &str) -> (u16, Value) {
    let response = app
        .request(method, &format!("/v1/projects/{project}/sandbox"))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn close_requested_at(app: &TestApp, row: Uuid) -> Option<chrono::DateTime<chrono::Utc>> {
    sqlx::query_scalar("SELECT close_requested_at FROM sandboxes WHERE id = $1")
        .bind(row)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

#[track_caller]
fn assert_no_sandbox(status: u16, body: &Value, project: &str) {
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "no_sandbox", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(project), "{message}");
    assert!(message.contains("no live sandbox"), "{message}");
}

#[tokio::test]
async fn a_project_without_a_sandbox_is_404_no_sandbox_for_get_and_delete() {
    let app = TestApp::spawn().await;
    let project = app.create_project("r").await;

    let (get_status, get_body) = call(&app, Method::GET, &project).await;
    let (delete_status, delete_body) = call(&app, Method::DELETE, &project).await;

    assert_no_sandbox(get_status, &get_body, &project);
    assert_no_sandbox(delete_status, &delete_body, &project);
}

#[tokio::test]
async fn closed_and_failed_sandboxes_are_not_live() {
    let app = TestApp::spawn().await;
    let project = app.create_project("r").await;
    let closed = unleased("closed").insert(&app, &project, 0).await;
    let failed = unleased("failed").insert(&app, &project, 1).await;

    let (get_status, get_body) = call(&app, Method::GET, &project).await;
    let (delete_status, delete_body) = call(&app, Method::DELETE, &project).await;

    assert_no_sandbox(get_status, &get_body, &project);
    assert_no_sandbox(delete_status, &delete_body, &project);
    assert_eq!(close_requested_at(&app, closed).await, None);
    assert_eq!(close_requested_at(&app, failed).await, None);
}

#[tokio::test]
async fn each_live_state_is_shown_with_the_sandboxs_details() {
    let app = TestApp::spawn().await;
    for (slot, state) in [(0, "starting"), (1, "ready"), (2, "closing")] {
        let project = app.create_project(state).await;
        let row = unleased(state).insert(&app, &project, slot).await;

        let (status, body) = call(&app, Method::GET, &project).await;

        assert_eq!(status, 200, "{body}");
        assert_eq!(body["id"], row.to_string());
        assert_eq!(body["project_id"], project);
        assert_eq!(body["state"], state);
        assert_eq!(body["provider"], "local");
        assert_eq!(body["provider_sandbox_id"], format!("local-{row}"));
        assert_eq!(body["hydrated_commit"], "c0ffee1");
        assert!(body["created_at"].is_string(), "{body}");
        assert!(body["last_active_at"].is_string(), "{body}");
        assert_eq!(body["leased"], false);
        assert_eq!(body["leased_until"], Value::Null);
        assert_eq!(body["close_requested_at"], Value::Null);
    }
}

#[tokio::test]
async fn the_live_sandbox_is_shown_rather_than_an_older_closed_one() {
    let app = TestApp::spawn().await;
    let project = app.create_project("r").await;
    let old = unleased("closed").insert(&app, &project, 0).await;
    let live = unleased("ready").insert(&app, &project, 1).await;

    let (status, body) = call(&app, Method::GET, &project).await;
    let (_, closing) = call(&app, Method::DELETE, &project).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], live.to_string());
    assert_eq!(closing["id"], live.to_string());
    assert_eq!(close_requested_at(&app, old).await, None);
}

#[tokio::test]
async fn a_leased_sandbox_says_until_when_but_never_who_holds_it_or_its_fencing_token() {
    let app = TestApp::spawn().await;
    let held = app.create_project("held").await;
    let lapsed = app.create_project("lapsed").await;
    let lease = Row {
        state: "ready",
        lease_for: Some(60),
    };
    let expired = Row {
        state: "ready",
        lease_for: Some(-60),
    };
    lease.insert(&app, &held, 0).await;
    expired.insert(&app, &lapsed, 1).await;

    let (_, held_body) = call(&app, Method::GET, &held).await;
    let (_, lapsed_body) = call(&app, Method::GET, &lapsed).await;
    let (_, closed_body) = call(&app, Method::DELETE, &held).await;

    assert_eq!(held_body["leased"], true);
    assert!(held_body["leased_until"].is_string(), "{held_body}");
    assert_eq!(
        lapsed_body["leased"], false,
        "an expired lease holds nothing"
    );
    assert_eq!(lapsed_body["leased_until"], Value::Null);
    for body in [&held_body, &lapsed_body, &closed_body] {
        let text = body.to_string();
        assert!(!text.contains(&FENCING_TOKEN.to_string()), "{text}");
        assert!(!text.contains("canary-holder"), "{text}");
        assert!(!text.contains("fencing"), "{text}");
        assert!(!text.contains("holder"), "{text}");
    }
}

#[tokio::test]
async fn delete_records_a_close_request_and_a_second_delete_keeps_the_first() {
    let app = TestApp::spawn().await;
    let project = app.create_project("r").await;
    let row = Row {
        state: "ready",
        lease_for: Some(60),
    }
    .insert(&app, &project, 0)
    .await;

    let (first_status, first) = call(&app, Method::DELETE, &project).await;
    let (second_status, second) = call(&app, Method::DELETE, &project).await;
    let (_, shown) = call(&app, Method::GET, &project).await;

    assert_eq!(first_status, 202, "{first}");
    assert_eq!(second_status, 202, "{second}");
    assert_eq!(first["id"], row.to_string());
    assert_eq!(first["state"], "ready", "the API closes nothing itself");
    assert_eq!(first["leased"], true);
    assert!(first["close_requested_at"].is_string(), "{first}");
    assert_eq!(second["close_requested_at"], first["close_requested_at"]);
    assert_eq!(shown, second);
    assert!(close_requested_at(&app, row).await.is_some());
}

#[tokio::test]
async fn another_users_project_sandbox_is_404_and_is_not_asked_to_close() {
    let app = TestApp::spawn().await;
    let project = app.create_project("private").await;
    let row = unleased("ready").insert(&app, &project, 0).await;
    let (_, mallory) = app.other_user("mallory").await;

    for method in [Method::GET, Method::DELETE] {
        let response = app
            .request_as(
                &mallory,
                method.clone(),
                &format!("/v1/projects/{project}/sandbox"),
            )
            .send()
            .await
            .unwrap();

        assert_eq!(response.status(), 404, "{method}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["error"]["code"], "not_found",
            "{method} must not tell whether the project has a sandbox"
        );
    }
    assert_eq!(close_requested_at(&app, row).await, None);
}

#[tokio::test]
async fn the_openapi_document_says_a_leased_sandbox_closes_after_its_release() {
    let app = TestApp::spawn().await;

    let doc: Value = app
        .request(Method::GET, "/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let path = &doc["paths"]["/v1/projects/{id}/sandbox"];
    assert_eq!(path["get"]["tags"][0], "sandboxes");
    assert_eq!(path["delete"]["tags"][0], "sandboxes");
    assert!(path["delete"]["responses"]["202"].is_object(), "{path}");
    let description = path["delete"]["description"].as_str().unwrap();
    let description = description.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        description.contains("after its lease is released"),
        "{description}"
    );
    let schema = &doc["components"]["schemas"]["SandboxRecord"]["properties"];
    for field in ["leased", "leased_until", "close_requested_at", "state"] {
        assert!(schema[field].is_object(), "SandboxRecord.{field} missing");
    }
    assert!(schema["fencing_token"].is_null());
    assert!(schema["lease_holder"].is_null());
}
