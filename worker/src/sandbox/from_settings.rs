//! The sandbox provider a process's settings ask for.

use std::sync::Arc;

use hero_common::settings::{SandboxIsolation, SandboxProvider as ProviderKind, Settings};

use super::e2b::{E2bConfig, E2bProvider};
use super::local::{IsolationMode, LocalConfig, LocalProvider};
use super::{SandboxError, SandboxProvider};

/// Builds the configured provider. A local provider says at start, loudly,
/// when it cannot isolate commands.
pub async fn provider_from_settings(
    settings: &Settings,
) -> Result<Arc<dyn SandboxProvider>, SandboxError> {
    match settings.sandbox_provider {
        ProviderKind::Local => {
            let isolation = match settings.sandbox_isolation {
                SandboxIsolation::Auto => IsolationMode::Auto,
                SandboxIsolation::Required => IsolationMode::Required,
                SandboxIsolation::Disabled => IsolationMode::Disabled,
            };
            let provider = LocalProvider::new(LocalConfig {
                root: settings.data_dir.join("sandboxes"),
                isolation,
                network: settings.sandbox_network,
            })
            .await?;
            Ok(Arc::new(provider))
        }
        ProviderKind::E2b => {
            let api_key = settings
                .e2b_api_key
                .clone()
                .ok_or_else(|| SandboxError::refused("E2B_API_KEY is required for e2b"))?;
            let mut config = E2bConfig::new(api_key);
            if let Some(domain) = &settings.e2b_domain {
                config.api_url = format!("https://api.{domain}");
                config.domain.clone_from(domain);
            }
            if let Some(api_url) = &settings.e2b_api_url {
                config.api_url.clone_from(api_url);
            }
            config.sandbox_url.clone_from(&settings.e2b_sandbox_url);
            Ok(Arc::new(E2bProvider::new(config)?))
        }
    }
}
