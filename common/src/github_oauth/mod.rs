//! GitHub OAuth user tokens: the IDE's web flow, and the tokens it yields
//! kept sealed per user and refreshed when they expire.
//!
//! The flow (shared/specs/github/NOTES.md §1, "OAuth web flow"): the IDE
//! sends the user to [`OAuthClient::authorize_url`], GitHub sends them back
//! with a code, and [`OAuthClient::exchange_code`] turns the code into an
//! access token and, when the app's tokens expire, a refresh token.
//! [`OAuthTokenStore`] keeps both sealed and hands out a valid access token,
//! refreshing it first when it is about to expire.
//!
//! GitHub rotates both tokens on every refresh and the used refresh token
//! stops working at once, so a refresh and the save of its result happen
//! under one row lock: two workers refreshing for one user at the same time
//! would otherwise leave one of them holding a dead refresh token.

mod client;
mod store;

use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::crypto::OpenError;
use crate::store::StoreError;

pub use client::{OAuthClient, OAuthConfig};
pub use store::OAuthTokenStore;

/// A user's tokens, as GitHub issued them.
#[derive(Clone)]
pub struct UserTokens {
    pub access_token: SecretString,
    /// `None` when the app's tokens do not expire.
    pub access_expires_at: Option<DateTime<Utc>>,
    /// Present only when the app's tokens expire.
    pub refresh_token: Option<SecretString>,
    pub refresh_expires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for UserTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserTokens")
            .field("access_expires_at", &self.access_expires_at)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("refresh_expires_at", &self.refresh_expires_at)
            .finish_non_exhaustive()
    }
}

/// Why a user's GitHub token could not be had. No variant carries a token.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The OAuth app is not configured.
    #[error(
        "{0} is not set: signing in with GitHub needs GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET"
    )]
    NotConfigured(&'static str),
    /// GitHub refused the exchange: a wrong, used or expired code, wrong
    /// client credentials, a mismatched redirect URI. `code` is GitHub's
    /// `error` value, such as `bad_verification_code`.
    #[error("GitHub refused the token request: {code}: {description}")]
    Refused { code: String, description: String },
    /// The user has not connected a GitHub account.
    #[error("no GitHub account is connected for this user")]
    NotConnected,
    /// The stored tokens no longer work (the refresh token expired or was
    /// refused); the user has to connect GitHub again.
    #[error("the GitHub connection has expired: {0}; connect GitHub again")]
    Expired(String),
    /// GitHub did not answer, or answered with a server error or a rate
    /// limit; worth trying again later.
    #[error("GitHub's token endpoint is unavailable: {message}")]
    Unavailable {
        message: String,
        retry_after: Option<Duration>,
    },
    /// GitHub answered with something that is not a token reply.
    #[error("GitHub's token endpoint answered unexpectedly: {0}")]
    Malformed(String),
    #[error("the stored GitHub token cannot be read: {0}")]
    Unreadable(#[source] OpenError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl OAuthError {
    /// Whether the same call may succeed later without the user acting.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Store(_))
    }
}
