//! Local providers on temporary directories, removed when dropped.

use std::path::PathBuf;
use std::sync::Arc;

use hero_worker::sandbox::SandboxProvider;
use hero_worker::sandbox::local::{IsolationMode, LocalConfig, LocalProvider};

/// A local provider whose sandboxes live in a fresh temporary directory.
pub struct TempProvider {
    pub provider: LocalProvider,
    pub root: PathBuf,
}

impl TempProvider {
    pub async fn new(isolation: IsolationMode, network: bool) -> Self {
        let root = std::env::temp_dir().join(format!("hero-sandboxes-{}", uuid::Uuid::new_v4()));
        let provider = LocalProvider::new(LocalConfig {
            root: root.clone(),
            isolation,
            network,
        })
        .await
        .expect("local provider (is bubblewrap installed? .ci/run installs it)");
        Self { provider, root }
    }

    pub fn shared(&self) -> Arc<dyn SandboxProvider> {
        Arc::new(self.provider.clone())
    }
}

impl Drop for TempProvider {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.root).ok();
    }
}
