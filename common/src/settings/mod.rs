//! Layered configuration: built-in defaults, then an optional `hero.toml`,
//! then the environment.
//!
//! The original deployment's variable names are honoured as they are
//! (`DATABASE_URL`, `REDIS_URL`, `SECRETS_ENCRYPTION_KEY`, `E2B_API_KEY`,
//! `GITHUB_*`); everything else is `HERO_*`. In `hero.toml` each setting is
//! the variable's name in lower case without the `HERO_` prefix.
//!
//! Every problem is reported as one [`SettingsError`] naming the variable,
//! so a process refuses to start with a line an operator can act on.

mod duration;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

pub use duration::parse_duration;

use crate::crypto::MasterKey;
use crate::jobs::queue::QueueSettings;

/// A setting that is missing or malformed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration: {name}: {problem}")]
pub struct SettingsError {
    /// The environment variable that holds the setting.
    pub name: &'static str,
    pub problem: String,
}

impl SettingsError {
    fn new(name: &'static str, problem: impl Into<String>) -> Self {
        Self {
            name,
            problem: problem.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxProvider {
    Local,
    E2b,
}

/// How local sandboxes isolate commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxIsolation {
    /// Bubblewrap when it works, otherwise unisolated with a warning.
    Auto,
    /// Refuse to start without bubblewrap.
    Required,
    /// Never isolate.
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForgeKind {
    Github,
    Local,
}

/// Everything a Hero process can be told. Secret values are `secrecy`
/// types, so `Debug` prints `[REDACTED]` in their place.
#[derive(Debug)]
pub struct Settings {
    pub database_url: SecretString,
    pub redis_url: SecretString,
    pub bind: SocketAddr,
    /// Where a worker serves its health and metrics endpoints.
    pub worker_bind: SocketAddr,
    pub data_dir: PathBuf,
    /// The key new secrets are sealed with. Optional here because not every
    /// command needs it; [`Settings::encryption_key`] makes it required.
    pub secrets_encryption_key: Option<MasterKey>,
    /// Old keys still accepted for reading while `hero secrets rotate-key`
    /// moves values to the current one.
    pub secrets_encryption_key_previous: Vec<MasterKey>,
    pub sandbox_provider: SandboxProvider,
    pub forge: ForgeKind,
    /// Where sandboxes reach the local forge's git (`HERO_FORGE_URL`);
    /// [`Settings::local_forge_url`] derives it from `HERO_BIND` when unset.
    pub forge_url: Option<String>,
    pub max_sandboxes: u32,
    pub sandbox_idle_timeout: Duration,
    pub e2b_api_key: Option<SecretString>,
    /// E2B's control plane; `https://api.<E2B_DOMAIN>` when unset.
    pub e2b_api_url: Option<String>,
    pub e2b_domain: Option<String>,
    /// One address for every sandbox's envd (a proxy, or the fake in tests).
    pub e2b_sandbox_url: Option<String>,
    /// The E2B template sandboxes start from; E2B's `base` when unset.
    pub sandbox_template: Option<String>,
    pub sandbox_isolation: SandboxIsolation,
    /// Whether local sandbox commands may reach the network.
    pub sandbox_network: bool,
    pub github_api_url: String,
    /// Where GitHub's web pages and OAuth endpoints live
    /// (`https://github.com`, or a GitHub Enterprise host).
    pub github_web_url: String,
    /// The GitHub App Hero acts as, when projects use installations.
    pub github_app_id: Option<u64>,
    /// The app's RSA private key, PEM text, checked at start.
    pub github_app_private_key: Option<SecretString>,
    pub github_client_id: Option<String>,
    pub github_client_secret: Option<SecretString>,
    pub github_token: Option<SecretString>,
    pub github_webhook_secret: Option<SecretString>,
    /// Largest request body the API accepts, in bytes.
    pub max_body_bytes: usize,
    /// The longest an agent's `run_shell` may ask to run.
    pub tool_max_timeout: Duration,
    /// Redis queues: key prefix, poll interval, heartbeats, backlog bound.
    pub queue: QueueSettings,
    /// Jobs one worker process runs at once, per kind.
    pub worker_concurrency: usize,
    /// A sandbox lease not renewed for this long is free for others.
    pub lease_ttl: Duration,
    /// How often the dispatcher looks for ready jobs when nothing wakes it.
    pub dispatch_interval: Duration,
    /// When cron work (reaping, recovery, pruning) runs: a cron expression
    /// with seconds (`*/10 * * * * *`, every ten seconds), checked at start.
    pub cron_schedule: String,
    /// How long a hydrate's dependency install may take.
    pub install_timeout: Duration,
    /// How long a stopping worker lets running jobs finish.
    pub shutdown_timeout: Duration,
    /// Put in front of agent branch names (`hero/`).
    pub branch_prefix: String,
    /// Who agent commits are by.
    pub commit_author_name: String,
    pub commit_author_email: String,
}

/// Environment variable ↔ setting key, for the names that predate `HERO_`.
const UNPREFIXED: &[(&str, &str)] = &[
    ("DATABASE_URL", "database_url"),
    ("REDIS_URL", "redis_url"),
    ("SECRETS_ENCRYPTION_KEY", "secrets_encryption_key"),
    (
        "SECRETS_ENCRYPTION_KEY_PREVIOUS",
        "secrets_encryption_key_previous",
    ),
    ("E2B_API_KEY", "e2b_api_key"),
    ("E2B_API_URL", "e2b_api_url"),
    ("E2B_DOMAIN", "e2b_domain"),
    ("E2B_SANDBOX_URL", "e2b_sandbox_url"),
    ("GITHUB_API_URL", "github_api_url"),
    ("GITHUB_WEB_URL", "github_web_url"),
    ("GITHUB_APP_ID", "github_app_id"),
    ("GITHUB_APP_PRIVATE_KEY", "github_app_private_key"),
    ("GITHUB_APP_PRIVATE_KEY_PATH", "github_app_private_key_path"),
    ("GITHUB_CLIENT_ID", "github_client_id"),
    ("GITHUB_CLIENT_SECRET", "github_client_secret"),
    ("GITHUB_TOKEN", "github_token"),
    ("GITHUB_WEBHOOK_SECRET", "github_webhook_secret"),
];

impl Settings {
    /// Loads settings from the file `HERO_CONFIG` names, or else from
    /// `hero.toml` in the working directory if there is one, and from the
    /// process environment.
    pub fn load() -> Result<Self, SettingsError> {
        let file = match std::env::var_os("HERO_CONFIG") {
            Some(path) => Some(PathBuf::from(path)),
            None => Some(PathBuf::from("hero.toml")).filter(|path| path.is_file()),
        };
        Self::load_from(file.as_deref(), std::env::vars())
    }

    /// Loads settings from an optional file and the given environment;
    /// tests use this to stay independent of the process environment.
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        let mut builder = config::Config::builder();
        if let Some(path) = file {
            if !path.is_file() {
                return Err(SettingsError::new(
                    "HERO_CONFIG",
                    format!("no configuration file at {}", path.display()),
                ));
            }
            builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
        }

        let env: Vec<(String, String)> = env.into_iter().collect();
        for (name, value) in &env {
            let key = match name.strip_prefix("HERO_") {
                Some(rest) if rest != "CONFIG" => rest.to_ascii_lowercase(),
                _ => match UNPREFIXED.iter().find(|(var, _)| var == name) {
                    Some((_, key)) => (*key).to_owned(),
                    None => continue,
                },
            };
            builder = builder
                .set_override(key, value.as_str())
                .map_err(|e| SettingsError::new("HERO_CONFIG", e.to_string()))?;
        }
        let layered = builder
            .build()
            .map_err(|e| SettingsError::new("HERO_CONFIG", e.to_string()))?;

        Self::from_layered(&Lookup(&layered))
    }

    fn from_layered(lookup: &Lookup<'_>) -> Result<Self, SettingsError> {
        let data_dir = PathBuf::from(
            lookup
                .string("HERO_DATA_DIR", "data_dir")?
                .unwrap_or_else(|| ".hero".to_owned()),
        );
        // Absolute from here on: git, bubblewrap and child processes all
        // resolve it from directories of their own.
        let data_dir = std::path::absolute(&data_dir).map_err(|error| {
            SettingsError::new("HERO_DATA_DIR", format!("{}: {error}", data_dir.display()))
        })?;

        let sandbox_provider = match lookup
            .string("HERO_SANDBOX_PROVIDER", "sandbox_provider")?
            .as_deref()
        {
            None | Some("local") => SandboxProvider::Local,
            Some("e2b") => SandboxProvider::E2b,
            Some(other) => {
                return Err(SettingsError::new(
                    "HERO_SANDBOX_PROVIDER",
                    format!("expected `local` or `e2b`, got {other:?}"),
                ));
            }
        };
        let forge = match lookup.string("HERO_FORGE", "forge")?.as_deref() {
            None | Some("github") => ForgeKind::Github,
            Some("local") => ForgeKind::Local,
            Some(other) => {
                return Err(SettingsError::new(
                    "HERO_FORGE",
                    format!("expected `github` or `local`, got {other:?}"),
                ));
            }
        };

        let e2b_api_key = lookup.secret("E2B_API_KEY", "e2b_api_key")?;
        if sandbox_provider == SandboxProvider::E2b && e2b_api_key.is_none() {
            return Err(SettingsError::new(
                "E2B_API_KEY",
                "required when HERO_SANDBOX_PROVIDER is e2b",
            ));
        }

        let secrets_encryption_key = lookup
            .string("SECRETS_ENCRYPTION_KEY", "secrets_encryption_key")?
            .map(|text| MasterKey::parse(&text))
            .transpose()
            .map_err(|e| SettingsError::new("SECRETS_ENCRYPTION_KEY", e.to_string()))?;
        let secrets_encryption_key_previous = lookup
            .string(
                "SECRETS_ENCRYPTION_KEY_PREVIOUS",
                "secrets_encryption_key_previous",
            )?
            .unwrap_or_default()
            .split(',')
            .filter(|part| !part.trim().is_empty())
            .enumerate()
            .map(|(i, part)| {
                MasterKey::parse(part).map_err(|e| {
                    SettingsError::new(
                        "SECRETS_ENCRYPTION_KEY_PREVIOUS",
                        format!("key {} of the comma-separated list {e}", i + 1),
                    )
                })
            })
            .collect::<Result<_, _>>()?;

        let max_sandboxes = lookup.parsed("HERO_MAX_SANDBOXES", "max_sandboxes", 10u32)?;
        if max_sandboxes == 0 {
            return Err(SettingsError::new(
                "HERO_MAX_SANDBOXES",
                "must be at least 1",
            ));
        }

        let sandbox_idle_timeout =
            match lookup.string("HERO_SANDBOX_IDLE_TIMEOUT", "sandbox_idle_timeout")? {
                None => Duration::from_secs(3600),
                Some(text) => parse_duration(&text)
                    .map_err(|problem| SettingsError::new("HERO_SANDBOX_IDLE_TIMEOUT", problem))?,
            };

        let sandbox_isolation = match lookup
            .string("HERO_SANDBOX_ISOLATION", "sandbox_isolation")?
            .as_deref()
        {
            None | Some("auto") => SandboxIsolation::Auto,
            Some("required") => SandboxIsolation::Required,
            Some("disabled") => SandboxIsolation::Disabled,
            Some(other) => {
                return Err(SettingsError::new(
                    "HERO_SANDBOX_ISOLATION",
                    format!("expected `auto`, `required` or `disabled`, got {other:?}"),
                ));
            }
        };
        let e2b_api_url = lookup.url("E2B_API_URL", "e2b_api_url")?;
        let e2b_sandbox_url = lookup.url("E2B_SANDBOX_URL", "e2b_sandbox_url")?;

        let github_api_url = lookup
            .string("GITHUB_API_URL", "github_api_url")?
            .unwrap_or_else(|| "https://api.github.com".to_owned());
        if !(github_api_url.starts_with("https://") || github_api_url.starts_with("http://")) {
            return Err(SettingsError::new(
                "GITHUB_API_URL",
                format!("expected an http(s) URL, got {github_api_url:?}"),
            ));
        }
        let github_web_url = lookup
            .url("GITHUB_WEB_URL", "github_web_url")?
            .unwrap_or_else(|| "https://github.com".to_owned());
        let (github_app_id, github_app_private_key) = github_app(lookup)?;

        Ok(Self {
            database_url: lookup
                .secret("DATABASE_URL", "database_url")?
                .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/hero".into()),
            redis_url: lookup
                .secret("REDIS_URL", "redis_url")?
                .unwrap_or_else(|| "redis://127.0.0.1:6379".into()),
            bind: lookup.parsed(
                "HERO_BIND",
                "bind",
                SocketAddr::from(([127, 0, 0, 1], 8080)),
            )?,
            worker_bind: lookup.parsed(
                "HERO_WORKER_BIND",
                "worker_bind",
                SocketAddr::from(([127, 0, 0, 1], 8081)),
            )?,
            data_dir,
            secrets_encryption_key,
            secrets_encryption_key_previous,
            sandbox_provider,
            forge,
            forge_url: lookup
                .url("HERO_FORGE_URL", "forge_url")?
                .map(|url| url.trim_end_matches('/').to_owned()),
            max_sandboxes,
            sandbox_idle_timeout,
            e2b_api_key,
            e2b_api_url,
            e2b_domain: lookup.string("E2B_DOMAIN", "e2b_domain")?,
            e2b_sandbox_url,
            sandbox_template: lookup.string("HERO_SANDBOX_TEMPLATE", "sandbox_template")?,
            sandbox_isolation,
            sandbox_network: lookup.parsed("HERO_SANDBOX_NETWORK", "sandbox_network", true)?,
            github_api_url,
            github_web_url,
            github_app_id,
            github_app_private_key,
            github_client_id: lookup.string("GITHUB_CLIENT_ID", "github_client_id")?,
            github_client_secret: lookup.secret("GITHUB_CLIENT_SECRET", "github_client_secret")?,
            github_token: lookup.secret("GITHUB_TOKEN", "github_token")?,
            github_webhook_secret: lookup
                .secret("GITHUB_WEBHOOK_SECRET", "github_webhook_secret")?,
            max_body_bytes: lookup.parsed("HERO_MAX_BODY_BYTES", "max_body_bytes", 1 << 20)?,
            queue: queue_settings(lookup, max_sandboxes)?,
            worker_concurrency: lookup.parsed(
                "HERO_WORKER_CONCURRENCY",
                "worker_concurrency",
                8,
            )?,
            lease_ttl: lookup.duration("HERO_LEASE_TTL", "lease_ttl", Duration::from_secs(15))?,
            dispatch_interval: lookup.duration(
                "HERO_DISPATCH_INTERVAL",
                "dispatch_interval",
                Duration::from_millis(250),
            )?,
            cron_schedule: cron_schedule(lookup)?,
            install_timeout: lookup.duration(
                "HERO_INSTALL_TIMEOUT",
                "install_timeout",
                Duration::from_secs(900),
            )?,
            shutdown_timeout: lookup.duration(
                "HERO_SHUTDOWN_TIMEOUT",
                "shutdown_timeout",
                Duration::from_secs(60),
            )?,
            branch_prefix: lookup
                .string("HERO_BRANCH_PREFIX", "branch_prefix")?
                .unwrap_or_else(|| "hero/".to_owned()),
            commit_author_name: lookup
                .string("HERO_COMMIT_AUTHOR_NAME", "commit_author_name")?
                .unwrap_or_else(|| "Hero Agent".to_owned()),
            commit_author_email: lookup
                .string("HERO_COMMIT_AUTHOR_EMAIL", "commit_author_email")?
                .unwrap_or_else(|| "agent@hero.invalid".to_owned()),
            tool_max_timeout: match lookup.string("HERO_TOOL_MAX_TIMEOUT", "tool_max_timeout")? {
                None => Duration::from_secs(600),
                Some(text) => parse_duration(&text)
                    .ok()
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| {
                        SettingsError::new(
                            "HERO_TOOL_MAX_TIMEOUT",
                            format!("expected a duration above zero such as 10m, got {text:?}"),
                        )
                    })?,
            },
        })
    }

    /// The master key, for processes that seal or open secrets.
    /// The base URL of the local forge's repositories, as the API serves
    /// them under `/git`: `HERO_FORGE_URL`, or the API's own address.
    pub fn local_forge_url(&self) -> String {
        self.forge_url.clone().unwrap_or_else(|| {
            let mut address = self.bind;
            if address.ip().is_unspecified() {
                address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            format!("http://{address}/git")
        })
    }

    pub fn encryption_key(&self) -> Result<&MasterKey, SettingsError> {
        self.secrets_encryption_key.as_ref().ok_or_else(|| {
            SettingsError::new(
                "SECRETS_ENCRYPTION_KEY",
                "required: 32 bytes as 32 characters, 64 hex digits or base64 \
                 (for example `openssl rand -hex 32`)",
            )
        })
    }
}

/// The GitHub App's id and private key: both or neither. The key comes as
/// PEM text or from a file, and is parsed here so that a bad key stops the
/// process at start rather than at its first installation token.
fn github_app(lookup: &Lookup<'_>) -> Result<(Option<u64>, Option<SecretString>), SettingsError> {
    let app_id = match lookup.string("GITHUB_APP_ID", "github_app_id")? {
        None => None,
        Some(text) => match text.trim().parse::<u64>() {
            Ok(id) if id > 0 => Some(id),
            _ => {
                return Err(SettingsError::new(
                    "GITHUB_APP_ID",
                    format!("expected the app's numeric id, got {text:?}"),
                ));
            }
        },
    };

    let text = lookup.secret("GITHUB_APP_PRIVATE_KEY", "github_app_private_key")?;
    let path = lookup.string("GITHUB_APP_PRIVATE_KEY_PATH", "github_app_private_key_path")?;
    let source = match (text, path) {
        (Some(_), Some(_)) => {
            return Err(SettingsError::new(
                "GITHUB_APP_PRIVATE_KEY_PATH",
                "set either GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_PATH, not both",
            ));
        }
        (Some(text), None) => Some(("GITHUB_APP_PRIVATE_KEY", unescape_newlines(text))),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                SettingsError::new(
                    "GITHUB_APP_PRIVATE_KEY_PATH",
                    format!("cannot read {path:?}: {e}"),
                )
            })?;
            Some(("GITHUB_APP_PRIVATE_KEY_PATH", SecretString::from(text)))
        }
        (None, None) => None,
    };
    let key = match source {
        None => None,
        Some((name, pem)) => {
            // The parser's own error is not shown: it could quote the input.
            jsonwebtoken::EncodingKey::from_rsa_pem(pem.expose_secret().as_bytes()).map_err(
                |_| {
                    SettingsError::new(
                        name,
                        "is not an RSA private key in PEM form \
                         (-----BEGIN RSA PRIVATE KEY----- or -----BEGIN PRIVATE KEY-----)",
                    )
                },
            )?;
            Some(pem)
        }
    };

    match (app_id, key) {
        (Some(_), None) => Err(SettingsError::new(
            "GITHUB_APP_PRIVATE_KEY",
            "required when GITHUB_APP_ID is set (the PEM text, or a file named by \
             GITHUB_APP_PRIVATE_KEY_PATH)",
        )),
        (None, Some(_)) => Err(SettingsError::new(
            "GITHUB_APP_ID",
            "required when the app's private key is set",
        )),
        pair => Ok(pair),
    }
}

