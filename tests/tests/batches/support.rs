//! Fleets of projects, batches over them, and a dispatcher on its own
//! Redis keys.

use hero_common::domain::NewProject;
use hero_common::jobs::batch::{Batch, BatchCreated, BatchSelection, NewBatch};
use hero_common::jobs::dispatch::Dispatcher;
use hero_common::jobs::queue::{self, QueueSettings};
use hero_common::jobs::{JobKind, JobStatus, NewJob};
use hero_common::settings::Settings;
use hero_common::store::Stores;
use hero_tests::TestDb;
use redis::aio::ConnectionManager;
use secrecy::ExposeSecret;
use sqlx::PgPool;
use uuid::Uuid;

/// `count` new projects of `owner`, named `{prefix}-{i}`.
pub async fn projects(stores: &Stores, owner: Uuid, prefix: &str, count: usize) -> Vec<Uuid> {
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        let project = NewProject {
            name: format!("{prefix}-{i}"),
            repo_owner: "octo-org".to_owned(),
            repo_name: format!("{prefix}-{i}"),
            github_installation_id: None,
            default_branch: "main".to_owned(),
            use_cloud_sandbox: false,
            allow_default_branch_push: false,
            webhook_triggers: Default::default(),
        };
        ids.push(stores.projects.create(owner, project).await.unwrap().id);
    }
    ids
}

/// A hydrate batch over `projects`, accepted through the store.
pub async fn hydrate_batch(stores: &Stores, owner: Uuid, projects: &[Uuid]) -> Batch {
    let created = stores
        .batches
        .create(NewBatch {
            owner_id: owner,
            kind: JobKind::Hydrate,
            params: serde_json::json!({}),
            selection: BatchSelection::Listed(projects.to_vec()),
            idempotency_key: None,
        })
        .await
        .unwrap();
    match created {
        BatchCreated::Created(batch) => batch,
        other => panic!("batch not created: {other:?}"),
    }
}

/// An interactive job (one an agent or the IDE asked for).
pub async fn interactive_job(stores: &Stores, project: Uuid, kind: JobKind) -> Uuid {
    let params = match kind {
        JobKind::RunTool => serde_json::json!({"tool": "list_files", "path": "."}),
        _ => serde_json::json!({}),
    };
    let (job, _) = stores
        .jobs
        .insert(NewJob {
            project_id: project,
            kind,
            params,
            idempotency_key: None,
            execution_id: None,
            agent_id: Some("agent-1".to_owned()),
            context: None,
        })
        .await
        .unwrap();
    job.id
}

/// A dispatcher on Redis keys of its own (the database's name), with at
/// most `batch_concurrency` batch jobs in flight.
pub async fn dispatcher(db: &TestDb, batch_concurrency: u32, backlog: u32) -> Dispatcher {
    let redis = redis().await;
    let settings = QueueSettings {
        prefix: db.name.clone(),
        batch_concurrency,
        backlog,
        ..QueueSettings::default()
    };
    Dispatcher::new(Stores::postgres(db.pool.clone()).jobs, redis, settings)
}

/// A connection to the Redis that settings point at by default.
pub async fn redis() -> ConnectionManager {
    let defaults = Settings::load_from(None, []).unwrap();
    queue::connect(defaults.redis_url.expose_secret())
        .await
        .expect("Redis must be running for the tests")
}

/// The batch's jobs in acceptance order.
pub async fn batch_jobs(pool: &PgPool, batch: Uuid) -> Vec<Uuid> {
    sqlx::query_scalar("SELECT id FROM jobs WHERE batch_id = $1 ORDER BY seq")
        .bind(batch)
        .fetch_all(pool)
        .await
        .unwrap()
}

pub async fn status(pool: &PgPool, job: Uuid) -> JobStatus {
    let status: String = sqlx::query_scalar("SELECT status FROM jobs WHERE id = $1")
        .bind(job)
        .fetch_one(pool)
        .await
        .unwrap();
    status.parse().unwrap()
}

/// Batch jobs dispatched or running, across every batch.
pub async fn batch_in_flight(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM jobs
         WHERE batch_id IS NOT NULL AND status IN ('dispatched', 'running')",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}
