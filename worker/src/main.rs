use std::process::ExitCode;

use anyhow::Context as _;
use hero_common::db;
use hero_common::settings::Settings;
use hero_common::shutdown::shutdown_signal;
use hero_common::telemetry;
use hero_worker::health::{self, Probes};
use hero_worker::serve::run_worker;
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

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
    settings.encryption_key()?;
    let pool = db::connect(&settings.database_url, 20).await?;
    // Whichever process starts first brings the schema up to date; sqlx
    // serialises concurrent runs with an advisory lock.
    db::migrate(&pool).await?;
    let client = redis::Client::open(settings.redis_url.expose_secret())
        .context("REDIS_URL is not a valid Redis URL")?;
    let redis = redis::aio::ConnectionManager::new(client)
        .await
        .context("cannot reach Redis (REDIS_URL)")?;

    let stop = CancellationToken::new();
    let listener = tokio::net::TcpListener::bind(settings.worker_bind)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (HERO_WORKER_BIND)",
                settings.worker_bind
            )
        })?;
    tracing::info!(addr = %listener.local_addr()?, "hero-worker probes and metrics listening");
    let probes = {
        let stop = stop.clone();
        let router = health::router(Probes {
            pool: pool.clone(),
            redis,
        });
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        })
    };

    let signalled = stop.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        signalled.cancel();
    });
    let worked = run_worker(&settings, pool, stop.clone()).await;
    stop.cancel();
    probes.await.ok();
    worked
}
