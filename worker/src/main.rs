use std::process::ExitCode;

use anyhow::Context as _;
use hero_common::db;
use hero_common::settings::Settings;
use hero_common::shutdown::shutdown_signal;
use hero_common::telemetry;
use hero_worker::health::{self, Probes};
use secrecy::ExposeSecret;

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init();

    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("hero-worker: {error}");
            return ExitCode::FAILURE;
        }
    };
    match run(settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hero-worker: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(settings: Settings) -> anyhow::Result<()> {
    let pool = db::connect(&settings.database_url, 10).await?;
    let client = redis::Client::open(settings.redis_url.expose_secret())
        .context("REDIS_URL is not a valid Redis URL")?;
    let redis = redis::aio::ConnectionManager::new(client)
        .await
        .context("cannot reach Redis (REDIS_URL)")?;

    let provider = hero_worker::sandbox::provider_from_settings(&settings)
        .await
        .context("setting up the sandbox provider")?;
    tracing::info!(provider = provider.name(), "sandbox provider ready");

    // TODO: job handlers arrive with the jobs pipeline; until then a worker
    // checks its services and its sandbox provider, and serves probes.
    let listener = tokio::net::TcpListener::bind(settings.worker_bind)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (HERO_WORKER_BIND)",
                settings.worker_bind
            )
        })?;
    tracing::info!(addr = %settings.worker_bind, "hero-worker probes listening");
    axum::serve(listener, health::router(Probes { pool, redis }))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving probes")
}
