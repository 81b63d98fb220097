//! `hero batch`: one kind of job over many projects, through the API.

mod rate;
mod watch;

use std::time::Duration;

use clap::{ArgGroup, Subcommand};
use hero_api::routes::batches::{BatchCancelled, BatchList};
use hero_common::jobs::JobKind;
use hero_common::jobs::batch::Batch;
use hero_common::settings::parse_duration;
use serde::Serialize;
use uuid::Uuid;

use crate::api_client::{ApiArgs, ApiClient};
use crate::json_line::json_line;

#[derive(Subcommand)]
pub enum BatchCommand {
    /// Run one kind of job in many projects (or all of yours), then watch
    /// it. The batch id is printed alone on its own line first.
    Create(CreateArgs),
    /// Follow a batch until none of its jobs is left to run. Exits with a
    /// failure status when any job failed or was cancelled.
    Watch {
        id: Uuid,
        #[command(flatten)]
        options: WatchOptions,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Your most recent batches and where their jobs are.
    List {
        /// How many, newest first.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=200))]
        limit: u32,
        /// One JSON object per batch.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Cancel a batch: jobs not started end at once, running ones are
    /// asked to stop.
    Cancel {
        id: Uuid,
        #[command(flatten)]
        api: ApiArgs,
    },
}

#[derive(clap::Args)]
#[command(group(ArgGroup::new("selection").required(true).args(["all", "projects"])))]
pub struct CreateArgs {
    /// hydrate, run_tool, sync or submit_pr.
    #[arg(long, value_parser = parse_kind)]
    pub kind: JobKind,
    /// The kind's parameters as a JSON object, the same for every project.
    #[arg(long, value_name = "JSON", value_parser = parse_params)]
    pub params: Option<serde_json::Value>,
    /// Every project of yours.
    #[arg(long)]
    pub all: bool,
    /// A project to run it in; repeat for more.
    #[arg(long = "project", value_name = "ID")]
    pub projects: Vec<Uuid>,
    /// Sending the same key again returns the same batch.
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
    /// Print the batch id and return without watching.
    #[arg(long)]
    pub detach: bool,
    #[command(flatten)]
    pub watch: WatchOptions,
    #[command(flatten)]
    pub api: ApiArgs,
}

#[derive(clap::Args)]
pub struct WatchOptions {
    /// JSON lines on stdout (progress as it changes, then a summary with
    /// every failure) instead of a progress bar.
    #[arg(long)]
    pub json: bool,
    /// How often to ask the API for progress (250ms, 2s, ...).
    #[arg(long, default_value = "1s", value_parser = parse_interval)]
    pub interval: Duration,
}

fn parse_kind(text: &str) -> Result<JobKind, String> {
    text.parse()
}

fn parse_params(text: &str) -> Result<serde_json::Value, String> {
    match serde_json::from_str(text) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(value),
        Ok(_) => Err("expected a JSON object such as {\"branch\": \"main\"}".to_owned()),
        Err(error) => Err(format!("not JSON: {error}")),
    }
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        interval if interval < Duration::from_millis(10) => Err("must be at least 10ms".to_owned()),
        interval => Ok(interval),
    }
}

/// The body of `POST /v1/batches`.
#[derive(Serialize)]
struct CreateBatch<'a> {
    kind: JobKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    projects: Option<&'a [Uuid]>,
    all: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    idempotency_key: Option<&'a str>,
}

pub async fn run(command: BatchCommand) -> anyhow::Result<()> {
    match command {
        BatchCommand::Create(args) => create(args).await,
        BatchCommand::Watch { id, options, api } => {
            watch::watch(&ApiClient::new(&api)?, id, &options).await
        }
        BatchCommand::List { limit, json, api } => list(&ApiClient::new(&api)?, limit, json).await,
        BatchCommand::Cancel { id, api } => cancel(&ApiClient::new(&api)?, id).await,
    }
}

async fn create(args: CreateArgs) -> anyhow::Result<()> {
    let client = ApiClient::new(&args.api)?;
    let request = CreateBatch {
        kind: args.kind,
        params: args.params.as_ref(),
        projects: (!args.all).then_some(args.projects.as_slice()),
        all: args.all,
        idempotency_key: args.idempotency_key.as_deref(),
    };
    let batch: Batch = client.post("/v1/batches", &request).await?;

    if args.watch.json {
        println!("{}", json_line("accepted", &batch));
    } else {
        println!("accepted a batch of {} {} jobs:", batch.total, batch.kind);
        println!("{}", batch.id);
    }
    if args.detach {
        return Ok(());
    }
    watch::watch(&client, batch.id, &args.watch).await
}

async fn cancel(client: &ApiClient, id: Uuid) -> anyhow::Result<()> {
    let done: BatchCancelled = client
        .post(&format!("/v1/batches/{id}/cancel"), &serde_json::json!({}))
        .await?;
    println!(
        "batch {id}: cancelled {} jobs not yet started; asked {} running jobs to stop",
        done.cancellation.cancelled, done.cancellation.stopping
    );
    Ok(())
}

async fn list(client: &ApiClient, limit: u32, json: bool) -> anyhow::Result<()> {
    let page: BatchList = client.get(&format!("/v1/batches?limit={limit}")).await?;
    for batch in &page.batches {
        if json {
            println!("{}", json_line("batch", batch));
            continue;
        }
        let counts = batch.counts;
        let state = if batch.finished_at.is_some() {
            "finished"
        } else {
            "running"
        };
        println!(
            "{}  {}  {:<9} {:<8} {} jobs: {} succeeded, {} failed, {} cancelled, {} running, {} waiting",
            batch.id,
            batch.created_at.format("%Y-%m-%d %H:%M"),
            batch.kind.as_str(),
            state,
            batch.total,
            counts.succeeded,
            counts.failed,
            counts.cancelled,
            counts.running,
            counts.waiting(),
        );
    }
    Ok(())
}
