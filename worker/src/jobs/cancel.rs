//! Cancelling running jobs. A cancel request is a flag on the job's row;
//! its trigger announces the change, and the worker running the job hears
//! it here and cancels that job's token, which kills its command.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hero_common::jobs::events::StatusFeed;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The tokens of the jobs this process runs, cancelled when their job's
/// cancel is requested.
#[derive(Clone, Default)]
pub struct Cancellations {
    running: Arc<Mutex<HashMap<Uuid, CancellationToken>>>,
}

/// Removes a job's token when its run ends.
pub struct Registered {
    cancellations: Cancellations,
    job: Uuid,
    pub token: CancellationToken,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.cancellations.lock().remove(&self.job);
    }
}

impl Cancellations {
    /// Cancellations that follow `feed` for as long as the process runs.
    pub fn follow(feed: StatusFeed) -> Self {
        let cancellations = Self::default();
        let running = cancellations.clone();
        let mut changes = feed.subscribe();
        tokio::spawn(async move {
            // The feed stays alive as long as this task holds it.
            let _feed = feed;
            loop {
                match changes.recv().await {
                    Ok(change) if change.cancel_requested => running.cancel(change.id),
                    Ok(_) => {}
                    // Missed announcements: the runner also reads the flag
                    // itself when it starts, and between steps.
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "job status feed lagged");
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        });
        cancellations
    }

    /// A token for `job`, cancelled when its cancel is requested, until
    /// the returned guard is dropped.
    pub fn register(&self, job: Uuid) -> Registered {
        let token = CancellationToken::new();
        self.lock().insert(job, token.clone());
        Registered {
            cancellations: self.clone(),
            job,
            token,
        }
    }

    pub fn cancel(&self, job: Uuid) {
        if let Some(token) = self.lock().get(&job) {
            tracing::info!(job_id = %job, "job cancel requested; stopping it");
            token.cancel();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, CancellationToken>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_registered_job_is_cancelled_and_only_while_registered() {
        let cancellations = Cancellations::default();
        let job = Uuid::new_v4();

        let registered = cancellations.register(job);
        cancellations.cancel(Uuid::new_v4());
        assert!(!registered.token.is_cancelled());
        cancellations.cancel(job);
        assert!(registered.token.is_cancelled());

        let token = registered.token.clone();
        drop(registered);
        let again = cancellations.register(job);
        assert!(token.is_cancelled());
        assert!(!again.token.is_cancelled());
    }
}
