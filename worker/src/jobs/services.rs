//! Everything a worker process shares between the jobs it runs.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use hero_common::github_oauth::OAuthTokenStore;
use hero_common::jobs::dispatch::Dispatcher;
use hero_common::jobs::events::StatusFeed;
use hero_common::jobs::queue::{self, QueueSettings};
use hero_common::local_forge::{ForgeLayout, ForgeTokens};
use hero_common::settings::{ForgeKind, Settings};
use hero_common::store::Stores;
use hero_common::vault::Vault;
use secrecy::ExposeSecret;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::cancel::Cancellations;
use super::output::OutputSink;
use crate::forge::Forge;
use crate::forge::github::GitHubForge;
use crate::forge::local::LocalForge;
use crate::lease::{PgLeaseTable, PoolConfig, SandboxPool};
use crate::sandbox::SandboxProvider;
use crate::tools::ToolLimits;

/// What agent branches and commits look like, from settings; each
/// project adds its default branch and whether it may be pushed to.
#[derive(Debug, Clone)]
pub struct BranchRules {
    pub prefix: String,
    pub author_name: String,
    pub author_email: String,
}

/// The shared state of one worker process.
pub struct Services {
    /// Unique per process start: lease holders and apalis workers are named
    /// after it.
    pub worker: String,
    pub stores: Stores,
    pub vault: Arc<Vault>,
    pub pool: SandboxPool,
    pub forge: Arc<dyn Forge>,
    pub dispatcher: Dispatcher,
    pub queue: QueueSettings,
    pub output: OutputSink,
    pub cancellations: Cancellations,
    pub limits: ToolLimits,
    pub branches: BranchRules,
    pub lease_ttl: Duration,
    pub install_timeout: Duration,
    /// Cancelled when the worker must stop running jobs (its shutdown
    /// grace has passed): running jobs go back to the queue.
    pub abort: CancellationToken,
}

impl Services {
    /// Builds a worker's services from settings, with `provider` for
    /// sandboxes.
    pub async fn build(
        settings: &Settings,
        pool: PgPool,
        provider: Arc<dyn SandboxProvider>,
        worker: String,
    ) -> anyhow::Result<Arc<Self>> {
        hero_common::metrics::install();
        let stores = Stores::postgres(pool.clone());
        let key = settings.encryption_key()?;
        let previous = &settings.secrets_encryption_key_previous;
        let vault = Vault::open(&stores, key, previous)
            .await
            .context("registering the encryption keys")?;

        let forge: Arc<dyn Forge> = match settings.forge {
            ForgeKind::Local => Arc::new(LocalForge::new(
                ForgeLayout::in_data_dir(&settings.data_dir),
                settings.local_forge_url(),
                ForgeTokens::new(key),
                Arc::clone(&stores.local_pull_requests),
            )),
            ForgeKind::Github => {
                let oauth = OAuthTokenStore::from_settings(settings, pool.clone(), &stores).await?;
                Arc::new(GitHubForge::from_settings(settings, oauth)?)
            }
        };

        let redis_url = settings.redis_url.expose_secret();
        let redis = queue::connect(redis_url)
            .await
            .context("connecting to Redis (REDIS_URL)")?;
        let dispatcher =
            Dispatcher::new(stores.jobs.clone(), redis.clone(), settings.queue.clone());
        let feed = StatusFeed::listen(&pool)
            .await
            .context("listening for job status changes")?;

        let table = PgLeaseTable::open(pool, settings.max_sandboxes, settings.lease_ttl);
        let sandboxes = SandboxPool::new(
            table,
            provider,
            PoolConfig {
                idle_timeout: settings.sandbox_idle_timeout,
                template: settings.sandbox_template.clone(),
                ..PoolConfig::default()
            },
        );

        Ok(Arc::new(Self {
            worker,
            vault: Arc::new(vault),
            pool: sandboxes,
            forge,
            dispatcher,
            queue: settings.queue.clone(),
            output: OutputSink::new(redis, settings.queue.prefix.clone()),
            cancellations: Cancellations::follow(feed),
            limits: ToolLimits::from_settings(settings),
            branches: BranchRules {
                prefix: settings.branch_prefix.clone(),
                author_name: settings.commit_author_name.clone(),
                author_email: settings.commit_author_email.clone(),
            },
            lease_ttl: settings.lease_ttl,
            install_timeout: settings.install_timeout,
            abort: CancellationToken::new(),
            stores,
        }))
    }
}

/// A worker name no other process has used: host, process and a random
/// part, so a restarted worker never collides with its former self in
/// apalis's worker registry.
pub fn unique_worker_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".to_owned());
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &suffix[..8])
}
