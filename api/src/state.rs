//! What every request handler can reach.

use std::sync::Arc;

use hero_common::store::Stores;
use hero_common::vault::Vault;

#[derive(Clone)]
pub struct AppState {
    pub stores: Stores,
    pub vault: Arc<Vault>,
}
