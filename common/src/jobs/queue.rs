//! The Redis side of jobs: one apalis-redis queue per kind, carrying only
//! a [`JobMessage`]. Both ends (the dispatcher that pushes and the workers
//! that fetch) take their apalis configuration from [`QueueSettings`] so
//! they agree on names, heartbeats and batch sizes.

use std::time::Duration;

use apalis::prelude::{TaskBuilder, TaskId};
use apalis_redis::{ConnectionManager, RedisTask};
use redis::AsyncCommands;
use redis::aio::ConnectionManagerConfig;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::JobKind;

/// What travels through Redis: which job, and which push of it. A worker
/// acts on a message only while the job is still at that dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMessage {
    pub job: Uuid,
    pub dispatch: i32,
}

impl JobMessage {
    /// The apalis task id. Chosen, not generated, so that pushing the same
    /// dispatch twice is a no-op and presence can be checked.
    pub fn task_id(&self) -> String {
        format!("{}:{}", self.job, self.dispatch)
    }
}

/// How Hero uses apalis-redis. `../shared/notes/apalis.md` explains each
/// choice; the defaults keep a dead worker's messages coming back within
/// seconds and the fetch latency near the poll interval.
#[derive(Debug, Clone)]
pub struct QueueSettings {
    /// Every key Hero writes in Redis starts with this (`hero`), so that
    /// deployments (and tests) can share one Redis.
    pub prefix: String,
    /// How often an idle worker asks for a message: the latency floor.
    pub poll_interval: Duration,
    pub heartbeat_interval: Duration,
    /// A worker silent for this many heartbeats is dead; its messages go
    /// back to the queue.
    pub missed_heartbeats: usize,
    /// Messages one fetch takes.
    pub batch_size: usize,
    /// Most messages of one kind waiting in Redis. apalis-redis 1.0's fetch
    /// fails with about 8,000 due messages; the dispatcher keeps far below.
    pub backlog: u32,
    /// Most batch jobs in flight (dispatched or running) across Hero. Kept
    /// below the sandbox cap, so that interactive work always finds a
    /// sandbox soon however large a batch is.
    pub batch_concurrency: u32,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            prefix: "hero".to_owned(),
            poll_interval: Duration::from_millis(5),
            heartbeat_interval: Duration::from_secs(2),
            missed_heartbeats: 3,
            batch_size: 10,
            backlog: 1000,
            // The default sandbox cap (10) less two for interactive work.
            batch_concurrency: 8,
        }
    }
}

impl QueueSettings {
    pub fn queue_name(&self, kind: JobKind) -> String {
        format!("{}:jobs:{kind}", self.prefix)
    }

    /// The queue cron ticks go through, so that one replica runs each.
    pub fn cron_queue_name(&self) -> String {
        format!("{}:cron", self.prefix)
    }

    /// The apalis configuration of one queue, identical on both ends.
    pub fn apalis_config(&self, queue: &str) -> apalis_redis::Config {
        apalis_redis::Config::default()
            .queue(queue)
            .batch_size(self.batch_size)
            .heartbeat_interval(self.heartbeat_interval)
            .missed_heartbeats(self.missed_heartbeats)
    }
}

/// A Redis connection for queues. redis-rs's 500 ms response timeout makes
/// an apalis worker die on the first slow answer; this one waits longer.
pub async fn connect(url: &str) -> Result<ConnectionManager, redis::RedisError> {
    let client = redis::Client::open(url)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_response_timeout(Some(Duration::from_secs(10)))
        .set_number_of_retries(3);
    ConnectionManager::new_with_config(client, config).await
}

/// Pushes messages to their kinds' queues, one round trip per kind.
pub async fn push(
    conn: &mut ConnectionManager,
    settings: &QueueSettings,
    messages: &[(JobKind, JobMessage)],
) -> Result<(), PushError> {
    for kind in JobKind::ALL {
        let tasks = messages
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, message)| {
                let payload = serde_json::to_vec(message)?;
                Ok(TaskBuilder::new(payload)
                    .task_id(TaskId::from_string(message.task_id()))
                    .build())
            })
            .collect::<Result<Vec<RedisTask>, serde_json::Error>>()?;
        if tasks.is_empty() {
            continue;
        }
        let config = settings.apalis_config(&settings.queue_name(kind));
        apalis_redis::queries::push_tasks(conn, &config, &tasks).await?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("encoding a queue message: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("pushing to Redis: {0}")]
    Redis(#[from] apalis_redis::Error),
}

/// Where a pushed message is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Not in Redis: never pushed, or lost with a flush or a restart.
    Missing,
    /// Waiting for a worker, or held by one.
    Pending,
    /// apalis finished with it.
    Finished,
}

/// Whether the message for `kind` is still somewhere a worker will get it.
pub async fn presence(
    conn: &mut ConnectionManager,
    settings: &QueueSettings,
    kind: JobKind,
    message: &JobMessage,
) -> Result<Presence, redis::RedisError> {
    let config = settings.apalis_config(&settings.queue_name(kind));
    let id = message.task_id();
    let exists: bool = conn.hexists(config.job_data_hash(), &id).await?;
    if !exists {
        return Ok(Presence::Missing);
    }
    let meta = format!("{}:{id}", config.job_meta_hash());
    let status: Option<String> = conn.hget(meta, "status").await?;
    Ok(match status.as_deref() {
        Some("Done" | "Killed" | "Failed") => Presence::Finished,
        _ => Presence::Pending,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ends_name_queues_the_same_way() {
        let settings = QueueSettings {
            prefix: "t1".to_owned(),
            ..QueueSettings::default()
        };
        assert_eq!(settings.queue_name(JobKind::RunTool), "t1:jobs:run_tool");
        let config = settings.apalis_config(&settings.queue_name(JobKind::Hydrate));
        assert_eq!(config.job_data_hash(), "t1:jobs:hydrate:data");
    }

    #[test]
    fn a_message_names_its_dispatch() {
        let job = Uuid::nil();
        let message = JobMessage { job, dispatch: 3 };
        assert_eq!(message.task_id(), format!("{job}:3"));
    }
}
