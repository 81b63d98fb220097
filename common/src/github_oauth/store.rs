//! Users' GitHub tokens at rest: sealed in `github_oauth_tokens`, handed
//! out fresh.
//!
//! Each token is sealed with its user and its role (access or refresh) as
//! associated data, so a ciphertext copied to another user's row, or from
//! one column to the other, does not open. A row is written whole in one
//! statement: GitHub rotates both tokens together, and a row holding the
//! new access token beside the old refresh token would be dead at the next
//! refresh.

use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use uuid::Uuid;

use super::{OAuthClient, OAuthError, UserTokens};
use crate::crypto::{Keyring, MasterKey, NONCE_LEN, OpenError, Sealed};
use crate::store::{StoreError, Stores};

/// How long before its expiry an access token is refreshed, so that a
/// token handed out does not expire in the middle of a git push.
const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Access,
    Refresh,
}

/// Keeps users' GitHub OAuth tokens sealed, and refreshes them.
pub struct OAuthTokenStore {
    pool: PgPool,
    keyring: Keyring,
    client: OAuthClient,
    refresh_margin: Duration,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    access_ciphertext: Vec<u8>,
    access_nonce: Vec<u8>,
    access_key_version: i32,
    access_expires_at: Option<DateTime<Utc>>,
    refresh_ciphertext: Option<Vec<u8>>,
    refresh_nonce: Option<Vec<u8>>,
    refresh_key_version: Option<i32>,
    refresh_expires_at: Option<DateTime<Utc>>,
}

/// The columns of [`TokenRow`], as a literal for `concat!`: sqlx accepts
/// only static SQL.
macro_rules! columns {
    () => {
        "access_ciphertext, access_nonce, access_key_version, access_expires_at, \
         refresh_ciphertext, refresh_nonce, refresh_key_version, refresh_expires_at"
    };
}

impl OAuthTokenStore {
    /// A store sealing with `current` and still opening with `previous`;
    /// each key's fingerprint is registered so rows can name their key, as
    /// the secrets vault does.
    // TODO: `hero secrets rotate-key` does not reseal these rows yet; each moves to the current key at its next refresh or save.
    pub async fn open(
        pool: PgPool,
        stores: &Stores,
        current: &MasterKey,
        previous: &[MasterKey],
        client: OAuthClient,
    ) -> Result<Self, StoreError> {
        let current_version = stores.key_versions.register(&current.fingerprint()).await?;
        let mut older = Vec::with_capacity(previous.len());
        for key in previous {
            older.push((stores.key_versions.register(&key.fingerprint()).await?, key));
        }
        Ok(Self {
            pool,
            keyring: Keyring::new((current_version, current), &older),
            client,
            refresh_margin: DEFAULT_REFRESH_MARGIN,
        })
    }

    /// The store the settings ask for: `None` unless GitHub sign-in is
    /// configured (`GITHUB_CLIENT_ID` and `GITHUB_CLIENT_SECRET`).
    pub async fn from_settings(
        settings: &crate::settings::Settings,
        pool: PgPool,
        stores: &Stores,
    ) -> anyhow::Result<Option<std::sync::Arc<Self>>> {
        use anyhow::Context as _;

        if settings.github_client_id.is_none() || settings.github_client_secret.is_none() {
            return Ok(None);
        }
        let client = OAuthClient::new(super::OAuthConfig::from_settings(settings)?)?;
        let key = settings.encryption_key()?;
        let previous = &settings.secrets_encryption_key_previous;
        let store = Self::open(pool, stores, key, previous, client)
            .await
            .context("opening the GitHub token store")?;
        Ok(Some(std::sync::Arc::new(store)))
    }

    /// Refreshes access tokens this long before they expire (five minutes
    /// unless changed).
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    pub fn client(&self) -> &OAuthClient {
        &self.client
    }

    /// Exchanges the code from GitHub's redirect and keeps the tokens for
    /// `user_id`, replacing any it had.
    pub async fn connect(
        &self,
        user_id: Uuid,
        code: &str,
        redirect_uri: Option<&str>,
    ) -> Result<(), OAuthError> {
        let tokens = self.client.exchange_code(code, redirect_uri).await?;
        self.save(user_id, &tokens).await
    }

    /// Stores both tokens of `user_id` in one statement, replacing the pair
    /// it had.
    #[tracing::instrument(skip_all, fields(user_id = %user_id))]
    pub async fn save(&self, user_id: Uuid, tokens: &UserTokens) -> Result<(), OAuthError> {
        save(&self.pool, &self.keyring, user_id, tokens).await?;
        tracing::info!("saved GitHub OAuth tokens");
        Ok(())
    }

