//! A whole worker: its sandbox provider, its services, its queue
//! consumers and cron, and the gauges its `/metrics` shows. `hero-worker`
//! runs one; `hero dev` runs one beside the API.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use hero_common::jobs::queue;
use hero_common::settings::Settings;
use secrecy::ExposeSecret;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::jobs::Services;
use crate::jobs::consumer::{self, ConsumerConfig};
use crate::jobs::services::unique_worker_name;
use crate::sandbox::provider_from_settings;

/// How often a worker refreshes its gauges (jobs by status, live sandboxes).
const GAUGE_INTERVAL: Duration = Duration::from_secs(5);

/// Runs a worker until `stop` is cancelled and its jobs have wound down.
pub async fn run_worker(
    settings: &Settings,
    pool: PgPool,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let provider = provider_from_settings(settings)
        .await
        .context("setting up the sandbox provider")?;
    let worker = unique_worker_name();
    let services = Services::build(settings, pool, provider, worker.clone()).await?;
    let redis = queue::connect(settings.redis_url.expose_secret())
        .await
        .context("connecting to Redis (REDIS_URL)")?;
    tracing::info!(
        %worker,
        provider = services.pool.provider().name(),
        forge = services.forge.name(),
        concurrency = settings.worker_concurrency,
        "hero-worker taking jobs"
    );

    let gauges = tokio::spawn(refresh_gauges(services.clone(), stop.clone()));
    let config = ConsumerConfig {
        concurrency: settings.worker_concurrency,
        shutdown_timeout: settings.shutdown_timeout,
        cron_schedule: settings.cron_schedule.clone(),
    };
    let result = consumer::run(services, redis, config, stop).await;
    gauges.abort();
    tracing::info!("hero-worker stopped");
    result
}

async fn refresh_gauges(services: Arc<Services>, stop: CancellationToken) {
    let mut ticks = tokio::time::interval(GAUGE_INTERVAL);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        if let Ok(counts) = services.stores.jobs.counts().await {
            hero_common::metrics::job_counts(&counts);
        }
        if let Ok(live) = services.pool.table().live_count().await {
            hero_common::metrics::live_sandboxes(live);
        }
    }
}
