//! The apalis side of a worker: one apalis worker per job kind, and one
//! for cron ticks, all fed by apalis-redis and set up as
//! `../shared/notes/apalis.md` advises: explicit queue names shared with the
//! dispatcher, a short poll interval (the latency floor, see [`super::poll`]), a concurrency
//! limit, tasks spawned so a long job never starves heartbeats, names unique
//! per process and per restart, and a restart after every backend error.

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::{
    BackendExt as _, BoxDynError, Data, Monitor, ParallelizeExt as _, WorkerBuilder,
    WorkerBuilderExt as _,
};
use apalis_redis::{ConnectionManager, RedisStorage};
use hero_common::jobs::JobKind;
use hero_common::jobs::queue::JobMessage;
use tokio_util::sync::CancellationToken;

use super::cron::{self, CronTick};
use super::poll::SteadyPoll;
use super::{Services, run_message};

/// How the consumer runs.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Jobs of one kind this process runs at once.
    pub concurrency: usize,
    /// After a stop is asked, how long running jobs may take to finish
    /// before they are stopped and queued again.
    pub shutdown_timeout: Duration,
    pub cron_schedule: String,
}

struct Handles {
    services: Arc<Services>,
    redis: ConnectionManager,
}

async fn handle_job(message: JobMessage, handles: Data<Arc<Handles>>) -> Result<(), BoxDynError> {
    run_message(&handles.services, message).await;
    Ok(())
}

async fn handle_tick(tick: CronTick, handles: Data<Arc<Handles>>) -> Result<(), BoxDynError> {
    cron::housekeeping(&handles.services, &handles.redis, tick).await;
    Ok(())
}

/// Takes jobs from every queue until `stop` is cancelled; then stops
/// taking new ones, lets running ones finish within the shutdown timeout,
/// stops and re-queues what is still running, and returns.
pub async fn run(
    services: Arc<Services>,
    redis: ConnectionManager,
    config: ConsumerConfig,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let handles = Arc::new(Handles {
        services: services.clone(),
        redis: redis.clone(),
    });
    let queue = services.queue.clone();
    let mut monitor = Monitor::new();
    for kind in JobKind::ALL {
        let storage = RedisStorage::<JobMessage>::new(redis.clone())
            .with_config(queue.apalis_config(&queue.queue_name(kind)));
        let handles = handles.clone();
        let name = format!("{}-{kind}", services.worker);
        let (poll, concurrency) = (queue.poll_interval, config.concurrency);
        monitor = monitor.register(move |restarts| {
            WorkerBuilder::new(format!("{name}-{restarts}"))
                .backend(storage.clone().poll_with_strategy(SteadyPoll::new(poll)))
                .data(handles.clone())
                .concurrency(concurrency)
                .parallelize(tokio::spawn)
                .build(handle_job)
        });
    }
    let ticks = RedisStorage::<CronTick>::new(redis.clone())
        .with_config(queue.apalis_config(&queue.cron_queue_name()));
    let cron_handles = handles.clone();
    let cron_name = format!("{}-cron", services.worker);
    let poll = queue.poll_interval.max(Duration::from_millis(200));
    monitor = monitor.register(move |restarts| {
        WorkerBuilder::new(format!("{cron_name}-{restarts}"))
            .backend(ticks.clone().poll_with_strategy(SteadyPoll::new(poll)))
            .data(cron_handles.clone())
            .concurrency(1)
            .parallelize(tokio::spawn)
            .build(handle_tick)
    });
    let monitor = monitor.should_restart(|worker, error| {
        // A Redis hiccup kills an apalis worker; Hero's record keeps the
        // jobs, so start again under a new name.
        tracing::warn!(worker = %worker.name(), %error, "queue worker failed; restarting it");
        !worker.is_shutting_down()
    });

    let scheduling = {
        let services = services.clone();
        let stop = stop.clone();
        let schedule = config.cron_schedule.clone();
        tokio::spawn(async move {
            if let Err(error) = cron::schedule(&services, redis, &schedule, stop).await {
                tracing::error!(%error, "the cron schedule stopped");
            }
        })
    };

    // Past the grace, running jobs are stopped (they go back to the
    // queue); a little later the monitor is left behind for good.
    let abort = services.abort.clone();
    let grace = config.shutdown_timeout;
    let signal = {
        let stop = stop.clone();
        async move {
            stop.cancelled().await;
            tracing::info!(?grace, "stopping: no new jobs; running ones may finish");
            tokio::spawn(async move {
                tokio::time::sleep(grace).await;
                tracing::info!("shutdown grace over: stopping the jobs still running");
                abort.cancel();
            });
            Ok(())
        }
    };
    let monitor = monitor.with_terminator(async move {
        tokio::time::sleep(grace + Duration::from_secs(10)).await;
    });
    let result = monitor.run_with_signal(signal).await;
    scheduling.abort();
    result.map_err(|error| anyhow::anyhow!("queue workers: {error}"))
}
