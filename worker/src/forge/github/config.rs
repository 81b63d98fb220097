//! How to reach GitHub and how patiently: the API's address, the app Hero
//! acts as, and the limits on waiting and retrying.

use std::time::Duration;

use hero_common::settings::Settings;
use secrecy::SecretString;

/// The GitHub App whose installations grant access to repositories.
#[derive(Clone)]
pub struct AppCredentials {
    pub app_id: u64,
    /// The app's RSA private key, PEM text.
    pub private_key: SecretString,
}

impl std::fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCredentials")
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

/// How Hero retries a GitHub request that failed in a way worth retrying
/// (rate limits, 5xx, lost connections). The wait before each retry is the
/// server's `Retry-After` if it sent one, else the rate limit's reset time
/// when none are left, else an exponential backoff with jitter.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub max_attempts: u32,
    /// The first backoff when the server names no wait; it doubles with
    /// each try.
    pub base_delay: Duration,
    /// The longest backoff Hero picks itself.
    pub max_backoff: Duration,
    /// A wait the server asks for that is longer than this is not slept:
    /// the call fails at once as transient, carrying the wait, so the job
    /// is rescheduled instead of parking a worker.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_backoff: Duration::from_secs(15),
            max_wait: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone)]
pub struct GitHubConfig {
    /// `https://api.github.com`, `https://HOST/api/v3` for GitHub
    /// Enterprise, or the fake in tests.
    pub api_url: String,
    pub app: Option<AppCredentials>,
    /// `GITHUB_TOKEN`: what projects without an installation or a connected
    /// owner use, in development.
    pub personal_token: Option<SecretString>,
    /// Limit on one HTTP exchange, connection included.
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    /// An installation token is minted anew this long before it expires,
    /// so none is handed to git with minutes left.
    pub token_refresh_margin: Duration,
}

impl GitHubConfig {
    /// Production defaults for `api_url`.
    pub fn new(api_url: impl Into<String>) -> Self {
        Self {
            api_url: api_url.into(),
            app: None,
            personal_token: None,
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            token_refresh_margin: Duration::from_secs(5 * 60),
        }
    }

    /// `GITHUB_API_URL`, `GITHUB_APP_ID` with its private key, and
    /// `GITHUB_TOKEN`, all already validated by [`Settings`].
    pub fn from_settings(settings: &Settings) -> Self {
        let app = settings
            .github_app_id
            .zip(settings.github_app_private_key.clone())
            .map(|(app_id, private_key)| AppCredentials {
                app_id,
                private_key,
            });
        Self {
            app,
            personal_token: settings.github_token.clone(),
            ..Self::new(settings.github_api_url.clone())
        }
    }
}