    /// Whether `user_id` has tokens stored (usable or not).
    pub async fn is_connected(&self, user_id: Uuid) -> Result<bool, OAuthError> {
        let found: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM github_oauth_tokens WHERE user_id = $1)",
        )
        .bind(user_id)
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(found)
    }

    /// Forgets the user's tokens; false when there were none.
    pub async fn disconnect(&self, user_id: Uuid) -> Result<bool, OAuthError> {
        let deleted = sqlx::query("DELETE FROM github_oauth_tokens WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(StoreError::from)?
            .rows_affected();
        Ok(deleted > 0)
    }

    /// An access token for `user_id` that is good for at least the refresh
    /// margin, refreshed first if need be.
    #[tracing::instrument(skip_all, fields(user_id = %user_id))]
    pub async fn valid_access_token(&self, user_id: Uuid) -> Result<SecretString, OAuthError> {
        // Most calls find a fresh token and need no lock.
        let row = sqlx::query_as::<_, TokenRow>(concat!(
            "SELECT ",
            columns!(),
            " FROM github_oauth_tokens WHERE user_id = $1"
        ))
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?
        .ok_or(OAuthError::NotConnected)?;
        if self.is_fresh(row.access_expires_at) {
            return self.open_token(user_id, Role::Access, &row.access_sealed()?);
        }

        self.refresh_locked(user_id, None).await
    }

    /// A new access token for `user_id` after GitHub refused `refused`
    /// before its stored expiry (revoked, or expired early): refreshed,
    /// unless another caller already replaced it.
    #[tracing::instrument(skip_all, fields(user_id = %user_id))]
    pub async fn refresh_refused(
        &self,
        user_id: Uuid,
        refused: &SecretString,
    ) -> Result<SecretString, OAuthError> {
        self.refresh_locked(user_id, Some(refused)).await
    }

    /// Refreshes under the row's lock, when the stored access token is about
    /// to expire or is the one GitHub `refused`. Whoever waited on the lock
    /// finds the pair the first caller stored and uses it instead of
    /// refreshing with a refresh token GitHub has already retired.
    async fn refresh_locked(
        &self,
        user_id: Uuid,
        refused: Option<&SecretString>,
    ) -> Result<SecretString, OAuthError> {
        let mut tx = self.pool.begin().await.map_err(StoreError::from)?;
        let row = sqlx::query_as::<_, TokenRow>(concat!(
            "SELECT ",
            columns!(),
            " FROM github_oauth_tokens WHERE user_id = $1 FOR UPDATE"
        ))
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?
        .ok_or(OAuthError::NotConnected)?;
        let stored = self.open_token(user_id, Role::Access, &row.access_sealed()?)?;
        let was_refused =
            refused.is_some_and(|refused| refused.expose_secret() == stored.expose_secret());
        if self.is_fresh(row.access_expires_at) && !was_refused {
            return Ok(stored);
        }

        let Some(refresh_sealed) = row.refresh_sealed()? else {
            return Err(OAuthError::Expired(
                "the access token expired and there is no refresh token".to_owned(),
            ));
        };
        if row.refresh_expires_at.is_some_and(|at| at <= Utc::now()) {
            return Err(OAuthError::Expired(
                "the refresh token has expired".to_owned(),
            ));
        }
        let refresh_token = self.open_token(user_id, Role::Refresh, &refresh_sealed)?;

        let tokens = match self.client.refresh(&refresh_token).await {
            Ok(tokens) => tokens,
            Err(OAuthError::Refused { code, description }) => {
                return Err(OAuthError::Expired(format!(
                    "GitHub refused the refresh token: {code}: {description}"
                )));
            }
            // A token that has not quite expired still serves while GitHub
            // is unreachable.
            Err(error)
                if error.is_transient() && !was_refused && still_valid(row.access_expires_at) =>
            {
                tracing::warn!(%error, "refreshing the GitHub token failed; using the current one");
                return Ok(stored);
            }
            Err(error) => return Err(error),
        };

        // From here GitHub has retired the old pair: losing this write
        // means the user must connect again.
        let saved = async {
            save(&mut *tx, &self.keyring, user_id, &tokens).await?;
            tx.commit().await.map_err(StoreError::from)
        };
        if let Err(error) = saved.await {
            tracing::error!(%error, "storing refreshed GitHub tokens failed; they are lost");
            return Err(error.into());
        }
        tracing::info!("refreshed GitHub OAuth tokens");
        Ok(tokens.access_token)
    }

    fn is_fresh(&self, expires_at: Option<DateTime<Utc>>) -> bool {
        match expires_at {
            None => true,
            Some(at) => {
                let margin = chrono::Duration::from_std(self.refresh_margin)
                    .unwrap_or(chrono::Duration::MAX);
                Utc::now()
                    .checked_add_signed(margin)
                    .is_some_and(|soon| at > soon)
            }
        }
    }

    fn open_token(
        &self,
        user_id: Uuid,
        role: Role,
        sealed: &Sealed,
    ) -> Result<SecretString, OAuthError> {
        let plain = self
            .keyring
            .open(&context(user_id, role), sealed)
            .map_err(OAuthError::Unreadable)?;
        // Tokens are sealed from `&str`, so they open as UTF-8.
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| OAuthError::Unreadable(OpenError::Unauthentic))
    }
}

