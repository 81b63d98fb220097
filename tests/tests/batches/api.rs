//! `/v1/batches` over HTTP.

use hero_common::jobs::JobStatus;
use hero_common::jobs::Outcome;
use hero_tests::TestApp;
use hero_tests::job_runner::{JobRunner, failure};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{batch_jobs, projects, status};

fn runner(app: &TestApp) -> JobRunner {
    JobRunner::new(app.db.pool.clone(), app.stores.jobs.clone())
}

async fn create(app: &TestApp, body: Value) -> (u16, Value) {
    let response = app
        .request(Method::POST, "/v1/batches")
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    let response = app.request(Method::GET, path).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn id(body: &Value) -> Uuid {
    body["id"].as_str().unwrap().parse().unwrap()
}

async fn rows(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn one_request_makes_a_job_per_project_with_the_batch_id_in_the_given_order() {
    let app = TestApp::spawn().await;
    let mut fleet = projects(&app.stores, app.user.id, "fleet", 250).await;
    fleet.reverse();

    let (code, body) = create(
        &app,
        json!({"kind": "hydrate", "params": {"branch": "release"}, "projects": fleet}),
    )
    .await;

    assert_eq!(code, 202, "{body}");
    assert_eq!(body["kind"], "hydrate");
    assert_eq!(body["total"], 250);
    assert!(body["created_at"].is_string());
    let batch = id(&body);
    let jobs: Vec<(Uuid, String, Value)> = sqlx::query_as(
        "SELECT project_id, kind, params FROM jobs WHERE batch_id = $1 ORDER BY seq",
    )
    .bind(batch)
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    let in_order: Vec<Uuid> = jobs.iter().map(|(project, _, _)| *project).collect();
    assert_eq!(in_order, fleet);
    assert!(
        jobs.iter()
            .all(|(_, kind, params)| kind == "hydrate" && *params == json!({"branch": "release"}))
    );
    assert_eq!(rows(&app, "jobs").await, 250);
}

#[tokio::test]
async fn all_covers_every_project_of_the_caller_and_no_one_elses() {
    let app = TestApp::spawn().await;
    let mine = projects(&app.stores, app.user.id, "mine", 3).await;
    let (bob, _) = app.other_user("bob").await;
    projects(&app.stores, bob.id, "theirs", 2).await;

    let (code, body) = create(&app, json!({"kind": "hydrate", "all": true})).await;

    assert_eq!(code, 202, "{body}");
    assert_eq!(body["total"], 3);
    let mut covered: Vec<Uuid> =
        sqlx::query_scalar("SELECT project_id FROM jobs WHERE batch_id = $1")
            .bind(id(&body))
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    covered.sort();
    assert_eq!(covered, mine);
}

#[tokio::test]
async fn a_batch_naming_another_users_project_is_refused_with_its_id_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let mine = projects(&app.stores, app.user.id, "mine", 2).await;
    let (bob, _) = app.other_user("bob").await;
    let theirs = projects(&app.stores, bob.id, "theirs", 1).await[0];
    let missing = Uuid::now_v7();

    let (code, body) = create(
        &app,
        json!({"kind": "hydrate", "projects": [mine[0], theirs, mine[1], missing]}),
    )
    .await;

    assert_eq!(code, 422, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("projects: "), "{message}");
    assert!(message.contains(&theirs.to_string()), "{message}");
    assert!(message.contains(&missing.to_string()), "{message}");
    assert!(!message.contains(&mine[0].to_string()), "{message}");
    assert_eq!(rows(&app, "batches").await, 0);
    assert_eq!(rows(&app, "jobs").await, 0);
}

#[tokio::test]
async fn the_report_counts_jobs_by_status_and_lists_failures_with_their_repository() {
    let app = TestApp::spawn().await;
    let runner = runner(&app);
    let fleet = projects(&app.stores, app.user.id, "fleet", 4).await;
    let (_, body) = create(&app, json!({"kind": "hydrate", "projects": fleet})).await;
    let batch = id(&body);
    let jobs = batch_jobs(&app.db.pool, batch).await;

    runner
        .run(
            jobs[0],
            failure("git", "could not clone: repository not found"),
        )
        .await;
    runner
        .run(jobs[1], Outcome::Succeeded(json!({"commit": "abc"})))
        .await;
    let running = runner.start(jobs[2]).await;
    runner
        .run(jobs[3], failure("sandbox", "install failed"))
        .await;
    let (code, report) = get(&app, &format!("/v1/batches/{batch}")).await;

    assert_eq!(code, 200, "{report}");
    assert_eq!(
        report["counts"],
        json!({"queued": 0, "dispatched": 0, "running": 1, "succeeded": 1, "failed": 2, "cancelled": 0})
    );
    assert_eq!(report["total"], 4);
    assert!(report["started_at"].is_string());
    assert!(report["finished_at"].is_null());
    let failures = report["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 2);
    assert_eq!(failures[0]["job_id"], jobs[0].to_string());
    assert_eq!(failures[0]["project_id"], fleet[0].to_string());
    assert_eq!(failures[0]["repo"], "octo-org/fleet-0");
    assert_eq!(failures[0]["code"], "git");
    assert_eq!(
        failures[0]["message"],
        "could not clone: repository not found"
    );
    assert_eq!(failures[1]["code"], "sandbox");

    runner.finish(running, Outcome::Succeeded(json!({}))).await;
    let (_, done) = get(&app, &format!("/v1/batches/{batch}")).await;

    assert_eq!(done["counts"]["succeeded"], 2);
    assert!(done["finished_at"].is_string(), "{done}");
}

#[tokio::test]
async fn failures_come_a_page_at_a_time() {
    let app = TestApp::spawn().await;
    let runner = runner(&app);
    let fleet = projects(&app.stores, app.user.id, "fleet", 3).await;
    let (_, body) = create(&app, json!({"kind": "hydrate", "projects": fleet})).await;
    let batch = id(&body);
    let jobs = batch_jobs(&app.db.pool, batch).await;
    for job in &jobs {
        runner.run(*job, failure("git", "no such branch")).await;
    }

    let (_, first) = get(&app, &format!("/v1/batches/{batch}?failures_limit=2")).await;
    let after = first["next_failures_after"].as_str().unwrap();
    let (_, second) = get(
        &app,
        &format!("/v1/batches/{batch}?failures_limit=2&failures_after={after}"),
    )
    .await;
    let (_, none) = get(&app, &format!("/v1/batches/{batch}?failures_limit=0")).await;

    let ids = |page: &Value| -> Vec<String> {
        page["failures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["job_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&first), [jobs[0].to_string(), jobs[1].to_string()]);
    assert_eq!(ids(&second), [jobs[2].to_string()]);
    assert!(second["next_failures_after"].is_null());
    assert!(ids(&none).is_empty());
    assert_eq!(none["counts"]["failed"], 3);
}

#[tokio::test]
async fn cancelling_a_batch_ends_waiting_jobs_and_asks_running_ones_to_stop() {
    let app = TestApp::spawn().await;
    let runner = runner(&app);
    let fleet = projects(&app.stores, app.user.id, "fleet", 4).await;
    let (_, body) = create(&app, json!({"kind": "hydrate", "projects": fleet})).await;
    let batch = id(&body);
    let jobs = batch_jobs(&app.db.pool, batch).await;
    runner.run(jobs[0], Outcome::Succeeded(json!({}))).await;
    let running = runner.start(jobs[1]).await;

    let response = app
        .request(Method::POST, &format!("/v1/batches/{batch}/cancel"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["cancelled"], 2);
    assert_eq!(body["stopping"], 1);
    assert_eq!(body["batch"]["counts"]["cancelled"], 2);
    assert_eq!(status(&app.db.pool, jobs[0]).await, JobStatus::Succeeded);
    let stopping = app.stores.jobs.get(jobs[1]).await.unwrap().unwrap();
    assert_eq!(stopping.status, JobStatus::Running);
    assert!(stopping.cancel_requested);
    assert_eq!(status(&app.db.pool, jobs[2]).await, JobStatus::Cancelled);
    assert_eq!(status(&app.db.pool, jobs[3]).await, JobStatus::Cancelled);

    runner.finish(running, Outcome::Cancelled).await;
    let again = app
        .request(Method::POST, &format!("/v1/batches/{batch}/cancel"))
        .send()
        .await
        .unwrap();

    assert_eq!(again.status(), 409);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"]["code"], "batch_ended");
}

#[tokio::test]
async fn other_users_batches_are_not_found_and_not_listed() {
    let app = TestApp::spawn().await;
    let fleet = projects(&app.stores, app.user.id, "fleet", 2).await;
    let (_, body) = create(&app, json!({"kind": "hydrate", "projects": fleet})).await;
    let batch = id(&body);
    let (_, bob) = app.other_user("bob").await;

    let read = app
        .request_as(&bob, Method::GET, &format!("/v1/batches/{batch}"))
        .send()
        .await
        .unwrap();
    let cancel = app
        .request_as(&bob, Method::POST, &format!("/v1/batches/{batch}/cancel"))
        .send()
        .await
        .unwrap();
    let list: Value = app
        .request_as(&bob, Method::GET, "/v1/batches")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(read.status(), 404);
    assert_eq!(cancel.status(), 404);
    assert_eq!(list["batches"], json!([]));
    let untouched: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE batch_id = $1 AND status = 'cancelled'",
    )
    .bind(batch)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(untouched, 0);
}

#[tokio::test]
async fn the_same_idempotency_key_returns_the_same_batch_and_refuses_a_different_one() {
    let app = TestApp::spawn().await;
    let fleet = projects(&app.stores, app.user.id, "fleet", 3).await;
    let request = json!({"kind": "hydrate", "projects": fleet, "idempotency_key": "migrate-1"});
    let (_, first) = create(&app, request.clone()).await;

    let replay = app
        .request(Method::POST, "/v1/batches")
        .json(&request)
        .send()
        .await
        .unwrap();
    let (other_code, other) = create(
        &app,
        json!({"kind": "hydrate", "projects": [fleet[0]], "idempotency_key": "migrate-1"}),
    )
    .await;

    assert_eq!(replay.status(), 202);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let replayed: Value = replay.json().await.unwrap();
    assert_eq!(replayed["id"], first["id"]);
    assert_eq!(rows(&app, "jobs").await, 3);
    assert_eq!(other_code, 409, "{other}");
    assert!(
        other["error"]["message"]
            .as_str()
            .unwrap()
            .contains("idempotency_key")
    );
}

#[tokio::test]
async fn batches_are_listed_newest_first_a_page_at_a_time() {
    let app = TestApp::spawn().await;
    let fleet = projects(&app.stores, app.user.id, "fleet", 1).await;
    let mut created = Vec::new();
    for kind in ["hydrate", "sync", "hydrate"] {
        let params = if kind == "sync" {
            json!({"action": "status"})
        } else {
            json!({})
        };
        let (code, body) = create(
            &app,
            json!({"kind": kind, "params": params, "projects": fleet}),
        )
        .await;
        assert_eq!(code, 202, "{body}");
        created.push(body["id"].as_str().unwrap().to_owned());
    }

    let (_, first) = get(&app, "/v1/batches?limit=2").await;
    let before = first["next_before"].as_str().unwrap();
    let (_, second) = get(&app, &format!("/v1/batches?limit=2&before={before}")).await;

    let ids = |page: &Value| -> Vec<String> {
        page["batches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&first), [created[2].clone(), created[1].clone()]);
    assert_eq!(ids(&second), [created[0].clone()]);
    assert_eq!(first["batches"][1]["kind"], "sync");
    assert_eq!(first["batches"][0]["total"], 1);
    assert!(second["next_before"].is_null());
}

#[tokio::test]
async fn bad_batch_requests_get_a_4xx_that_names_the_problem() {
    let app = TestApp::spawn().await;
    let fleet = projects(&app.stores, app.user.id, "fleet", 1).await;
    let project = fleet[0].to_string();
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"kind": "deploy", "all": true}), 422, "kind:"),
        (
            json!({"kind": "hydrate", "params": {"branch": "a..b"}, "all": true}),
            422,
            "params.branch",
        ),
        (
            json!({"kind": "hydrate", "params": {"depth": 1}, "all": true}),
            422,
            "params",
        ),
        (
            json!({"kind": "sync", "params": {"action": "teleport"}, "all": true}),
            422,
            "params",
        ),
        (
            json!({"kind": "hydrate", "all": true, "projects": [project]}),
            422,
            "all:",
        ),
        (json!({"kind": "hydrate"}), 422, "projects:"),
        (json!({"kind": "hydrate", "projects": []}), 422, "projects:"),
        (
            json!({"kind": "hydrate", "projects": [project, project]}),
            422,
            "more than once",
        ),
        (
            json!({"kind": "hydrate", "projects": ["not-a-uuid"]}),
            422,
            "projects",
        ),
        (json!({"kind": "hydrate", "all": "yes"}), 422, "all"),
        (
            json!({"kind": "hydrate", "all": true, "priority": 1}),
            422,
            "priority",
        ),
        (
            json!({"kind": "hydrate", "all": true, "idempotency_key": ""}),
            422,
            "idempotency_key",
        ),
    ];
    for (body, expected, names) in cases {
        let (code, answer) = create(&app, body.clone()).await;

        assert_eq!(code, expected, "{body} -> {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(names), "{body}: {message}");
    }

    let malformed = app
        .request(Method::POST, "/v1/batches")
        .header("content-type", "application/json")
        .body("{\"kind\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);

    let (_, token) = app.other_user("newcomer").await;
    let empty = app
        .request_as(&token, Method::POST, "/v1/batches")
        .json(&json!({"kind": "hydrate", "all": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 422);
    let body: Value = empty.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no projects")
    );

    for (path, expected) in [
        ("/v1/batches/not-a-uuid", 400),
        ("/v1/batches/not-a-uuid/cancel", 400),
        (
            &format!("/v1/batches/{}?failures_limit=5000", Uuid::now_v7()),
            422,
        ),
        (
            &format!("/v1/batches/{}?failures_limit=-1", Uuid::now_v7()),
            400,
        ),
        (&format!("/v1/batches/{}?wait=yes", Uuid::now_v7()), 400),
        (&format!("/v1/batches/{}", Uuid::now_v7()), 404),
        ("/v1/batches?limit=0", 422),
        ("/v1/batches?before=yesterday", 400),
    ] {
        let method = if path.ends_with("/cancel") {
            Method::POST
        } else {
            Method::GET
        };
        let response = app.request(method, path).send().await.unwrap();

        assert_eq!(response.status().as_u16(), expected, "{path}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"]["message"].is_string(), "{path}: {body}");
    }
    assert_eq!(rows(&app, "batches").await, 0);
}

#[tokio::test]
async fn the_openapi_document_describes_the_batch_routes() {
    let app = TestApp::spawn().await;

    let (_, doc) = get(&app, "/openapi.json").await;

    let paths = &doc["paths"];
    assert!(paths["/v1/batches"]["post"].is_object());
    assert!(paths["/v1/batches"]["get"].is_object());
    assert!(paths["/v1/batches/{id}"]["get"].is_object());
    assert!(paths["/v1/batches/{id}/cancel"]["post"].is_object());
    for schema in [
        "CreateBatch",
        "Batch",
        "BatchReport",
        "BatchFailure",
        "BatchList",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema} missing"
        );
    }
}
