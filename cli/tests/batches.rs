//! `hero batch` against the API, with jobs moved to their end as a worker
//! would move them.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod support;

use hero_common::jobs::Outcome;
use hero_tests::TestApp;
use hero_tests::job_runner::{JobRunner, failure};
use reqwest::Method;
use serde_json::{Value, json};
use support::{hero, json_lines, next_line, run, run_to_end, text};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;
use uuid::Uuid;

async fn fleet(app: &TestApp, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..count {
        ids.push(app.create_project(&format!("fleet-{i}")).await);
    }
    ids
}

async fn create_batch(app: &TestApp, projects: &[String]) -> Uuid {
    let body: Value = app
        .request(Method::POST, "/v1/batches")
        .json(&json!({"kind": "hydrate", "projects": projects}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["id"].as_str().unwrap().parse().unwrap()
}

async fn jobs_of(app: &TestApp, batch: Uuid) -> Vec<Uuid> {
    sqlx::query_scalar("SELECT id FROM jobs WHERE batch_id = $1 ORDER BY seq")
        .bind(batch)
        .fetch_all(&app.db.pool)
        .await
        .unwrap()
}

/// `hero batch watch` on `batch`, polling quickly, with `more` arguments.
fn watch_batch(app: &TestApp, batch: Uuid, more: &[&str]) -> Child {
    let id = batch.to_string();
    let mut args = vec!["batch", "watch", &id, "--interval", "20ms"];
    args.extend_from_slice(more);
    hero(app, &args).spawn().unwrap()
}

fn runner(app: &TestApp) -> JobRunner {
    JobRunner::new(app.db.pool.clone(), app.stores.jobs.clone())
}

#[tokio::test]
async fn batch_watch_json_reports_progress_and_ends_with_a_summary_of_the_failures() {
    let app = TestApp::spawn().await;
    let projects = fleet(&app, 3).await;
    let batch = create_batch(&app, &projects).await;
    let jobs = jobs_of(&app, batch).await;
    let watch = watch_batch(&app, batch, &["--json"]);

    let runner = runner(&app);
    runner.run(jobs[0], Outcome::Succeeded(json!({}))).await;
    runner
        .run(jobs[1], failure("git", "could not clone: no such branch"))
        .await;
    runner.run(jobs[2], Outcome::Succeeded(json!({}))).await;
    let output = run_to_end(watch).await;

    assert!(!output.status.success(), "a failed job fails the watch");
    assert!(text(&output.stderr).contains("1 failed and 0 cancelled"));
    let lines = json_lines(&output.stdout);
    let (summary, progress) = lines.split_last().unwrap();
    assert!(!progress.is_empty());
    for line in progress {
        assert_eq!(line["event"], "progress");
        assert_eq!(line["batch_id"], batch.to_string());
        assert_eq!(line["total"], 3);
        let accounted = ["succeeded", "failed", "cancelled", "running", "waiting"]
            .iter()
            .map(|field| line[field].as_i64().unwrap())
            .sum::<i64>();
        assert_eq!(accounted, 3, "{line}");
    }
    let last = progress.last().unwrap();
    assert_eq!(
        (last["succeeded"].as_i64(), last["failed"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["succeeded"], 2);
    assert_eq!(summary["failed"], 1);
    assert!(summary["elapsed_seconds"].is_number());
    let failures = summary["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0]["job_id"], jobs[1].to_string());
    assert_eq!(failures[0]["repo"], "octo-org/fleet-1");
    assert_eq!(failures[0]["code"], "git");
    assert_eq!(failures[0]["message"], "could not clone: no such branch");
}

#[tokio::test]
async fn batch_watch_json_gives_a_rate_and_a_time_left_that_agree_with_the_counts() {
    let app = TestApp::spawn().await;
    let projects = fleet(&app, 3).await;
    let batch = create_batch(&app, &projects).await;
    let mut watch = watch_batch(&app, batch, &["--json"]);
    let mut stdout = BufReader::new(watch.stdout.take().unwrap()).lines();

    // The first line comes before any job ends, so the rest are measured
    // against a start with nothing done.
    let first: Value = serde_json::from_str(&next_line(&mut stdout).await.unwrap()).unwrap();
    let runner = runner(&app);
    for job in jobs_of(&app, batch).await {
        runner.run(job, Outcome::Succeeded(json!({}))).await;
    }
    let mut lines = vec![first];
    while let Some(line) = next_line(&mut stdout).await {
        lines.push(serde_json::from_str(&line).unwrap());
    }
    let status = run_to_end(watch).await.status;

    assert!(status.success());
    let (summary, progress) = lines.split_last().unwrap();
    assert_eq!(summary["event"], "summary");
    let first = &progress[0];
    assert_eq!(first["waiting"], 3, "{first}");
    assert!(
        first["rate_per_second"].is_null(),
        "one sample has no rate: {first}"
    );
    assert!(first["eta_seconds"].is_null(), "{first}");
    for line in progress {
        let Some(rate) = line["rate_per_second"].as_f64() else {
            assert!(
                line["eta_seconds"].is_null(),
                "no rate, no estimate: {line}"
            );
            continue;
        };
        assert!(rate >= 0.0, "{line}");
        let unfinished = line["running"].as_i64().unwrap() + line["waiting"].as_i64().unwrap();
        match line["eta_seconds"].as_u64() {
            Some(eta) => {
                #[allow(clippy::cast_precision_loss)]
                let expected = unfinished as f64 / rate;
                #[allow(clippy::cast_precision_loss)]
                let off = (eta as f64 - expected).abs();
                assert!(
                    off <= 1.0,
                    "{eta}s left at {rate}/s for {unfinished}: {line}"
                );
            }
            None => assert!(rate == 0.0 && line["eta_seconds"].is_null(), "{line}"),
        }
    }
    let last = progress.last().unwrap();
    assert_eq!(last["succeeded"], 3, "{last}");
    assert!(last["rate_per_second"].as_f64().unwrap() > 0.0, "{last}");
    assert_eq!(last["eta_seconds"], 0, "nothing left to wait for: {last}");
}

#[tokio::test]
async fn batch_watch_without_a_terminal_prints_plain_progress_lines_and_a_summary() {
    let app = TestApp::spawn().await;
    let projects = fleet(&app, 3).await;
    let batch = create_batch(&app, &projects).await;
    let jobs = jobs_of(&app, batch).await;
    let mut watch = watch_batch(&app, batch, &[]);
    let mut stderr = BufReader::new(watch.stderr.take().unwrap()).lines();

    // Piped, stderr is no terminal: the bar would draw nothing there.
    let first = next_line(&mut stderr).await.unwrap();
    let runner = runner(&app);
    runner.run(jobs[0], Outcome::Succeeded(json!({}))).await;
    runner
        .run(jobs[1], failure("git", "could not clone: no such branch"))
        .await;
    runner.run(jobs[2], Outcome::Succeeded(json!({}))).await;
    let mut rest = Vec::new();
    while let Some(line) = next_line(&mut stderr).await {
        rest.push(line);
    }
    let output = run_to_end(watch).await;

    assert_eq!(
        first,
        format!(
            "batch {batch}: 0/3 ended · 0 done · 0 failed · 0 running · 3 waiting · -/s · time left unknown"
        )
    );
    assert!(!output.status.success(), "a failed job fails the watch");
    assert_eq!(
        rest.last().map(String::as_str),
        Some("hero: 1 failed and 0 cancelled of the batch's 3 jobs")
    );
    let stdout = text(&output.stdout);
    let mut summary = stdout.lines();
    let head = summary.next().unwrap();
    assert!(
        head.starts_with(&format!("batch {batch} finished in ")),
        "{stdout}"
    );
    assert!(
        head.ends_with(": 2 succeeded, 1 failed, 0 cancelled of 3"),
        "{stdout}"
    );
    assert_eq!(summary.next(), Some("failures:"));
    assert_eq!(
        summary.next().unwrap(),
        format!(
            "  octo-org/fleet-1  git: could not clone: no such branch  (job {})",
            jobs[1]
        )
    );
    assert_eq!(summary.next(), None);
}

#[tokio::test]
async fn batch_create_without_json_names_the_batch_and_sums_it_up() {
    let app = TestApp::spawn().await;
    fleet(&app, 2).await;
    let mut create = hero(
        &app,
        &[
            "batch",
            "create",
            "--kind",
            "hydrate",
            "--all",
            "--interval",
            "20ms",
        ],
    )
    .spawn()
    .unwrap();
    let mut stdout = BufReader::new(create.stdout.take().unwrap()).lines();

    let accepted = next_line(&mut stdout).await.unwrap();
    let batch: Uuid = next_line(&mut stdout).await.unwrap().parse().unwrap();
    let runner = runner(&app);
    for job in jobs_of(&app, batch).await {
        runner.run(job, Outcome::Succeeded(json!({}))).await;
    }
    let mut rest = Vec::new();
    while let Some(line) = next_line(&mut stdout).await {
        rest.push(line);
    }
    let output = run_to_end(create).await;

    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(accepted, "accepted a batch of 2 hydrate jobs:");
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert!(
        rest[0].ends_with(": 2 succeeded, 0 failed, 0 cancelled of 2"),
        "{rest:?}"
    );
    let progress = text(&output.stderr);
    let line = progress.lines().next().unwrap_or_default();
    assert!(
        line.starts_with(&format!("batch {batch}: ")) && line.contains("/2 ended"),
        "{progress}"
    );
}

#[tokio::test]
async fn batch_create_detached_prints_the_batch_id_alone_on_its_last_line() {
    let app = TestApp::spawn().await;
    fleet(&app, 2).await;

    let output = run(hero(
        &app,
        &[
            "batch",
            "create",
            "--kind",
            "hydrate",
            "--params",
            r#"{"branch": "main"}"#,
            "--all",
            "--detach",
        ],
    ))
    .await;

    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let id: Uuid = stdout.lines().last().unwrap().parse().unwrap();
    let batch = app
        .stores
        .batches
        .get(app.user.id, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(batch.total, 2);
    assert_eq!(batch.params, json!({"branch": "main"}));
}

#[tokio::test]
async fn batch_create_watches_its_batch_and_succeeds_when_every_job_does() {
    let app = TestApp::spawn().await;
    let projects = fleet(&app, 2).await;
    let mut create = hero(
        &app,
        &[
            "batch",
            "create",
            "--kind",
            "hydrate",
            "--project",
            &projects[0],
            "--project",
            &projects[1],
            "--json",
            "--interval",
            "20ms",
        ],
    )
    .spawn()
    .unwrap();
    let mut stdout = BufReader::new(create.stdout.take().unwrap()).lines();

    let accepted: Value = serde_json::from_str(&next_line(&mut stdout).await.unwrap()).unwrap();
    let batch: Uuid = accepted["id"].as_str().unwrap().parse().unwrap();
    let runner = runner(&app);
    for job in jobs_of(&app, batch).await {
        runner.run(job, Outcome::Succeeded(json!({}))).await;
    }
    let mut rest = Vec::new();
    while let Some(line) = next_line(&mut stdout).await {
        rest.push(serde_json::from_str::<Value>(&line).unwrap());
    }
    let status = create.wait().await.unwrap();

    assert_eq!(accepted["event"], "accepted");
    assert_eq!(accepted["total"], 2);
    assert!(status.success());
    let summary = rest.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["succeeded"], 2);
    assert_eq!(summary["failures"], json!([]));
}

#[tokio::test]
async fn batch_cancel_ends_the_jobs_not_yet_started() {
    let app = TestApp::spawn().await;
    let projects = fleet(&app, 3).await;
    let batch = create_batch(&app, &projects).await;

    let output = run(hero(&app, &["batch", "cancel", &batch.to_string()])).await;

    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("cancelled 3 jobs not yet started"));
    let report = app
        .stores
        .batches
        .get(app.user.id, batch)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.counts.cancelled, 3);
}

#[tokio::test]
async fn an_api_error_is_printed_as_the_apis_message() {
    let app = TestApp::spawn().await;
    let (_, bob) = app.other_user("bob").await;
    let projects = fleet(&app, 1).await;
    let batch = create_batch(&app, &projects).await;
    let mut as_bob = hero(&app, &["batch", "watch", &batch.to_string()]);
    as_bob.env("HERO_TOKEN", &bob);

    let not_found = run(as_bob).await;
    let refused = run(hero(
        &app,
        &[
            "batch",
            "create",
            "--kind",
            "sync",
            "--params",
            r#"{"action": "teleport"}"#,
            "--all",
        ],
    ))
    .await;

    assert!(!not_found.status.success());
    assert_eq!(text(&not_found.stderr).trim(), "hero: batch not found");
    assert!(!refused.status.success());
    let stderr = text(&refused.stderr);
    assert!(stderr.starts_with("hero: params"), "{stderr}");
    assert!(!stderr.contains(&app.token) && !stderr.contains(&bob));
}

#[tokio::test]
async fn batch_list_shows_the_callers_batches_newest_first() {
    let app = TestApp::spawn().await;
    let projects = fleet(&app, 1).await;
    let older = create_batch(&app, &projects).await;
    let newer = create_batch(&app, &projects).await;

    let json = run(hero(&app, &["batch", "list", "--json"])).await;
    let table = run(hero(&app, &["batch", "list"])).await;

    assert!(json.status.success(), "{}", text(&json.stderr));
    let lines = json_lines(&json.stdout);
    let ids: Vec<&str> = lines
        .iter()
        .map(|line| line["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [newer.to_string(), older.to_string()]);
    assert!(lines.iter().all(|line| line["event"] == "batch"));
    let table = text(&table.stdout);
    assert!(
        table
            .lines()
            .next()
            .unwrap()
            .starts_with(&newer.to_string()),
        "{table}"
    );
}

#[tokio::test]
async fn the_token_from_the_environment_is_never_shown_in_help() {
    let app = TestApp::spawn().await;
    let mut help = hero(&app, &["batch", "watch", "--help"]);
    help.env("HERO_TOKEN", "hero_help-must-not-show-this");

    let output = run(help).await;

    assert!(output.status.success());
    let shown = text(&output.stdout);
    assert!(shown.contains("HERO_TOKEN"), "{shown}");
    assert!(!shown.contains("hero_help-must-not-show-this"), "{shown}");
}
