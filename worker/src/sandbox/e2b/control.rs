//! E2B's control plane: create, find, describe, list, time out and kill
//! sandboxes (`openapi.yml`, and NOTES §1 for the v2 routes the SDK now
//! uses).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::{Method, RequestBuilder, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::sandbox::{CreateSpec, SandboxError, SandboxInfo};

use super::E2bConfig;
use super::transport::{Exchange, Plane, Transport, query_string};

const DEFAULT_TEMPLATE: &str = "base";

/// The largest page `GET /v2/sandboxes` returns.
const PAGE_LIMIT: u32 = 100;

/// A bound on pages followed, so a server that keeps handing out cursors
/// cannot keep a caller listing forever.
const MAX_PAGES: usize = 1000;

/// Body of `POST /v2/sandboxes` (NewSandboxV2).
#[derive(Serialize)]
struct NewSandbox<'a> {
    #[serde(rename = "templateID")]
    template_id: &'a str,
    timeout: u32,
    metadata: &'a BTreeMap<String, String>,
    #[serde(rename = "envVars")]
    env_vars: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct TimeoutBody {
    timeout: u32,
}

/// The `Sandbox` schema: what create and connect answer.
#[derive(Deserialize)]
pub struct SandboxAccess {
    #[serde(rename = "sandboxID")]
    pub sandbox_id: String,
    #[serde(rename = "envdVersion")]
    pub envd_version: String,
    #[serde(rename = "envdAccessToken", default)]
    pub envd_access_token: Option<SecretString>,
    #[serde(default)]
    pub domain: Option<String>,
}

/// The `ListedSandbox` schema, as far as Hero reads it.
#[derive(Deserialize)]
struct ListedSandbox {
    #[serde(rename = "sandboxID")]
    sandbox_id: String,
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
    #[serde(rename = "startedAt")]
    started_at: DateTime<Utc>,
    #[serde(rename = "endAt")]
    end_at: DateTime<Utc>,
}

/// The `SandboxDetail` schema: one sandbox as `GET /sandboxes/{sandboxID}`
/// describes it. Every field the spec requires is read, except the
/// deprecated `clientID`, so an answer of another shape is an error rather
/// than a half-empty value; the envd access token is left unread.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SandboxDetail {
    #[serde(rename = "sandboxID")]
    pub sandbox_id: String,
    #[serde(rename = "templateID")]
    pub template_id: String,
    pub state: SandboxState,
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    #[serde(rename = "startedAt")]
    pub started_at: DateTime<Utc>,
    /// When E2B kills it unless its timeout is extended.
    #[serde(rename = "endAt")]
    pub end_at: DateTime<Utc>,
    #[serde(rename = "cpuCount")]
    pub cpu_count: u32,
    #[serde(rename = "memoryMB")]
    pub memory_mb: u32,
    #[serde(rename = "diskSizeMB")]
    pub disk_size_mb: u32,
    #[serde(rename = "envdVersion")]
    pub envd_version: String,
}

/// The `SandboxState` schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SandboxState {
    Running,
    Paused,
}

pub struct ControlPlane {
    transport: Transport,
    base: String,
    api_key: SecretString,
    connect_timeout: Duration,
}