/// A PEM pasted into a one-line variable often has its line breaks
/// written as `\n`; PEM needs real ones.
fn unescape_newlines(text: SecretString) -> SecretString {
    let raw = text.expose_secret();
    if raw.contains('\n') || !raw.contains("\\n") {
        return text;
    }
    SecretString::from(raw.replace("\\n", "\n"))
}

fn cron_schedule(lookup: &Lookup<'_>) -> Result<String, SettingsError> {
    let schedule = lookup
        .string("HERO_CRON_SCHEDULE", "cron_schedule")?
        .unwrap_or_else(|| "*/10 * * * * *".to_owned());
    cron::Schedule::from_str(&schedule).map_err(|error| {
        // The parser's message draws a caret under the culprit on lines of
        // its own; its last line says what is wrong.
        let text = error.to_string();
        let why = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default();
        SettingsError::new(
            "HERO_CRON_SCHEDULE",
            format!(
                "not a cron expression with seconds ({}), got {schedule:?}",
                why.trim()
            ),
        )
    })?;
    Ok(schedule)
}

fn queue_settings(lookup: &Lookup<'_>, max_sandboxes: u32) -> Result<QueueSettings, SettingsError> {
    let defaults = QueueSettings::default();
    let prefix = lookup
        .string("HERO_QUEUE_PREFIX", "queue_prefix")?
        .unwrap_or(defaults.prefix);
    if !prefix
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    {
        return Err(SettingsError::new(
            "HERO_QUEUE_PREFIX",
            format!("use letters, digits and - _ . : only, got {prefix:?}"),
        ));
    }
    let backlog = lookup.parsed("HERO_QUEUE_BACKLOG", "queue_backlog", defaults.backlog)?;
    if !(1..=5000).contains(&backlog) {
        return Err(SettingsError::new(
            "HERO_QUEUE_BACKLOG",
            format!("must be between 1 and 5000 (apalis-redis fails near 8000), got {backlog}"),
        ));
    }
    // Two sandboxes stay free of batch work for interactive jobs, where
    // there are more than two.
    let batch_concurrency = lookup.parsed(
        "HERO_BATCH_CONCURRENCY",
        "batch_concurrency",
        max_sandboxes.saturating_sub(2).max(1),
    )?;
    if !(1..=max_sandboxes).contains(&batch_concurrency) {
        return Err(SettingsError::new(
            "HERO_BATCH_CONCURRENCY",
            format!(
                "must be between 1 and HERO_MAX_SANDBOXES ({max_sandboxes}), \
                 got {batch_concurrency}"
            ),
        ));
    }
    Ok(QueueSettings {
        prefix,
        poll_interval: lookup.duration(
            "HERO_QUEUE_POLL_INTERVAL",
            "queue_poll_interval",
            defaults.poll_interval,
        )?,
        heartbeat_interval: lookup.duration(
            "HERO_QUEUE_HEARTBEAT",
            "queue_heartbeat",
            defaults.heartbeat_interval,
        )?,
        backlog,
        batch_concurrency,
        ..defaults
    })
}

