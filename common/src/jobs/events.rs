//! Job events. Status changes come from Postgres (a trigger announces each
//! on `hero_job_status`), so whoever waits on a job wakes the moment it
//! changes. Command output goes through a Redis stream per job, so a client
//! that starts following late still sees what came before.

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionLike;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;
use tokio_util::sync::{CancellationToken, DropGuard};
use uuid::Uuid;

use super::JobStatus;

/// The channel the `jobs` trigger notifies.
pub const STATUS_CHANNEL: &str = "hero_job_status";

/// One status change, as the trigger announces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub id: Uuid,
    pub project_id: Uuid,
    pub status: JobStatus,
    pub cancel_requested: bool,
}

/// Fans the Postgres notifications of one connection out to any number of
/// in-process subscribers. The listening stops when the last clone of the
/// feed is dropped.
#[derive(Clone)]
pub struct StatusFeed {
    sender: broadcast::Sender<StatusChange>,
    _listening: Arc<DropGuard>,
}

impl StatusFeed {
    /// Listens on `pool`'s database, reconnecting after errors. A
    /// subscriber that missed notifications during a reconnect learns of it
    /// as a `Lagged` gap, or by its own timeout, and re-reads the record.
    pub async fn listen(pool: &PgPool) -> Result<Self, sqlx::Error> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(STATUS_CHANNEL).await?;
        let (sender, _) = broadcast::channel(4096);
        let stop = CancellationToken::new();
        let feed = Self {
            sender: sender.clone(),
            _listening: Arc::new(stop.clone().drop_guard()),
        };
        tokio::spawn(async move {
            loop {
                let received = tokio::select! {
                    () = stop.cancelled() => break,
                    received = listener.try_recv() => received,
                };
                match received {
                    Ok(Some(notification)) => {
                        match serde_json::from_str::<StatusChange>(notification.payload()) {
                            Ok(change) => {
                                sender.send(change).ok();
                            }
                            Err(error) => {
                                tracing::warn!(%error, "unreadable job status notification");
                            }
                        }
                    }
                    // The connection dropped and was re-established;
                    // notifications in between are gone.
                    Ok(None) => tracing::debug!("job status listener reconnected"),
                    Err(error) => {
                        tracing::warn!(%error, "job status listener failed; retrying");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
        });
        Ok(feed)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<StatusChange> {
        self.sender.subscribe()
    }
}

/// What a job's event stream carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobEvent {
    Status {
        status: JobStatus,
    },
    /// Redacted command output, as produced.
    Output {
        stream: String,
        text: String,
    },
}

/// How long a finished job's events stay readable.
const EVENTS_TTL_SECONDS: i64 = 3600;
/// Events kept per job; older ones are trimmed.
const EVENTS_MAX: usize = 2000;

pub fn events_key(prefix: &str, job: Uuid) -> String {
    format!("{prefix}:events:{job}")
}

/// Appends an event to the job's stream.
pub async fn publish(
    conn: &mut impl ConnectionLike,
    prefix: &str,
    job: Uuid,
    event: &JobEvent,
) -> Result<(), redis::RedisError> {
    let key = events_key(prefix, job);
    let payload = serde_json::to_string(event).map_err(|e| {
        redis::RedisError::from((redis::ErrorKind::Client, "encoding an event", e.to_string()))
    })?;
    let mut pipe = redis::pipe();
    pipe.cmd("XADD")
        .arg(&key)
        .arg("MAXLEN")
        .arg("~")
        .arg(EVENTS_MAX)
        .arg("*")
        .arg("event")
        .arg(payload)
        .ignore()
        .expire(&key, EVENTS_TTL_SECONDS)
        .ignore();
    pipe.query_async::<()>(conn).await
}

/// Events after `after` (`0` for all), waiting up to `block` for the first
/// (not at all when `block` is zero).
pub async fn read(
    conn: &mut (impl ConnectionLike + Send + Sync),
    prefix: &str,
    job: Uuid,
    after: &str,
    block: Duration,
) -> Result<Vec<(String, JobEvent)>, redis::RedisError> {
    let mut options = redis::streams::StreamReadOptions::default().count(200);
    if !block.is_zero() {
        options = options.block(usize::try_from(block.as_millis()).unwrap_or(usize::MAX));
    }
    let key = events_key(prefix, job);
    let reply: Option<redis::streams::StreamReadReply> =
        conn.xread_options(&[&key], &[after], &options).await?;
    let mut events = Vec::new();
    for stream in reply.map(|r| r.keys).unwrap_or_default() {
        for entry in stream.ids {
            let payload: Option<String> = entry.get("event");
            if let Some(event) = payload.and_then(|p| serde_json::from_str(&p).ok()) {
                events.push((entry.id, event));
            }
        }
    }
    Ok(events)
}