impl ControlPlane {
    pub fn new(config: &E2bConfig, transport: Transport) -> Self {
        Self {
            transport,
            base: config.api_base().to_owned(),
            api_key: config.api_key.clone(),
            connect_timeout: config.connect_timeout,
        }
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut key = reqwest::header::HeaderValue::from_str(self.api_key.expose_secret())
            .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static(""));
        key.set_sensitive(true);
        self.transport
            .client()
            .request(method, format!("{}{path}", self.base))
            .header("X-API-Key", key)
            .timeout(self.transport.request_timeout())
    }

    async fn send(
        &self,
        what: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<reqwest::Response, super::transport::Failure> {
        let exchange = Exchange {
            what,
            plane: Plane::Control,
            secrets: &[&self.api_key],
        };
        self.transport.send(&exchange, build).await
    }

    pub async fn create(&self, spec: &CreateSpec) -> Result<SandboxAccess, SandboxError> {
        let body = NewSandbox {
            template_id: spec.template.as_deref().unwrap_or(DEFAULT_TEMPLATE),
            // E2B refuses a zero timeout on create.
            timeout: whole_seconds(spec.timeout).max(1),
            metadata: &spec.metadata,
            env_vars: &spec.env,
        };
        // One key for every attempt, so a create retried after a lost answer
        // does not start a second sandbox.
        let idempotency_key = uuid::Uuid::new_v4().to_string();

        let response = self
            .send("create sandbox", || {
                self.request(Method::POST, "/v2/sandboxes")
                    .header("Idempotency-Key", &idempotency_key)
                    .json(&body)
            })
            .await?;
        let access: SandboxAccess = decode(response, "create sandbox").await?;
        tracing::debug!(sandbox = %access.sandbox_id, "e2b sandbox created");
        Ok(access)
    }

    /// Resumes the sandbox if it was paused; its TTL is only ever extended
    /// (openapi: "TTL is only extended").
    pub async fn connect(&self, id: &str) -> Result<SandboxAccess, SandboxError> {
        let what = format!("connect to sandbox {id}");
        let body = TimeoutBody {
            timeout: whole_seconds(self.connect_timeout),
        };
        let path = format!("/v2/sandboxes/{}/connect", path_segment(id));

        let response = self
            .send(&what, || self.request(Method::POST, &path).json(&body))
            .await?;
        decode(response, &what).await
    }

    /// A running or paused sandbox; one that was killed or has expired is
    /// not found (404).
    pub async fn get(&self, id: &str) -> Result<SandboxDetail, SandboxError> {
        let what = format!("get sandbox {id}");
        let path = format!("/sandboxes/{}", path_segment(id));

        let response = self
            .send(&what, || self.request(Method::GET, &path))
            .await?;
        decode(response, &what).await
    }

    pub async fn kill(&self, id: &str) -> Result<bool, SandboxError> {
        let what = format!("kill sandbox {id}");
        let path = format!("/sandboxes/{}", path_segment(id));

        match self
            .send(&what, || self.request(Method::DELETE, &path))
            .await
        {
            Ok(_) => {
                tracing::debug!(sandbox = %id, "e2b sandbox killed");
                Ok(true)
            }
            Err(failure) if failure.status == Some(StatusCode::NOT_FOUND) => Ok(false),
            Err(failure) => Err(failure.into()),
        }
    }

    pub async fn set_timeout(&self, id: &str, timeout: Duration) -> Result<(), SandboxError> {
        let what = format!("set the timeout of sandbox {id}");
        let body = TimeoutBody {
            timeout: whole_seconds(timeout),
        };
        let path = format!("/sandboxes/{}/timeout", path_segment(id));

        self.send(&what, || self.request(Method::POST, &path).json(&body))
            .await?;
        Ok(())
    }

    /// Every running sandbox whose metadata holds all of `metadata`,
    /// following `X-Next-Token` across pages.
    pub async fn list(
        &self,
        metadata: &BTreeMap<String, String>,
    ) -> Result<Vec<SandboxInfo>, SandboxError> {
        let filter = encode_metadata_filter(metadata);
        let mut found = Vec::new();
        let mut cursor: Option<String> = None;

        for _ in 0..MAX_PAGES {
            let (page, next) = self
                .list_page(&filter, PAGE_LIMIT, cursor.as_deref())
                .await?;
            found.extend(page.into_iter().map(|listed| SandboxInfo {
                id: listed.sandbox_id,
                metadata: listed.metadata.unwrap_or_default(),
                started_at: listed.started_at,
                end_at: listed.end_at,
            }));
            match next {
                Some(token) => cursor = Some(token),
                None => return Ok(found),
            }
        }
        Err(SandboxError::transient(format!(
            "list sandboxes: still paging after {MAX_PAGES} pages"
        )))
    }

    /// One authenticated call that touches no sandbox.
    pub async fn ping(&self) -> Result<(), SandboxError> {
        self.list_page("", 1, None).await.map(|_| ())
    }

    async fn list_page(
        &self,
        filter: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<(Vec<ListedSandbox>, Option<String>), SandboxError> {
        let limit = limit.to_string();
        let mut query = vec![("state", "running"), ("limit", limit.as_str())];
        if !filter.is_empty() {
            query.push(("metadata", filter));
        }
        if let Some(cursor) = cursor {
            query.push(("nextToken", cursor));
        }

        let path = format!("/v2/sandboxes?{}", query_string(&query));

        let response = self
            .send("list sandboxes", || self.request(Method::GET, &path))
            .await?;
        let next = response
            .headers()
            .get("x-next-token")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_owned);
        let page = decode(response, "list sandboxes").await?;
        Ok((page, next))
    }
}

