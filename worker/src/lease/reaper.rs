//! Housekeeping the cron runs: close sandboxes someone asked to close and
//! idle ones, clean up stuck ones, and kill sandboxes Hero made but no
//! longer knows.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use chrono::Utc;

use super::pool::{PoolError, SandboxPool};
use super::table::Claimed;
use crate::sandbox::{MANAGED_BY_KEY, MANAGED_BY_VALUE};

/// What one reaping pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reaped {
    /// Closed because someone asked (the API's `DELETE .../sandbox`, or a
    /// webhook), whatever their idle time.
    pub requested_closed: usize,
    pub idle_closed: usize,
    pub stuck_cleaned: usize,
    pub orphans_killed: usize,
}

impl SandboxPool {
    /// Closes sandboxes whose closing was asked for and that nobody holds.
    /// One held when the request came is closed by the first pass after
    /// its lease is released.
    pub async fn close_requested(&self, holder: &str) -> Result<usize, PoolError> {
        let claimed = self.table().claim_close_requested(holder, 100).await?;
        let closed = self.close_each(&claimed, "requested").await;
        if closed > 0 {
            tracing::info!(closed, "closed sandboxes on request");
        }
        Ok(closed)
    }

    /// Closes sandboxes idle for longer than the pool's `idle_timeout`.
    /// A leased sandbox is never closed, however long its job runs.
    pub async fn close_idle(&self, holder: &str) -> Result<usize, PoolError> {
        let claimed = self
            .table()
            .claim_idle(self.config().idle_timeout, holder, 100)
            .await?;
        let closed = self.close_each(&claimed, "idle").await;
        if closed > 0 {
            tracing::info!(closed, "closed idle sandboxes");
        }
        Ok(closed)
    }

    /// Cleans up rows that would hold a slot forever: `starting` for longer
    /// than `stuck_after` whose creator died, `closing` whose closer died,
    /// and `failed` sandboxes still to be destroyed.
    pub async fn clean_stuck(
        &self,
        stuck_after: Duration,
        holder: &str,
    ) -> Result<usize, PoolError> {
        let claimed = self.table().claim_stuck(stuck_after, holder).await?;
        let cleaned = self.close_each(&claimed, "stuck").await;
        if cleaned > 0 {
            tracing::info!(cleaned, "cleaned up stuck sandboxes");
        }
        Ok(cleaned)
    }

    /// Closes every claimed sandbox it can and counts them. One that fails
    /// is left `closing`, which the stuck pass tries again.
    async fn close_each(&self, claimed: &[Claimed], reason: &'static str) -> usize {
        let mut closed = 0;
        for sandbox in claimed {
            match self.close_claimed(sandbox).await {
                Ok(()) => closed += 1,
                Err(error) => {
                    tracing::warn!(project_id = %sandbox.project_id, reason, %error, "closing a sandbox failed")
                }
            }
        }
        closed
    }

    /// Kills sandboxes that carry Hero's mark but that the table does not
    /// know, once older than `min_age` (a sandbox is created at the provider
    /// a moment before its id is recorded).
    pub async fn kill_orphans(&self, min_age: Duration) -> Result<usize, PoolError> {
        let marked = BTreeMap::from([(MANAGED_BY_KEY.to_owned(), MANAGED_BY_VALUE.to_owned())]);
        let listed = self.provider().list(&marked).await?;
        let known: HashSet<String> = self
            .table()
            .known_provider_ids()
            .await?
            .into_iter()
            .collect();
        let cutoff = Utc::now() - chrono::Duration::from_std(min_age).unwrap_or_default();

        let mut killed = 0;
        for sandbox in listed {
            if known.contains(&sandbox.id) || sandbox.started_at > cutoff {
                continue;
            }
            tracing::info!(sandbox = %sandbox.id, "killing an orphaned sandbox");
            if self.provider().kill(&sandbox.id).await? {
                killed += 1;
            }
        }
        Ok(killed)
    }

    /// Every pass, as the cron runs them. Requested closes go first, so a
    /// sandbox someone asked to close is counted as that and not as idle.
    pub async fn reap(
        &self,
        holder: &str,
        stuck_after: Duration,
        orphan_min_age: Duration,
    ) -> Result<Reaped, PoolError> {
        Ok(Reaped {
            requested_closed: self.close_requested(holder).await?,
            idle_closed: self.close_idle(holder).await?,
            stuck_cleaned: self.clean_stuck(stuck_after, holder).await?,
            orphans_killed: self.kill_orphans(orphan_min_age).await?,
        })
    }
}
