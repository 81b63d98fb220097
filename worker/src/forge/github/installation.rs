//! GitHub App installation tokens: minted from a JWT the app signs, kept
//! until a few minutes before they expire.
//!
//! The JWT (NOTES §1, "JWT requirements") is RS256-signed with `iss` the
//! app id, `iat` a minute in the past to absorb clock drift and `exp` nine
//! minutes ahead, within GitHub's ten; octocrab's `create_jwt` makes
//! exactly that. The token itself comes from
//! `POST /app/installations/{id}/access_tokens` and lasts an hour.
//!
//! Callers asking for one installation's token at the same time share one
//! mint: each installation has its own lock, held across the mint.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use octocrab::Octocrab;
use octocrab::models::AppId;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::config::AppCredentials;
use super::errors;
use crate::forge::{ForgeError, ForgeErrorKind};

/// The part of GitHub's `installation-token` answer Hero needs; both fields
/// are the schema's required ones.
#[derive(Deserialize)]
struct MintedToken {
    token: SecretString,
    expires_at: DateTime<Utc>,
}

#[derive(Clone)]
struct CachedToken {
    token: SecretString,
    expires_at: DateTime<Utc>,
}

type Slot = Arc<tokio::sync::Mutex<Option<CachedToken>>>;

/// Mints and caches the tokens of one app's installations.
pub(super) struct InstallationTokens {
    app_id: u64,
    key: octocrab::EncodingKey,
    refresh_margin: chrono::Duration,
    slots: Mutex<HashMap<i64, Slot>>,
}

impl InstallationTokens {
    /// Parses the app's key and signs one JWT with it, so that a key that
    /// cannot sign is found at start.
    pub(super) fn new(app: &AppCredentials, refresh_margin: Duration) -> Result<Self, String> {
        let key = octocrab::EncodingKey::from_rsa_pem(app.private_key.expose_secret().as_bytes())
            .map_err(|_| {
            "the GitHub App's private key is not an RSA key in PEM form".to_owned()
        })?;
        octocrab::auth::create_jwt(AppId(app.app_id), &key)
            .map_err(|_| "the GitHub App's private key cannot sign a JWT".to_owned())?;
        Ok(Self {
            app_id: app.app_id,
            key,
            refresh_margin: chrono::Duration::from_std(refresh_margin)
                .unwrap_or(chrono::Duration::MAX),
            slots: Mutex::new(HashMap::new()),
        })
    }

    /// A token for the installation good for at least the refresh margin:
    /// the cached one, or a new one.
    pub(super) async fn token(
        &self,
        client: &Octocrab,
        installation_id: i64,
        request_timeout: Duration,
    ) -> Result<SecretString, ForgeError> {
        let slot = self.slot(installation_id);
        let mut cached = slot.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| self.is_fresh(t)) {
            return Ok(token.token.clone());
        }

        let minted = self.mint(client, installation_id, request_timeout).await?;
        *cached = Some(minted.clone());
        Ok(minted.token)
    }

    /// Drops the cached token if it is still `token`, after GitHub refused
    /// it (revoked, or the installation changed).
    pub(super) async fn forget(&self, installation_id: i64, token: &SecretString) {
        let slot = self.slot(installation_id);
        let mut cached = slot.lock().await;
        if cached
            .as_ref()
            .is_some_and(|c| c.token.expose_secret() == token.expose_secret())
        {
            *cached = None;
        }
    }

    #[tracing::instrument(skip_all, fields(installation_id = installation_id))]
    async fn mint(
        &self,
        client: &Octocrab,
        installation_id: i64,
        request_timeout: Duration,
    ) -> Result<CachedToken, ForgeError> {
        const WHAT: &str = "minting an installation token";
        let jwt = octocrab::auth::create_jwt(AppId(self.app_id), &self.key).map_err(|_| {
            ForgeError::new(
                ForgeErrorKind::Unauthorized,
                format!("{WHAT}: signing the app's JWT failed"),
            )
        })?;
        let as_app = client
            .user_access_token(SecretString::from(jwt))
            .map_err(|e| errors::from_octocrab(WHAT, e))?;

        // TODO: narrow tokens to the repository and contents/pull_requests for the sandbox (NOTES §5); the cache is per installation for now.
        let route = format!("/app/installations/{installation_id}/access_tokens");
        let minted: MintedToken = tokio::time::timeout(
            request_timeout,
            as_app.post(route, Some(&serde_json::json!({}))),
        )
        .await
        .map_err(|_| errors::timed_out(WHAT, request_timeout))?
        .map_err(|e| errors::from_octocrab(WHAT, e))?;

        tracing::info!(expires_at = %minted.expires_at, "minted an installation token");
        Ok(CachedToken {
            token: minted.token,
            expires_at: minted.expires_at,
        })
    }

    fn is_fresh(&self, token: &CachedToken) -> bool {
        Utc::now()
            .checked_add_signed(self.refresh_margin)
            .is_some_and(|soon| token.expires_at > soon)
    }

    fn slot(&self, installation_id: i64) -> Slot {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(installation_id)
            .or_default()
            .clone()
    }
}

impl std::fmt::Debug for InstallationTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstallationTokens")
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}