async fn decode<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
    what: &str,
) -> Result<T, SandboxError> {
    let body = response
        .bytes()
        .await
        .map_err(|e| SandboxError::transient(format!("{what}: reading the answer: {e}")))?;
    serde_json::from_slice(&body)
        .map_err(|e| SandboxError::transient(format!("{what}: unexpected answer: {e}")))
}

/// A duration in whole seconds for E2B's int32 fields, rounded up so that
/// a sandbox never dies earlier than asked.
fn whole_seconds(duration: Duration) -> u32 {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    u32::try_from(seconds)
        .unwrap_or(u32::MAX)
        .min(i32::MAX.unsigned_abs())
}

/// Sandbox ids are `[a-z0-9]`; anything else is escaped rather than allowed
/// to change the path.
fn path_segment(id: &str) -> String {
    percent_encode(id)
}

/// The metadata filter as the SDK sends it (NOTES §1): each key and value
/// percent-encoded, joined as `k=v&k2=v2`, and that string encoded once
/// more; the query encoding adds the third layer the server undoes.
pub fn encode_metadata_filter(metadata: &BTreeMap<String, String>) -> String {
    metadata
        .iter()
        .map(|(key, value)| {
            let key = percent_encode(&percent_encode(key));
            let value = percent_encode(&percent_encode(value));
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes every byte but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_metadata_filter_matches_what_the_sdk_sends() {
        let metadata = BTreeMap::from([
            ("user".to_owned(), "a b".to_owned()),
            ("app".to_owned(), "x".to_owned()),
        ]);

        let filter = encode_metadata_filter(&metadata);
        let query = query_string(&[("metadata", &filter)]);

        // The SDK sends `user%3Da%252520b%26app%3Dx` for the same pairs, in
        // its own order (NOTES §1).
        assert_eq!(query, "metadata=app%3Dx%26user%3Da%252520b");
    }

    #[test]
    fn separators_inside_keys_and_values_survive_the_servers_decoding() {
        let metadata = BTreeMap::from([("a&b=c".to_owned(), "d=e&f%g".to_owned())]);

        let filter = encode_metadata_filter(&metadata);

        // After the server's second unescape the string splits on `&` and
        // `=` into exactly one pair, each side still escaped once.
        assert_eq!(filter, "a%2526b%253Dc=d%253De%2526f%2525g");
    }

    #[test]
    fn durations_round_up_to_whole_seconds() {
        assert_eq!(whole_seconds(Duration::from_secs(5)), 5);
        assert_eq!(whole_seconds(Duration::from_millis(5001)), 6);
        assert_eq!(whole_seconds(Duration::ZERO), 0);
        assert_eq!(whole_seconds(Duration::from_secs(u64::MAX)), 2_147_483_647);
    }
}
