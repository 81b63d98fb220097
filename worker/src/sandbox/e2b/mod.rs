//! E2B's cloud sandboxes.
//!
//! Two HTTP APIs make one provider: the control plane (`api.<domain>`,
//! authenticated by `X-API-Key`) creates, describes, lists, times out and
//! kills sandboxes, and envd, the daemon inside each sandbox, runs commands
//! and touches files through Connect RPC and a small HTTP API. The wire
//! details follow the official specs and the SDK's observed behaviour,
//! recorded in `shared/specs/e2b/NOTES.md`; comments cite its sections.

mod config;
mod control;
mod envd;
mod envelope;
mod process;
mod transport;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use config::{E2bConfig, E2bConfigError, ENVD_PORT};
pub use control::{SandboxDetail, SandboxState};
pub use envd::E2bSandbox;

use super::{CreateSpec, Sandbox, SandboxError, SandboxInfo, SandboxProvider};
use control::{ControlPlane, SandboxAccess};
use transport::Transport;

/// What the provider and every sandbox handle it gives out share.
struct Shared {
    config: E2bConfig,
    transport: Transport,
}

/// The E2B provider. Cheap to clone.
#[derive(Clone)]
pub struct E2bProvider {
    shared: Arc<Shared>,
    control: Arc<ControlPlane>,
}

impl E2bProvider {
    pub fn new(config: E2bConfig) -> Result<Self, SandboxError> {
        let transport = Transport::new(&config)?;
        let control = ControlPlane::new(&config, transport.clone());
        Ok(Self {
            shared: Arc::new(Shared { config, transport }),
            control: Arc::new(control),
        })
    }

    /// E2B's own description of one sandbox: template, resources, state
    /// and deadline. It is no part of [`SandboxProvider`], which keeps to
    /// what both providers do.
    pub async fn get(&self, id: &str) -> Result<SandboxDetail, SandboxError> {
        self.control.get(id).await
    }

    /// A handle from what create or connect answered.
    fn handle(&self, access: SandboxAccess) -> E2bSandbox {
        let envd_url = self
            .shared
            .config
            .envd_url(&access.sandbox_id, access.domain.as_deref());
        E2bSandbox {
            shared: self.shared.clone(),
            envd_version: envd::parse_version(&access.envd_version),
            id: access.sandbox_id,
            envd_url,
            access_token: access.envd_access_token,
        }
    }
}

#[async_trait]
impl SandboxProvider for E2bProvider {
    fn name(&self) -> &'static str {
        "e2b"
    }

    async fn create(&self, spec: CreateSpec) -> Result<Arc<dyn Sandbox>, SandboxError> {
        let access = self.control.create(&spec).await?;
        Ok(Arc::new(self.handle(access)))
    }

    async fn connect(&self, id: &str) -> Result<Arc<dyn Sandbox>, SandboxError> {
        let access = self.control.connect(id).await?;
        Ok(Arc::new(self.handle(access)))
    }

    async fn kill(&self, id: &str) -> Result<bool, SandboxError> {
        self.control.kill(id).await
    }

    async fn list(
        &self,
        metadata: &BTreeMap<String, String>,
    ) -> Result<Vec<SandboxInfo>, SandboxError> {
        self.control.list(metadata).await
    }

    async fn set_timeout(&self, id: &str, timeout: Duration) -> Result<(), SandboxError> {
        self.control.set_timeout(id, timeout).await
    }

    async fn health(&self) -> Result<(), SandboxError> {
        self.control.ping().await
    }
}