/// Reads one layered value at a time, naming the variable in every error.
struct Lookup<'a>(&'a config::Config);

impl Lookup<'_> {
    fn string(&self, name: &'static str, key: &str) -> Result<Option<String>, SettingsError> {
        match self.0.get_string(key) {
            Ok(value) if value.trim().is_empty() => Ok(None),
            Ok(value) => Ok(Some(value)),
            Err(config::ConfigError::NotFound(_)) => Ok(None),
            Err(e) => Err(SettingsError::new(name, e.to_string())),
        }
    }

    fn secret(&self, name: &'static str, key: &str) -> Result<Option<SecretString>, SettingsError> {
        Ok(self.string(name, key)?.map(SecretString::from))
    }

    fn url(&self, name: &'static str, key: &str) -> Result<Option<String>, SettingsError> {
        match self.string(name, key)? {
            Some(url) if !(url.starts_with("https://") || url.starts_with("http://")) => Err(
                SettingsError::new(name, format!("expected an http(s) URL, got {url:?}")),
            ),
            other => Ok(other),
        }
    }

    /// A duration above zero, `default` when unset.
    fn duration(
        &self,
        name: &'static str,
        key: &str,
        default: Duration,
    ) -> Result<Duration, SettingsError> {
        match self.string(name, key)? {
            None => Ok(default),
            Some(text) => parse_duration(&text)
                .and_then(|d| {
                    if d.is_zero() {
                        Err(format!("must be above zero, got {text:?}"))
                    } else {
                        Ok(d)
                    }
                })
                .map_err(|problem| SettingsError::new(name, problem)),
        }
    }

    fn parsed<T>(&self, name: &'static str, key: &str, default: T) -> Result<T, SettingsError>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        match self.string(name, key)? {
            None => Ok(default),
            Some(text) => text
                .trim()
                .parse()
                .map_err(|e| SettingsError::new(name, format!("{e}: {text:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    const KEY: &str = "0123456789abcdef0123456789ABCDEF";

    /// A throwaway 512-bit RSA key made for these tests alone: too short to
    /// protect anything, well-formed enough for the PEM check.
    const APP_KEY: &str = "-----BEGIN RSA PRIVATE KEY-----
MIIBPAIBAAJBANrWS6xcfmu4VzyIo4qX3okVxDd8qpmBEXtd5fOw/BvOO9yTbEuI
HpjxzbokAXAOb+jgxB61ChEmNEeMizRWaX8CAwEAAQJBAKkA+L4rTIL6gXzBdbPS
J82s3rWPdN1J/WtOEAoMdBcv19wLsfpTj5m+uezDKNRKysr7z0eo6y/DlKm5Rcza
ljkCIQD1gAq4q4lxcD8wcg+OE5TU4oiQtoxIZvDVxeR9Rh+hfQIhAOQyUoAIi7lO
hQsnXpPYrlB/F0KMUVj/F8M5g8K84aerAiAMoaXrkofj2k6mA3hhawiBW5aDO6FE
KGfD2AbFm1INUQIhAOGBST31M/6/tYI8OZ5pNnmd3mKJP6pvDBCEucyr02NZAiEA
mMD64KlfoCF+DNaj9/aZ/lC+mh/IxHhw0bBk0UH1iAo=
-----END RSA PRIVATE KEY-----
";

    fn temp_file(contents: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("hero-settings-{}.pem", uuid::Uuid::new_v4()));
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn load(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let env = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        Settings::load_from(None, env)
    }

    #[test]
    fn defaults_point_at_local_services() {
        let settings = load(&[]).unwrap();

        assert_eq!(
            settings.database_url.expose_secret(),
            "postgres://postgres@127.0.0.1:5432/hero"
        );
        assert_eq!(settings.bind, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(settings.max_sandboxes, 10);
        assert_eq!(settings.sandbox_idle_timeout, Duration::from_secs(3600));
        assert_eq!(settings.sandbox_provider, SandboxProvider::Local);
        assert!(settings.encryption_key().is_err());
        assert_eq!(settings.local_forge_url(), "http://127.0.0.1:8080/git");
    }

    #[test]
    fn the_cron_schedule_is_checked_at_start() {
        let every_second = load(&[("HERO_CRON_SCHEDULE", "* * * * * *")]).unwrap();
        let refused = load(&[("HERO_CRON_SCHEDULE", "every minute")]).unwrap_err();

        assert_eq!(every_second.cron_schedule, "* * * * * *");
        assert_eq!(load(&[]).unwrap().cron_schedule, "*/10 * * * * *");
        assert_eq!(refused.name, "HERO_CRON_SCHEDULE");
    }

    #[test]
    fn the_local_forge_url_follows_the_bind_address_unless_set() {
        let wildcard = load(&[("HERO_BIND", "0.0.0.0:9000")]).unwrap();
        let explicit = load(&[("HERO_FORGE_URL", "http://hero.internal:80/git/")]).unwrap();
        let refused = load(&[("HERO_FORGE_URL", "file:///srv/forge")]).unwrap_err();

        assert_eq!(wildcard.local_forge_url(), "http://127.0.0.1:9000/git");
        assert_eq!(explicit.local_forge_url(), "http://hero.internal:80/git");
        assert_eq!(refused.name, "HERO_FORGE_URL");
    }

    #[test]
    fn seed_names_and_hero_prefixed_names_are_read() {
        let settings = load(&[
            ("DATABASE_URL", "postgres://db/hero"),
            ("SECRETS_ENCRYPTION_KEY", KEY),
            ("HERO_BIND", "0.0.0.0:9000"),
            ("HERO_MAX_SANDBOXES", "3"),
            ("HERO_SANDBOX_IDLE_TIMEOUT", "15m"),
            ("HERO_FORGE", "local"),
        ])
        .unwrap();

        assert_eq!(settings.database_url.expose_secret(), "postgres://db/hero");
        assert!(settings.encryption_key().is_ok());
        assert_eq!(settings.bind.port(), 9000);
        assert_eq!(settings.max_sandboxes, 3);
        assert_eq!(settings.sandbox_idle_timeout, Duration::from_secs(900));
        assert_eq!(settings.forge, ForgeKind::Local);
    }

    #[test]
    fn a_file_layer_is_overridden_by_the_environment() {
        let dir = std::env::temp_dir().join(format!("hero-settings-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("hero.toml");
        std::fs::write(&file, "max_sandboxes = 4\nbind = \"127.0.0.1:7000\"\n").unwrap();

        let settings = Settings::load_from(
            Some(&file),
            [("HERO_MAX_SANDBOXES".to_owned(), "6".to_owned())],
        )
        .unwrap();

        assert_eq!(settings.max_sandboxes, 6);
        assert_eq!(settings.bind.port(), 7000);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn each_malformed_setting_is_named_in_its_error() {
        let cases: &[(&str, &str)] = &[
            ("SECRETS_ENCRYPTION_KEY", "too-short"),
            ("SECRETS_ENCRYPTION_KEY_PREVIOUS", "nope"),
            ("HERO_BIND", "not an address"),
            ("HERO_MAX_SANDBOXES", "-1"),
            ("HERO_MAX_SANDBOXES", "0"),
            ("HERO_SANDBOX_IDLE_TIMEOUT", "forever"),
            ("HERO_SANDBOX_PROVIDER", "docker"),
            ("HERO_FORGE", "gitlab"),
            ("GITHUB_API_URL", "api.github.com"),
            ("GITHUB_WEB_URL", "github.com"),
            ("GITHUB_APP_ID", "my-app"),
            ("GITHUB_APP_ID", "0"),
            ("E2B_API_URL", "localhost:3000"),
            ("E2B_SANDBOX_URL", "ftp://x"),
            ("HERO_SANDBOX_ISOLATION", "maybe"),
            ("HERO_SANDBOX_NETWORK", "sometimes"),
            ("HERO_TOOL_MAX_TIMEOUT", "0"),
            ("HERO_BATCH_CONCURRENCY", "0"),
            ("HERO_BATCH_CONCURRENCY", "many"),
            ("HERO_BATCH_CONCURRENCY", "11"),
        ];
        for (name, value) in cases {
            let error = load(&[(name, value)]).unwrap_err();

            assert_eq!(error.name, *name, "{value}");
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("configuration: {name}: "))
            );
            assert!(!error.to_string().contains('\n'));
        }
    }

    #[test]
    fn batch_concurrency_leaves_two_sandboxes_to_interactive_work() {
        let default = load(&[]).unwrap();
        let small = load(&[("HERO_MAX_SANDBOXES", "2")]).unwrap();
        let set = load(&[
            ("HERO_MAX_SANDBOXES", "20"),
            ("HERO_BATCH_CONCURRENCY", "20"),
        ])
        .unwrap();

        assert_eq!(default.queue.batch_concurrency, 8);
        assert_eq!(small.queue.batch_concurrency, 1);
        assert_eq!(set.queue.batch_concurrency, 20);
    }

    #[test]
    fn a_batch_concurrency_above_the_sandbox_cap_is_refused() {
        let error =
            load(&[("HERO_MAX_SANDBOXES", "4"), ("HERO_BATCH_CONCURRENCY", "5")]).unwrap_err();

        assert_eq!(error.name, "HERO_BATCH_CONCURRENCY");
        assert!(
            error.to_string().contains("HERO_MAX_SANDBOXES (4)"),
            "{error}"
        );
    }

    #[test]
    fn e2b_requires_its_api_key() {
        let error = load(&[("HERO_SANDBOX_PROVIDER", "e2b")]).unwrap_err();

        assert_eq!(error.name, "E2B_API_KEY");
    }

    #[test]
    fn a_malformed_key_error_does_not_echo_the_key() {
        let error = load(&[("SECRETS_ENCRYPTION_KEY", "s3cr3t-but-wrong-length")]).unwrap_err();

        assert!(!error.to_string().contains("s3cr3t"));
    }

    #[test]
    fn debug_output_shows_no_secret_setting() {
        let settings = load(&[
            ("DATABASE_URL", "postgres://user:pgpass-1@db/hero"),
            ("SECRETS_ENCRYPTION_KEY", KEY),
            ("SECRETS_ENCRYPTION_KEY_PREVIOUS", &"b".repeat(32)),
            ("E2B_API_KEY", "e2b_key_value"),
            ("GITHUB_CLIENT_SECRET", "gh-client-secret"),
            ("GITHUB_TOKEN", "ghp_token_value"),
            ("GITHUB_WEBHOOK_SECRET", "hook-secret"),
            ("GITHUB_APP_ID", "12345"),
            ("GITHUB_APP_PRIVATE_KEY", APP_KEY),
        ])
        .unwrap();

        let printed = format!("{settings:?}");

        assert!(!printed.contains("MIIBPAIBAAJBANrWS6xcfmu4"), "{printed}");
        assert!(!printed.contains("BEGIN RSA PRIVATE KEY"), "{printed}");

        for secret in [
            "pgpass-1",
            KEY,
            &"b".repeat(32),
            "e2b_key_value",
            "gh-client-secret",
            "ghp_token_value",
            "hook-secret",
        ] {
            assert!(!printed.contains(secret), "{secret} leaked into {printed}");
        }
    }

    #[test]
    fn github_defaults_are_github_dot_com_without_an_app() {
        let settings = load(&[]).unwrap();

        assert_eq!(settings.github_api_url, "https://api.github.com");
        assert_eq!(settings.github_web_url, "https://github.com");
        assert_eq!(settings.github_app_id, None);
        assert!(settings.github_app_private_key.is_none());
    }

    #[test]
    fn a_github_app_is_read_from_pem_text_or_a_key_file() {
        let path = temp_file(APP_KEY);

        let from_text = load(&[
            ("GITHUB_APP_ID", "12345"),
            ("GITHUB_APP_PRIVATE_KEY", APP_KEY),
            ("GITHUB_WEB_URL", "http://127.0.0.1:9"),
        ])
        .unwrap();
        let from_file = load(&[
            ("GITHUB_APP_ID", "12345"),
            ("GITHUB_APP_PRIVATE_KEY_PATH", path.to_str().unwrap()),
        ])
        .unwrap();

        assert_eq!(from_text.github_app_id, Some(12345));
        assert_eq!(from_text.github_web_url, "http://127.0.0.1:9");
        assert_eq!(
            from_text.github_app_private_key.unwrap().expose_secret(),
            APP_KEY
        );
        assert_eq!(
            from_file.github_app_private_key.unwrap().expose_secret(),
            APP_KEY
        );
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_pem_with_escaped_line_breaks_is_accepted() {
        let one_line = APP_KEY.replace('\n', "\\n");

        let settings = load(&[
            ("GITHUB_APP_ID", "7"),
            ("GITHUB_APP_PRIVATE_KEY", &one_line),
        ])
        .unwrap();

        assert_eq!(
            settings.github_app_private_key.unwrap().expose_secret(),
            APP_KEY
        );
    }

    #[test]
    fn a_bad_github_app_key_stops_the_start_naming_its_variable() {
        let garbled = APP_KEY.replace("MIIBPAIBAAJBANrW", "not-base64-at-all");
        let not_a_key = temp_file("hello\n");
        let missing = std::env::temp_dir().join(format!("hero-missing-{}", uuid::Uuid::new_v4()));
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (
                vec![("GITHUB_APP_ID", "1"), ("GITHUB_APP_PRIVATE_KEY", &garbled)],
                "GITHUB_APP_PRIVATE_KEY",
            ),
            (
                vec![
                    ("GITHUB_APP_ID", "1"),
                    ("GITHUB_APP_PRIVATE_KEY_PATH", not_a_key.to_str().unwrap()),
                ],
                "GITHUB_APP_PRIVATE_KEY_PATH",
            ),
            (
                vec![
                    ("GITHUB_APP_ID", "1"),
                    ("GITHUB_APP_PRIVATE_KEY_PATH", missing.to_str().unwrap()),
                ],
                "GITHUB_APP_PRIVATE_KEY_PATH",
            ),
            (
                vec![
                    ("GITHUB_APP_ID", "1"),
                    ("GITHUB_APP_PRIVATE_KEY", APP_KEY),
                    ("GITHUB_APP_PRIVATE_KEY_PATH", not_a_key.to_str().unwrap()),
                ],
                "GITHUB_APP_PRIVATE_KEY_PATH",
            ),
            (vec![("GITHUB_APP_ID", "1")], "GITHUB_APP_PRIVATE_KEY"),
            (vec![("GITHUB_APP_PRIVATE_KEY", APP_KEY)], "GITHUB_APP_ID"),
        ];

        for (vars, name) in cases {
            let error = load(&vars).unwrap_err();

            assert_eq!(error.name, name, "{vars:?}");
            assert!(!error.to_string().contains('\n'));
            assert!(!error.to_string().contains("not-base64-at-all"));
            assert!(!error.to_string().contains("MIIBPAIBAAJBANrW"));
        }
        std::fs::remove_file(not_a_key).unwrap();
    }
}
