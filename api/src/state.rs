//! What every request handler can reach.

use std::sync::Arc;

use hero_common::github_oauth::OAuthTokenStore;
use hero_common::store::Stores;
use hero_common::vault::Vault;

#[derive(Clone)]
pub struct AppState {
    pub stores: Stores,
    pub vault: Arc<Vault>,
    /// Present when GitHub sign-in (OAuth) is configured.
    pub oauth: Option<Arc<OAuthTokenStore>>,
}
