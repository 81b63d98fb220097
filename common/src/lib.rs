//! What every Hero process shares: configuration, domain types, storage,
//! the encryption of secrets, and logging setup.

pub mod api_token;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod github_oauth;
pub mod jobs;
pub mod local_forge;
pub mod metrics;
pub mod redact;
pub mod settings;
pub mod shutdown;
pub mod store;
pub mod telemetry;
pub mod tool_call;
pub mod validate;
pub mod vault;
pub mod webhook_triggers;
