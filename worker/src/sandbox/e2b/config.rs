//! How to reach E2B: the control plane, the sandbox domain, and the limits
//! Hero puts on every request it makes there.

use std::time::Duration;

use secrecy::SecretString;
use thiserror::Error;

/// The port envd listens on inside every sandbox (NOTES §2).
pub const ENVD_PORT: u16 = 49983;

/// Domains whose sandboxes are reached through the shared host
/// `sandbox.<domain>`, routed by headers rather than by host name
/// (NOTES §2, from the SDK's `SUPPORTED_SANDBOX_DOMAINS`).
const SHARED_HOST_DOMAINS: &[&str] = &[
    "e2b.app",
    "e2b.dev",
    "e2b.pro",
    "e2b-staging.dev",
    "e2b-tango.dev",
    "e2b-juliett.dev",
    "foxtrot-2.e2b.dev",
];

const DEFAULT_DOMAIN: &str = "e2b.app";

#[derive(Debug, Error)]
pub enum E2bConfigError {
    #[error("E2B_API_KEY is not set")]
    MissingApiKey,
    #[error("{name} is not a valid URL: {value:?}")]
    InvalidUrl { name: &'static str, value: String },
}

#[derive(Debug, Clone)]
pub struct E2bConfig {
    pub api_key: SecretString,
    /// The control plane, `https://api.<domain>` unless overridden.
    pub api_url: String,
    /// The base domain of sandbox traffic when the API names none.
    pub domain: String,
    /// When set, envd of every sandbox is reached here, the sandbox being
    /// named by the `E2b-Sandbox-Id` header (as a proxy or test fake wants).
    pub sandbox_url: Option<String>,
    /// Limit on one unary request, connection included.
    pub request_timeout: Duration,
    /// How often a rate-limited or failed request is retried.
    pub max_retries: u32,
    /// A command's output stream that stays silent this long is dead. envd
    /// is asked for keepalives at a third of it.
    pub stream_idle_timeout: Duration,
    /// The first backoff when the server gives no `Retry-After`; it doubles
    /// with each attempt.
    pub retry_base_delay: Duration,
    /// A `Retry-After` longer than this fails the request at once instead
    /// of parking a worker on it.
    pub max_retry_wait: Duration,
    /// The TTL asked for when connecting to an existing sandbox. E2B only
    /// ever extends a TTL on connect, so this cannot shorten one.
    pub connect_timeout: Duration,
}

impl E2bConfig {
    /// The production defaults for `api_key`.
    pub fn new(api_key: SecretString) -> Self {
        Self {
            api_key,
            api_url: format!("https://api.{DEFAULT_DOMAIN}"),
            domain: DEFAULT_DOMAIN.to_owned(),
            sandbox_url: None,
            request_timeout: Duration::from_secs(30),
            max_retries: 3,
            stream_idle_timeout: Duration::from_secs(90),
            retry_base_delay: Duration::from_millis(250),
            max_retry_wait: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(300),
        }
    }

    /// Reads `E2B_API_KEY`, `E2B_DOMAIN`, `E2B_API_URL` and
    /// `E2B_SANDBOX_URL`, as the official SDK does.
    pub fn from_env() -> Result<Self, E2bConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Like [`E2bConfig::from_env`], from any source of variables.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, E2bConfigError> {
        let present = |name: &str| var(name).filter(|value| !value.trim().is_empty());

        let api_key = present("E2B_API_KEY").ok_or(E2bConfigError::MissingApiKey)?;
        let mut config = Self::new(SecretString::from(api_key));

        if let Some(domain) = present("E2B_DOMAIN") {
            config.api_url = format!("https://api.{domain}");
            config.domain = domain;
        }
        if let Some(api_url) = present("E2B_API_URL") {
            config.api_url = checked_url("E2B_API_URL", api_url)?;
        }
        if let Some(sandbox_url) = present("E2B_SANDBOX_URL") {
            config.sandbox_url = Some(checked_url("E2B_SANDBOX_URL", sandbox_url)?);
        }
        Ok(config)
    }