impl std::fmt::Debug for OAuthTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthTokenStore")
            .field("keyring", &self.keyring)
            .field("refresh_margin", &self.refresh_margin)
            .finish_non_exhaustive()
    }
}

impl TokenRow {
    fn access_sealed(&self) -> Result<Sealed, OAuthError> {
        Ok(Sealed {
            key_version: self.access_key_version,
            nonce: nonce(&self.access_nonce)?,
            ciphertext: self.access_ciphertext.clone(),
        })
    }

    fn refresh_sealed(&self) -> Result<Option<Sealed>, OAuthError> {
        match (
            &self.refresh_ciphertext,
            &self.refresh_nonce,
            self.refresh_key_version,
        ) {
            (Some(ciphertext), Some(nonce_bytes), Some(key_version)) => Ok(Some(Sealed {
                key_version,
                nonce: nonce(nonce_bytes)?,
                ciphertext: ciphertext.clone(),
            })),
            _ => Ok(None),
        }
    }
}

/// Seals and writes both tokens in one statement, on the pool or inside
/// the refresh's transaction.
async fn save<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    keyring: &Keyring,
    user_id: Uuid,
    tokens: &UserTokens,
) -> Result<(), StoreError> {
    let access = keyring.seal(
        &context(user_id, Role::Access),
        tokens.access_token.expose_secret().as_bytes(),
    );
    let refresh = tokens.refresh_token.as_ref().map(|token| {
        keyring.seal(
            &context(user_id, Role::Refresh),
            token.expose_secret().as_bytes(),
        )
    });

    sqlx::query(
        "INSERT INTO github_oauth_tokens (
             user_id, access_ciphertext, access_nonce, access_key_version, access_expires_at,
             refresh_ciphertext, refresh_nonce, refresh_key_version, refresh_expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (user_id) DO UPDATE SET
             access_ciphertext = EXCLUDED.access_ciphertext,
             access_nonce = EXCLUDED.access_nonce,
             access_key_version = EXCLUDED.access_key_version,
             access_expires_at = EXCLUDED.access_expires_at,
             refresh_ciphertext = EXCLUDED.refresh_ciphertext,
             refresh_nonce = EXCLUDED.refresh_nonce,
             refresh_key_version = EXCLUDED.refresh_key_version,
             refresh_expires_at = EXCLUDED.refresh_expires_at,
             updated_at = now()",
    )
    .bind(user_id)
    .bind(&access.ciphertext)
    .bind(access.nonce.as_slice())
    .bind(access.key_version)
    .bind(tokens.access_expires_at)
    .bind(refresh.as_ref().map(|sealed| sealed.ciphertext.as_slice()))
    .bind(refresh.as_ref().map(|sealed| sealed.nonce.to_vec()))
    .bind(refresh.as_ref().map(|sealed| sealed.key_version))
    .bind(tokens.refresh_expires_at)
    .execute(executor)
    .await?;
    Ok(())
}

/// The associated data that binds a token to its user and its role.
fn context(user_id: Uuid, role: Role) -> Vec<u8> {
    const LABEL: &[u8] = b"hero/github-oauth/v1\0";
    let role: &[u8] = match role {
        Role::Access => b"access",
        Role::Refresh => b"refresh",
    };
    let mut context = Vec::with_capacity(LABEL.len() + 16 + role.len());
    context.extend_from_slice(LABEL);
    context.extend_from_slice(user_id.as_bytes());
    context.extend_from_slice(role);
    context
}

fn nonce(bytes: &[u8]) -> Result<[u8; NONCE_LEN], OAuthError> {
    // The table's CHECK makes a wrong length impossible; map it rather than
    // panic.
    <[u8; NONCE_LEN]>::try_from(bytes).map_err(|_| OAuthError::Unreadable(OpenError::Unauthentic))
}

fn still_valid(expires_at: Option<DateTime<Utc>>) -> bool {
    expires_at.is_none_or(|at| at > Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_differ_by_user_and_by_role() {
        let a = Uuid::new_v4();
        let b = Uuid::new_v4();

        assert_ne!(context(a, Role::Access), context(b, Role::Access));
        assert_ne!(context(a, Role::Access), context(a, Role::Refresh));
    }
}
