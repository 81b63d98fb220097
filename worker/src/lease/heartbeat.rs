//! Keeping a lease alive while a job uses its sandbox.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::table::{Lease, LeaseError, LeaseTable};

/// Heartbeats a lease in the background until dropped. `lost` is cancelled
/// if the lease is lost, so the job can stop before it overwrites anything.
pub struct Heartbeat {
    task: JoinHandle<()>,
    pub lost: CancellationToken,
}

impl Heartbeat {
    /// Beats every `interval` (a third of the lease's time to live is
    /// usual, so two beats may fail before the lease expires).
    pub fn start(table: LeaseTable, mut lease: Lease, interval: Duration) -> Self {
        let lost = CancellationToken::new();
        let signal = lost.clone();
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                match table.heartbeat(&mut lease).await {
                    Ok(()) => {}
                    Err(LeaseError::Lost) => {
                        tracing::warn!(sandbox_row = %lease.id, "sandbox lease lost");
                        signal.cancel();
                        return;
                    }
                    // A database hiccup: the lease has time left; try again.
                    Err(error) => tracing::warn!(%error, "sandbox lease heartbeat failed"),
                }
            }
        });
        Self { task, lost }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}
