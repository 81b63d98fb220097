//! Housekeeping on a schedule, once per tick however many workers run.
//!
//! Every worker computes the same ticks from `HERO_CRON_SCHEDULE` and
//! pushes each one to the cron queue under an id made of the tick's time;
//! apalis-redis stores a task id once, so one replica runs each tick and
//! the others' pushes are no-ops (`../shared/notes/apalis.md`, cron).

use std::str::FromStr;
use std::time::Duration;

use apalis::prelude::{TaskBuilder, TaskId};
use apalis_core::backend::Vacuum as _;
use apalis_cron::CronScheduler;
use apalis_redis::{ConnectionManager, RedisStorage, RedisTask};
use futures_util::StreamExt;
use hero_common::jobs::JobKind;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::Services;

/// One tick of the schedule, as it travels through the cron queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CronTick {
    /// Seconds since the epoch.
    pub at: u64,
}

/// A `starting` sandbox older than this lost its creator.
const STUCK_AFTER: Duration = Duration::from_secs(600);
/// A provider sandbox with Hero's label that the table does not know is
/// killed once it is this old (younger ones may still be recorded).
const ORPHAN_MIN_AGE: Duration = Duration::from_secs(600);
/// A dispatched job whose message is not in Redis after this long lost it.
const LOST_MESSAGE_GRACE: Duration = Duration::from_secs(10);
/// Finished apalis tasks are kept this long, then deleted.
const TASK_RETENTION: Duration = Duration::from_secs(3600);
/// apalis-redis never trims its done and dead sets; this many are kept.
const TERMINAL_SET_LIMIT: usize = 1000;
/// Webhook deliveries are remembered this long (GitHub redelivers within
/// days, on request).
const DELIVERY_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Pushes the schedule's ticks to the cron queue until `stop`.
pub async fn schedule(
    services: &Services,
    mut redis: ConnectionManager,
    schedule: &str,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let schedule = cron::Schedule::from_str(schedule)?;
    let mut ticks = Box::pin(CronScheduler::new(schedule).into_stream());
    let config = services
        .queue
        .apalis_config(&services.queue.cron_queue_name());
    loop {
        let tick = tokio::select! {
            () = stop.cancelled() => return Ok(()),
            tick = ticks.next() => tick,
        };
        let Some(tick) = tick else { return Ok(()) };
        let at = match tick {
            Ok(tick) => tick.get_timestamp(),
            Err(error) => {
                tracing::warn!(%error, "cron schedule failed to tick");
                continue;
            }
        };
        if let Err(error) = push_tick(&mut redis, &config, CronTick { at }).await {
            tracing::warn!(%error, "pushing a cron tick failed");
        }
    }
}

/// Pushes `tick` to the cron queue under an id made of its time: the same
/// tick pushed by every replica is stored once, so it runs once.
pub async fn push_tick(
    redis: &mut ConnectionManager,
    config: &apalis_redis::Config,
    tick: CronTick,
) -> anyhow::Result<()> {
    let payload = serde_json::to_vec(&tick)?;
    let task: RedisTask = TaskBuilder::new(payload)
        .task_id(TaskId::from_string(format!("cron:{}", tick.at)))
        .build();
    apalis_redis::queries::push_tasks(redis, config, &[task]).await?;
    Ok(())
}

/// What one tick does: reap sandboxes, find lost jobs, prune Redis and
/// old webhook deliveries. Each part reports its own failure and the
/// others still run.
#[tracing::instrument(skip_all, fields(tick = tick.at))]
pub async fn housekeeping(services: &Services, redis: &ConnectionManager, tick: CronTick) {
    let holder = format!("{}/cron", services.worker);
    match services
        .pool
        .reap(&holder, STUCK_AFTER, ORPHAN_MIN_AGE)
        .await
    {
        Ok(reaped) if reaped != Default::default() => tracing::info!(?reaped, "sandboxes reaped"),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "reaping sandboxes failed"),
    }

    match services.dispatcher.recover_lost(LOST_MESSAGE_GRACE).await {
        Ok(0) => {}
        Ok(recovered) => {
            tracing::info!(recovered, "lost jobs queued again");
            if let Err(error) = services.dispatcher.dispatch_ready().await {
                tracing::warn!(%error, "dispatching recovered jobs failed");
            }
        }
        Err(error) => tracing::warn!(%error, "looking for lost jobs failed"),
    }

    if let Err(error) = prune_redis(services, redis).await {
        tracing::warn!(%error, "pruning Redis failed");
    }
    match services.stores.deliveries.prune(DELIVERY_RETENTION).await {
        Ok(0) => {}
        Ok(pruned) => tracing::debug!(pruned, "old webhook deliveries forgotten"),
        Err(error) => tracing::warn!(%error, "pruning webhook deliveries failed"),
    }
}

/// Deletes finished apalis tasks older than the retention and trims the
/// terminal sets apalis-redis lets grow forever.
async fn prune_redis(services: &Services, redis: &ConnectionManager) -> anyhow::Result<()> {
    let queues = JobKind::ALL
        .iter()
        .map(|kind| services.queue.queue_name(*kind))
        .chain([services.queue.cron_queue_name()]);
    let mut deleted = 0;
    for queue in queues {
        let config = services.queue.apalis_config(&queue);
        let mut storage = RedisStorage::<Vec<u8>>::new(redis.clone()).with_config(config.clone());
        deleted += storage.vacuum_before(TASK_RETENTION).await?;

        let mut conn = redis.clone();
        for set in [config.done_jobs_set(), config.dead_jobs_set()] {
            let size: usize = conn.scard(&set).await?;
            if size > TERMINAL_SET_LIMIT {
                let excess = size - TERMINAL_SET_LIMIT;
                let _: Vec<String> = redis::cmd("SPOP")
                    .arg(&set)
                    .arg(excess)
                    .query_async(&mut conn)
                    .await?;
            }
        }
    }
    if deleted > 0 {
        tracing::debug!(deleted, "finished queue tasks deleted");
    }
    Ok(())
}
