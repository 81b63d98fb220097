//! The sample agent session `hero dev` drives through the API, as an IDE
//! would: hydrate a small repository of the local forge, edit a file, run
//! a command, sync the change to a branch and open a pull request.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hero_common::local_forge::ForgeLayout;
use hero_worker::forge::local::BareRepository;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::api_client::{ApiArgs, ApiClient, ClientError};

const OWNER: &str = "demo";
const NAME: &str = "hello";
const GREETING: &str = "#!/bin/sh\necho \"Hello, world\"\n";
const README: &str = "# hello\n\nA small repository for Hero's sample agent session.\n";

pub async fn run(url: &str, token: &SecretString, data_dir: &Path) -> anyhow::Result<()> {
    let client = ApiClient::new(&ApiArgs {
        api_url: url.to_owned(),
        token: Some(token.clone()),
    })?;
    ensure_repository(data_dir).await?;
    let project = ensure_project(&client).await?;
    let branch = format!("demo-{}", chrono::Utc::now().format("%Y%m%d-%H%M%S-%3f"));

    println!("Sample agent session on {OWNER}/{NAME} (local forge, local sandbox):");
    let hydrated = step(
        &client,
        &project,
        "hydrate the repository",
        "hydrate",
        json!({}),
    )
    .await?;
    say(&format!(
        "at commit {}, manifest {}",
        short(&hydrated["commit"]),
        hydrated["manifest_source"].as_str().unwrap_or("?")
    ));
    step(
        &client,
        &project,
        "edit greet.sh",
        "run_tool",
        json!({"tool": "edit_file", "path": "greet.sh",
               "edits": [{"find": "Hello, world", "replace": "Hello from Hero's sandbox"}]}),
    )
    .await?;
    let ran = step(
        &client,
        &project,
        "run `sh greet.sh`",
        "run_tool",
        json!({"tool": "run_shell", "command": "sh greet.sh"}),
    )
    .await?;
    say(&format!(
        "printed {:?}",
        ran["stdout"].as_str().unwrap_or_default().trim()
    ));
    let synced = step(
        &client,
        &project,
        "commit and push",
        "sync",
        json!({"action": "commit_and_push", "message": "Greet from Hero's sandbox", "branch": branch}),
    )
    .await?;
    say(&format!(
        "commit {} on {}",
        short(&synced["commit"]),
        synced["branch"].as_str().unwrap_or("?")
    ));
    let pull = step(
        &client,
        &project,
        "open a pull request",
        "submit_pr",
        json!({"title": "Greet from Hero's sandbox", "branch": branch,
               "body": "Opened by hero dev's sample session."}),
    )
    .await?;
    say(&format!(
        "#{} {}",
        pull["number"],
        pull["url"].as_str().unwrap_or_default()
    ));
    println!("The session's jobs: GET {url}/v1/projects/{project}/jobs");
    Ok(())
}

/// The sample repository in the local forge, made on first use.
async fn ensure_repository(data_dir: &Path) -> anyhow::Result<()> {
    let path = ForgeLayout::in_data_dir(data_dir)
        .repository(OWNER, NAME)
        .map_err(anyhow::Error::msg)?;
    let bare = if BareRepository::at(&path).exists() {
        BareRepository::at(&path)
    } else {
        BareRepository::create(&path, "main").await?
    };
    if bare.commit_of("main").await?.is_some() {
        return Ok(());
    }
    let seed = data_dir.join("demo-seed");
    std::fs::create_dir_all(&seed).with_context(|| format!("creating {}", seed.display()))?;
    std::fs::write(seed.join("README.md"), README)?;
    std::fs::write(seed.join("greet.sh"), GREETING)?;
    bare.commit_directory(&seed, "main", "A sample repository")
        .await?;
    std::fs::remove_dir_all(&seed).ok();
    Ok(())
}

/// The dev user's project for the sample repository, linked on first use.
async fn ensure_project(client: &ApiClient) -> anyhow::Result<String> {
    let body = json!({"name": "hello", "repo_owner": OWNER, "repo_name": NAME});
    match client.post::<_, Value>("/v1/projects", &body).await {
        Ok(project) => Ok(project["id"].as_str().unwrap_or_default().to_owned()),
        // Linked by an earlier run: it is the user's oldest project named so.
        Err(ClientError::Api { code, .. }) if code == "conflict" => {
            let listed: Value = client.get("/v1/projects?limit=200").await?;
            let found = listed["projects"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["name"] == "hello")
                .and_then(|p| p["id"].as_str())
                .map(str::to_owned);
            found.context("the sample project exists but could not be found")
        }
        Err(error) => Err(error.into()),
    }
}

/// Enqueues one job, waits for it, prints how it went; its result.
async fn step(
    client: &ApiClient,
    project: &str,
    what: &str,
    kind: &str,
    params: Value,
) -> anyhow::Result<Value> {
    let started = Instant::now();
    let body = json!({"kind": kind, "params": params, "agent_id": "hero-dev-sample"});
    let job: Value = client
        .post(&format!("/v1/projects/{project}/jobs"), &body)
        .await?;
    let id = job["id"]
        .as_str()
        .context("the API answered a job without id")?;
    let deadline = Instant::now() + Duration::from_secs(600);
    let ended = loop {
        let now: Value = client.get(&format!("/v1/jobs/{id}?wait=30")).await?;
        if matches!(
            now["status"].as_str(),
            Some("succeeded" | "failed" | "cancelled")
        ) {
            break now;
        }
        if Instant::now() > deadline {
            bail!("{what}: job {id} did not end within ten minutes");
        }
    };
    let took = started.elapsed().as_millis();
    if ended["status"] != "succeeded" {
        println!("  ✗ {what:<24} {took:>6} ms");
        bail!(
            "{what}: {} ({})",
            ended["error"]["message"].as_str().unwrap_or("no message"),
            ended["error"]["code"].as_str().unwrap_or("?")
        );
    }
    println!("  ✓ {what:<24} {took:>6} ms");
    Ok(ended["result"].clone())
}

fn say(line: &str) {
    println!("    {line}");
}

fn short(commit: &Value) -> String {
    commit.as_str().unwrap_or("?").chars().take(8).collect()
}
