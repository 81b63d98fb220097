//! Checking out a project's sandbox: lease it, make sure it is alive (or
//! replace it), create it when there is none, and wait for capacity when
//! every slot is busy.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;
use uuid::Uuid;

use super::table::{Busy, Claimed, Lease, LeaseError, LeaseTable};
use crate::sandbox::{
    CreateSpec, MANAGED_BY_KEY, MANAGED_BY_VALUE, Sandbox, SandboxError, SandboxErrorKind,
    SandboxProvider,
};

/// Metadata keys Hero puts on every sandbox it creates.
pub const SANDBOX_ROW_KEY: &str = "hero_sandbox";
pub const PROJECT_KEY: &str = "hero_project";

#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// How long a checkout waits for capacity before giving up (the job is
    /// then retried later, not failed).
    pub max_wait: Duration,
    /// Sandboxes idle this long are closed by the reaper.
    pub idle_timeout: Duration,
    /// Added to `idle_timeout` for the provider's own timeout, so a sandbox
    /// Hero forgets still dies, but never before Hero's reaper gets to it.
    pub provider_timeout_margin: Duration,
    pub template: Option<String>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_wait: Duration::from_secs(300),
            idle_timeout: Duration::from_secs(3600),
            provider_timeout_margin: Duration::from_secs(600),
            template: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error(transparent)]
    Lease(#[from] LeaseError),
    #[error("sandbox provider: {0}")]
    Provider(#[from] SandboxError),
}

/// A leased, live sandbox.
pub struct Checkout {
    pub lease: Lease,
    pub sandbox: Arc<dyn Sandbox>,
    /// Created for this checkout: it holds nothing yet (needs hydrating).
    pub fresh: bool,
    /// How long the checkout waited for the lease or for capacity.
    pub waited: Duration,
}

/// The sandboxes of every project, shared by all workers through the lease
/// table.
#[derive(Clone)]
pub struct SandboxPool {
    table: LeaseTable,
    provider: Arc<dyn SandboxProvider>,
    config: PoolConfig,
}

/// What preparing a leased row found.
enum Prepared {
    Ready(Arc<dyn Sandbox>, bool),
    /// The sandbox was dead and is marked so; acquire again for a new one.
    Replaced,
}

impl SandboxPool {
    pub fn new(table: LeaseTable, provider: Arc<dyn SandboxProvider>, config: PoolConfig) -> Self {
        Self {
            table,
            provider,
            config,
        }
    }

    pub fn table(&self) -> &LeaseTable {
        &self.table
    }

    pub fn provider(&self) -> &Arc<dyn SandboxProvider> {
        &self.provider
    }

    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// Leases the project's sandbox for `holder`, waiting up to
    /// `max_wait` while it is held elsewhere or every slot is busy. At
    /// capacity, the least recently used idle sandbox is closed to make room.
    pub async fn checkout(&self, project_id: Uuid, holder: &str) -> Result<Checkout, PoolError> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(10);

        loop {
            match self
                .table
                .try_acquire(project_id, self.provider.name(), holder)
                .await?
            {
                Ok(lease) => match self.prepare(&lease).await? {
                    Prepared::Ready(sandbox, fresh) => {
                        let waited = started.elapsed();
                        tracing::debug!(%project_id, sandbox = sandbox.id(), fresh, ?waited, "sandbox checked out");
                        return Ok(Checkout {
                            lease,
                            sandbox,
                            fresh,
                            waited,
                        });
                    }
                    Prepared::Replaced => continue,
                },
                Err(Busy::AtCapacity) => {
                    if self.evict_least_recently_used(holder).await? {
                        continue;
                    }
                }
                Err(Busy::Contended) => continue,
                Err(Busy::Held) => {}
            }

            let waited = started.elapsed();
            if waited >= self.config.max_wait {
                return Err(LeaseError::WaitExceeded { waited }.into());
            }
            let jitter = rand::thread_rng().gen_range(0..=pause.as_millis() / 2);
            let jitter = Duration::from_millis(u64::try_from(jitter).unwrap_or(0));
            tokio::time::sleep((pause + jitter).min(self.config.max_wait - waited)).await;
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }

    /// Gives the sandbox back for the project's next job.
    pub async fn release(&self, checkout: Checkout) -> Result<(), LeaseError> {
        self.table.release(&checkout.lease).await
    }

    /// Turns a fresh lease into a live sandbox: connect and health-check
    /// the one recorded, or create one.
    async fn prepare(&self, lease: &Lease) -> Result<Prepared, PoolError> {
        let provider_timeout = self.config.idle_timeout + self.config.provider_timeout_margin;

        let Some(provider_id) = lease.provider_id.clone() else {
            let sandbox = match self.create(lease, provider_timeout).await {
                Ok(sandbox) => sandbox,
                Err(error) => {
                    self.table.mark_failed(lease, &error.to_string()).await?;
                    return Err(error.into());
                }
            };
            let mut lease = lease.clone();
            if let Err(error) = self.table.mark_ready(&mut lease, sandbox.id()).await {
                // Lost the lease while creating: the new sandbox is nobody's.
                self.provider.kill(sandbox.id()).await.ok();
                return Err(error.into());
            }
            return Ok(Prepared::Ready(sandbox, true));
        };

        let alive = if lease.provider == self.provider.name() {
            self.connect_healthy(&provider_id, provider_timeout).await
        } else {
            Err(SandboxError::gone(format!(
                "made by provider {:?}, now using {:?}",
                lease.provider,
                self.provider.name()
            )))
        };
        match alive {
            Ok(sandbox) => Ok(Prepared::Ready(sandbox, false)),
            Err(error)
                if matches!(
                    error.kind,
                    SandboxErrorKind::Gone | SandboxErrorKind::NotFound
                ) =>
            {
                tracing::info!(project_id = %lease.project_id, sandbox = %provider_id, %error, "sandbox is dead; replacing it");
                self.table.mark_failed(lease, &error.to_string()).await?;
                Ok(Prepared::Replaced)
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn create(
        &self,
        lease: &Lease,
        timeout: Duration,
    ) -> Result<Arc<dyn Sandbox>, SandboxError> {
        let metadata = BTreeMap::from([
            (MANAGED_BY_KEY.to_owned(), MANAGED_BY_VALUE.to_owned()),
            (SANDBOX_ROW_KEY.to_owned(), lease.id.to_string()),
            (PROJECT_KEY.to_owned(), lease.project_id.to_string()),
        ]);
        let spec = CreateSpec {
            template: self.config.template.clone(),
            env: BTreeMap::new(),
            timeout,
            metadata,
        };
        let sandbox = self.provider.create(spec).await?;
        tracing::info!(project_id = %lease.project_id, sandbox = sandbox.id(), provider = self.provider.name(), "sandbox created");
        Ok(sandbox)
    }

    /// Connects, checks the sandbox answers, and pushes its provider timeout
    /// out again: using a sandbox refreshes it.
    async fn connect_healthy(
        &self,
        id: &str,
        timeout: Duration,
    ) -> Result<Arc<dyn Sandbox>, SandboxError> {
        let sandbox = self.provider.connect(id).await?;
        sandbox.health().await?;
        self.provider.set_timeout(id, timeout).await?;
        Ok(sandbox)
    }

    /// Closes the least recently used sandbox nobody holds; false when every
    /// sandbox is held.
    async fn evict_least_recently_used(&self, holder: &str) -> Result<bool, PoolError> {
        let Some(claimed) = self.table.claim_least_recently_used(holder).await? else {
            return Ok(false);
        };
        tracing::info!(project_id = %claimed.project_id, "closing the least recently used sandbox to make room");
        self.close_claimed(&claimed).await?;
        Ok(true)
    }

    /// Destroys a claimed sandbox at the provider, then frees its row.
    pub async fn close_claimed(&self, claimed: &Claimed) -> Result<(), PoolError> {
        if let Some(provider_id) = &claimed.provider_id {
            if claimed.provider == self.provider.name() {
                self.provider.kill(provider_id).await?;
            } else {
                tracing::warn!(provider = %claimed.provider, sandbox = %provider_id, "cannot reach the provider that made this sandbox; forgetting it");
            }
        }
        self.table.mark_closed(claimed).await?;
        Ok(())
    }
}
