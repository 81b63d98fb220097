//! The fake E2B with a Hero client aimed at it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hero_tests::fake_e2b::FakeE2b;
use hero_worker::sandbox::e2b::{E2bConfig, E2bProvider};
use hero_worker::sandbox::{CreateSpec, Sandbox, SandboxProvider};

pub struct Env {
    pub fake: FakeE2b,
    pub provider: E2bProvider,
    pub config: E2bConfig,
}

impl Env {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A fake, and a client whose configuration `tune` may change.
    pub async fn start_with(tune: impl FnOnce(&mut E2bConfig)) -> Self {
        let root = std::env::temp_dir().join(format!("hero-fake-e2b-{}", uuid::Uuid::new_v4()));
        let fake = FakeE2b::start(root).await;
        let mut config = fake.client_config();
        tune(&mut config);
        let provider = E2bProvider::new(config.clone()).unwrap();
        Self {
            fake,
            provider,
            config,
        }
    }

    /// For the shared suite.
    pub fn shared(&self) -> Arc<dyn SandboxProvider> {
        Arc::new(self.provider.clone())
    }

    pub async fn sandbox(&self) -> Arc<dyn Sandbox> {
        self.provider.create(spec()).await.unwrap()
    }
}

pub fn spec() -> CreateSpec {
    CreateSpec {
        timeout: Duration::from_secs(600),
        ..CreateSpec::default()
    }
}

/// Waits until `check` holds, polling; panics naming `what` if it never
/// does within a generous bound.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never happened: {what}");
}

/// Fails the test instead of hanging it.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), future)
        .await
        .unwrap_or_else(|_| panic!("{what} hung"))
}
