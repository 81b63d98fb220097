//! What every request handler can reach.

use std::sync::Arc;

use hero_common::github_oauth::OAuthTokenStore;
use hero_common::jobs::dispatch::Dispatcher;
use hero_common::jobs::events::StatusFeed;
use hero_common::store::Stores;
use hero_common::vault::Vault;

use crate::webhooks::signature::WebhookSecret;

#[derive(Clone)]
pub struct AppState {
    pub stores: Stores,
    pub vault: Arc<Vault>,
    /// Present when GitHub sign-in (OAuth) is configured.
    pub oauth: Option<Arc<OAuthTokenStore>>,
    /// Sends an idle project's new job to its queue at once.
    pub dispatcher: Dispatcher,
    /// Job status changes, for requests that wait on a job.
    pub feed: StatusFeed,
    /// For connections of their own (following a job's events blocks one).
    pub redis_client: redis::Client,
    /// Present when this Hero serves the local forge (`HERO_FORGE=local`).
    pub local_forge: Option<Arc<crate::routes::git::LocalForgeServer>>,
    /// Present when GITHUB_WEBHOOK_SECRET is set; without it the webhook
    /// route refuses every delivery.
    pub github_webhook_secret: Option<Arc<WebhookSecret>>,
}