    /// Where envd of sandbox `id` answers. `api_domain` is the domain the
    /// API gave for that sandbox, if any (NOTES §2).
    pub fn envd_url(&self, id: &str, api_domain: Option<&str>) -> String {
        if let Some(url) = &self.sandbox_url {
            return url.trim_end_matches('/').to_owned();
        }
        let domain = api_domain.filter(|d| !d.is_empty()).unwrap_or(&self.domain);
        if SHARED_HOST_DOMAINS.contains(&domain) {
            format!("https://sandbox.{domain}")
        } else {
            format!("https://{ENVD_PORT}-{id}.{domain}")
        }
    }

    /// The keepalive interval asked of envd, in whole seconds: a third of
    /// the idle timeout, so two keepalives may be lost before we give up.
    pub fn keepalive_interval_secs(&self) -> u64 {
        (self.stream_idle_timeout.as_secs() / 3).max(1)
    }

    pub(crate) fn api_base(&self) -> &str {
        self.api_url.trim_end_matches('/')
    }
}

fn checked_url(name: &'static str, value: String) -> Result<String, E2bConfigError> {
    match reqwest::Url::parse(&value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(value),
        _ => Err(E2bConfigError::InvalidUrl { name, value }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;

    fn config_from(vars: &[(&str, &str)]) -> Result<E2bConfig, E2bConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        E2bConfig::from_vars(|name| vars.get(name).cloned())
    }

    #[test]
    fn the_defaults_point_at_e2b_app() {
        let config = config_from(&[("E2B_API_KEY", "e2b_key")]).unwrap();

        assert_eq!(config.api_url, "https://api.e2b.app");
        assert_eq!(config.domain, "e2b.app");
        assert_eq!(config.sandbox_url, None);
        assert_eq!(config.api_key.expose_secret(), "e2b_key");
    }

    #[test]
    fn a_missing_api_key_is_an_error() {
        assert!(matches!(
            config_from(&[("E2B_DOMAIN", "example.com")]),
            Err(E2bConfigError::MissingApiKey)
        ));
    }

    #[test]
    fn the_domain_moves_the_api_unless_the_api_url_is_given() {
        let by_domain = config_from(&[("E2B_API_KEY", "k"), ("E2B_DOMAIN", "example.com")]);
        let by_url = config_from(&[
            ("E2B_API_KEY", "k"),
            ("E2B_DOMAIN", "example.com"),
            ("E2B_API_URL", "http://127.0.0.1:3000"),
        ]);

        assert_eq!(by_domain.unwrap().api_url, "https://api.example.com");
        assert_eq!(by_url.unwrap().api_url, "http://127.0.0.1:3000");
    }

    #[test]
    fn a_malformed_url_is_refused_at_start() {
        let config = config_from(&[("E2B_API_KEY", "k"), ("E2B_SANDBOX_URL", "not a url")]);

        assert!(matches!(
            config,
            Err(E2bConfigError::InvalidUrl {
                name: "E2B_SANDBOX_URL",
                ..
            })
        ));
    }

    #[test]
    fn supported_domains_use_the_shared_sandbox_host() {
        let config = E2bConfig::new(SecretString::from("k"));

        assert_eq!(
            config.envd_url("abc", None),
            "https://sandbox.e2b.app".to_owned()
        );
        assert_eq!(
            config.envd_url("abc", Some("e2b.dev")),
            "https://sandbox.e2b.dev".to_owned()
        );
    }

    #[test]
    fn other_domains_use_the_port_and_id_host() {
        let config = E2bConfig::new(SecretString::from("k"));

        assert_eq!(
            config.envd_url("abc", Some("sandboxes.example.com")),
            "https://49983-abc.sandboxes.example.com".to_owned()
        );
    }

    #[test]
    fn the_sandbox_url_override_is_used_for_every_sandbox() {
        let mut config = E2bConfig::new(SecretString::from("k"));
        config.sandbox_url = Some("http://127.0.0.1:4000/".to_owned());

        assert_eq!(
            config.envd_url("a", Some("e2b.app")),
            "http://127.0.0.1:4000"
        );
        assert_eq!(config.envd_url("b", None), "http://127.0.0.1:4000");
    }

    #[test]
    fn keepalives_are_asked_for_at_a_third_of_the_idle_timeout() {
        let mut config = E2bConfig::new(SecretString::from("k"));

        config.stream_idle_timeout = Duration::from_secs(90);
        assert_eq!(config.keepalive_interval_secs(), 30);
        config.stream_idle_timeout = Duration::from_secs(2);
        assert_eq!(config.keepalive_interval_secs(), 1);
    }
}
