//! Publishing a job's events (status changes and command output, already
//! redacted) to its Redis stream, where `GET /v1/jobs/{id}/events` follows
//! them. Output is handed over without waiting and written by a task of its
//! own, so a slow Redis never slows a command down.

use apalis_redis::ConnectionManager;
use hero_common::jobs::JobStatus;
use hero_common::jobs::events::{self, JobEvent};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::sandbox::OutputStream;

/// Where every job's events go.
#[derive(Clone)]
pub struct OutputSink {
    redis: ConnectionManager,
    prefix: String,
}

impl OutputSink {
    pub fn new(redis: ConnectionManager, prefix: String) -> Self {
        Self { redis, prefix }
    }

    /// Announces a status change on the job's stream. A lost event costs a
    /// follower nothing: it reads the status from the record too.
    pub async fn status(&self, job: Uuid, status: JobStatus) {
        let mut redis = self.redis.clone();
        let event = JobEvent::Status { status };
        if let Err(error) = events::publish(&mut redis, &self.prefix, job, &event).await {
            tracing::debug!(%error, "publishing a job status event failed");
        }
    }

    /// A writer for one job's command output.
    pub fn for_job(&self, job: Uuid) -> JobOutput {
        let (sender, mut receiver) = mpsc::unbounded_channel::<JobEvent>();
        let mut redis = self.redis.clone();
        let prefix = self.prefix.clone();
        let writer = tokio::spawn(async move {
            while let Some(event) = receiver.recv().await {
                if let Err(error) = events::publish(&mut redis, &prefix, job, &event).await {
                    tracing::debug!(%error, "publishing job output failed");
                }
            }
        });
        JobOutput {
            sender,
            writer,
            stdout: Utf8Carry::default(),
            stderr: Utf8Carry::default(),
        }
    }
}

/// One job's output on its way to Redis.
pub struct JobOutput {
    sender: mpsc::UnboundedSender<JobEvent>,
    writer: JoinHandle<()>,
    stdout: Utf8Carry,
    stderr: Utf8Carry,
}

impl JobOutput {
    /// Queues a chunk of (redacted) output.
    pub fn push(&mut self, stream: OutputStream, bytes: &[u8]) {
        let (name, carry) = match stream {
            OutputStream::Stdout => ("stdout", &mut self.stdout),
            OutputStream::Stderr => ("stderr", &mut self.stderr),
        };
        let text = carry.decode(bytes);
        if !text.is_empty() {
            let event = JobEvent::Output {
                stream: name.to_owned(),
                text,
            };
            self.sender.send(event).ok();
        }
    }

    /// Waits until everything queued is written.
    pub async fn finish(self) {
        drop(self.sender);
        self.writer.await.ok();
    }
}

/// Turns a byte stream into text without splitting a character that a
/// chunk boundary cut in two: its first bytes wait for the rest.
#[derive(Default)]
struct Utf8Carry {
    pending: Vec<u8>,
}

impl Utf8Carry {
    fn decode(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let complete = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            // An incomplete sequence at the end: keep it for the next chunk.
            Err(error) if error.error_len().is_none() => error.valid_up_to(),
            // Invalid bytes are not text; show them replaced.
            Err(_) => self.pending.len(),
        };
        let rest = self.pending.split_off(complete);
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending = rest;
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_split_across_chunks_arrives_whole() {
        let mut carry = Utf8Carry::default();
        let bytes = "héllo".as_bytes();

        let first = carry.decode(&bytes[..2]);
        let second = carry.decode(&bytes[2..]);

        assert_eq!(first, "h");
        assert_eq!(second, "éllo");
    }

    #[test]
    fn invalid_bytes_are_replaced_not_held_back() {
        let mut carry = Utf8Carry::default();

        let text = carry.decode(b"a\xffb");

        assert_eq!(text, "a\u{fffd}b");
        assert!(carry.pending.is_empty());
    }
}
