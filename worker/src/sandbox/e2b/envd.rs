//! One E2B sandbox, through envd: its `/health` and `/files` HTTP routes
//! (`envd-openapi.yml`) and the `filesystem.Filesystem` Connect RPCs with
//! the JSON codec (NOTES §3).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::header::HeaderValue;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::sandbox::{
    EntryInfo, EntryKind, ExecExit, ExecRequest, OutputSink, Sandbox, SandboxError,
};

use super::Shared;
use super::config::ENVD_PORT;
use super::transport::{Exchange, Failure, Plane, query_string};

/// E2B's default user's home, where commands start (NOTES §3a).
pub const HOME: &str = "/home/user";

/// The first envd that takes a raw `application/octet-stream` upload
/// (NOTES §2); older ones get multipart.
const OCTET_STREAM_UPLOAD: (u64, u64, u64) = (0, 5, 7);

/// A handle on one E2B sandbox.
pub struct E2bSandbox {
    pub(super) shared: Arc<Shared>,
    pub(super) id: String,
    pub(super) envd_url: String,
    pub(super) access_token: Option<SecretString>,
    pub(super) envd_version: (u64, u64, u64),
}

impl E2bSandbox {
    /// A request to envd, with the routing headers the proxy needs and the
    /// access token envd checks (NOTES §2).
    pub(super) fn envd_request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut request = self
            .shared
            .transport
            .client()
            .request(method, format!("{}{path}", self.envd_url))
            .header("E2b-Sandbox-Id", &self.id)
            .header("E2b-Sandbox-Port", ENVD_PORT.to_string());
        if let Some(token) = &self.access_token
            && let Ok(mut value) = HeaderValue::from_str(token.expose_secret())
        {
            value.set_sensitive(true);
            request = request.header("X-Access-Token", value);
        }
        request
    }

    pub(super) async fn send(
        &self,
        what: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, Failure> {
        let secrets: Vec<&SecretString> = std::iter::once(&self.shared.config.api_key)
            .chain(self.access_token.as_ref())
            .collect();
        let exchange = Exchange {
            what,
            plane: Plane::Envd,
            secrets: &secrets,
        };
        self.shared.transport.send(&exchange, build).await
    }

    /// A unary Connect call with the JSON codec.
    pub(super) async fn unary<T: DeserializeOwned>(
        &self,
        what: &str,
        method: &str,
        body: &serde_json::Value,
    ) -> Result<T, Failure> {
        let timeout = self.shared.transport.request_timeout();
        let path = format!("/{method}");
        let body = serde_json::to_vec(body).map_err(|e| Failure {
            status: None,
            connect_code: None,
            error: SandboxError::refused(format!("{what}: encoding the request: {e}")),
        })?;

        let response = self
            .send(what, || {
                self.envd_request(Method::POST, &path)
                    .header("Content-Type", "application/json")
                    .header("Connect-Protocol-Version", "1")
                    .header("Connect-Timeout-Ms", timeout.as_millis().to_string())
                    .timeout(timeout)
                    .body(body.clone())
            })
            .await?;
        let bytes = response.bytes().await.map_err(|e| Failure {
            status: None,
            connect_code: None,
            error: SandboxError::transient(format!("{what}: reading the answer: {e}")),
        })?;
        serde_json::from_slice(&bytes).map_err(|e| Failure {
            status: None,
            connect_code: None,
            error: SandboxError::transient(format!("{what}: unexpected answer: {e}")),
        })
    }

    fn supports_octet_stream_upload(&self) -> bool {
        self.envd_version >= OCTET_STREAM_UPLOAD
    }
}

/// `EntryInfo` of `filesystem.proto` in proto3 JSON.
#[derive(Deserialize)]
struct WireEntry {
    name: String,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    path: String,
    /// int64, so a JSON string; a number is accepted too.
    #[serde(default)]
    size: Option<serde_json::Value>,
    #[serde(default)]
    mode: Option<u32>,
    #[serde(rename = "modifiedTime", default)]
    modified_time: Option<DateTime<Utc>>,
    #[serde(rename = "symlinkTarget", default)]
    symlink_target: Option<String>,
}

#[derive(Deserialize)]
struct ListDirResponse {
    #[serde(default)]
    entries: Vec<WireEntry>,
}

#[derive(Deserialize)]
struct EntryResponse {
    entry: Option<WireEntry>,
}

impl WireEntry {
    fn into_entry(self) -> Result<EntryInfo, SandboxError> {
        let kind = match self.kind.as_deref() {
            Some("FILE_TYPE_FILE") => EntryKind::File,
            Some("FILE_TYPE_DIRECTORY") => EntryKind::Directory,
            Some("FILE_TYPE_SYMLINK") => EntryKind::Symlink,
            other => {
                return Err(SandboxError::transient(format!(
                    "{}: unknown entry type {other:?}",
                    self.path
                )));
            }
        };
        let size = match &self.size {
            None => 0,
            Some(serde_json::Value::String(text)) => text.parse().unwrap_or(0),
            Some(serde_json::Value::Number(number)) => number.as_u64().unwrap_or(0),
            Some(_) => 0,
        };
        Ok(EntryInfo {
            name: self.name,
            path: self.path,
            kind,
            size,
            // envd sends Go's FileMode, whose high bits give the type.
            mode: self.mode.unwrap_or(0) & 0o7777,
            modified: self.modified_time,
            symlink_target: self.symlink_target.filter(|t| !t.is_empty()),
        })
    }
}

/// Parses `0.6.13` (or `v0.6.13-rc1`) for the feature gates.
pub fn parse_version(text: &str) -> (u64, u64, u64) {
    let core = text.trim().trim_start_matches('v');
    let core = core.split(['-', '+']).next().unwrap_or_default();
    let mut parts = core.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

/// `/files?path=…`, the path query-encoded.
fn files_path(path: &str) -> String {
    format!("/files?{}", query_string(&[("path", path)]))
}

/// A multipart body with the one part envd reads, `file` (NOTES §3b).
fn multipart_body(path: &str, contents: &[u8]) -> (String, Vec<u8>) {
    let boundary = format!("hero-{}", uuid::Uuid::new_v4().simple());
    let file_name = path.replace(['"', '\r', '\n'], "_");
    let mut body = Vec::with_capacity(contents.len() + 256);
    body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    body.extend_from_slice(
        format!(
            "Content-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(contents);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[async_trait]
impl Sandbox for E2bSandbox {
    fn id(&self) -> &str {
        &self.id
    }

    fn workdir(&self) -> &str {
        HOME
    }

    async fn health(&self) -> Result<(), SandboxError> {
        let what = format!("health of sandbox {}", self.id);
        let timeout = self.shared.transport.request_timeout();

        self.send(&what, || {
            self.envd_request(Method::GET, "/health").timeout(timeout)
        })
        .await?;
        Ok(())
    }

    async fn exec(
        &self,
        request: ExecRequest,
        sink: OutputSink<'_>,
    ) -> Result<ExecExit, SandboxError> {
        super::process::run(self, request, sink).await
    }

    async fn read(&self, path: &str) -> Result<Vec<u8>, SandboxError> {
        let what = format!("read {path} in sandbox {}", self.id);
        let files_path = files_path(path);
        let timeout = self.shared.transport.request_timeout();

        let response = self
            .send(&what, || {
                self.envd_request(Method::GET, &files_path).timeout(timeout)
            })
            .await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|e| SandboxError::transient(format!("{what}: {e}")))?;
        Ok(bytes.to_vec())
    }

    async fn write(&self, path: &str, contents: &[u8]) -> Result<(), SandboxError> {
        let what = format!("write {path} in sandbox {}", self.id);
        let files_path = files_path(path);
        let timeout = self.shared.transport.request_timeout();
        let (content_type, body) = if self.supports_octet_stream_upload() {
            ("application/octet-stream".to_owned(), contents.to_vec())
        } else {
            multipart_body(path, contents)
        };
        let body = bytes::Bytes::from(body);

        self.send(&what, || {
            self.envd_request(Method::POST, &files_path)
                .header("Content-Type", &content_type)
                .timeout(timeout)
                .body(body.clone())
        })
        .await?;
        Ok(())
    }

    async fn list(&self, path: &str) -> Result<Vec<EntryInfo>, SandboxError> {
        let what = format!("list {path} in sandbox {}", self.id);
        let body = json!({ "path": path, "depth": 1 });

        let listed: ListDirResponse = self
            .unary(&what, "filesystem.Filesystem/ListDir", &body)
            .await?;
        listed
            .entries
            .into_iter()
            .map(WireEntry::into_entry)
            .collect()
    }

    async fn remove(&self, path: &str) -> Result<(), SandboxError> {
        let what = format!("remove {path} in sandbox {}", self.id);
        let body = json!({ "path": path });

        let _: serde_json::Value = self
            .unary(&what, "filesystem.Filesystem/Remove", &body)
            .await?;
        Ok(())
    }

    async fn stat(&self, path: &str) -> Result<EntryInfo, SandboxError> {
        let what = format!("stat {path} in sandbox {}", self.id);
        let body = json!({ "path": path });

        let answer: EntryResponse = self
            .unary(&what, "filesystem.Filesystem/Stat", &body)
            .await?;
        answer
            .entry
            .ok_or_else(|| SandboxError::transient(format!("{what}: answer without an entry")))?
            .into_entry()
    }

    async fn make_dir(&self, path: &str) -> Result<bool, SandboxError> {
        let what = format!("make directory {path} in sandbox {}", self.id);
        let body = json!({ "path": path });

        match self
            .unary::<serde_json::Value>(&what, "filesystem.Filesystem/MakeDir", &body)
            .await
        {
            Ok(_) => Ok(true),
            Err(failure)
                if failure.connect_code.as_deref() == Some("already_exists")
                    || failure.status == Some(StatusCode::CONFLICT) =>
            {
                Ok(false)
            }
            Err(failure) => Err(failure.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn versions_compare_by_their_numbers() {
        assert_eq!(parse_version("0.6.13"), (0, 6, 13));
        assert_eq!(parse_version("v0.5.7-rc1"), (0, 5, 7));
        assert!(parse_version("0.5.10") >= OCTET_STREAM_UPLOAD);
        assert!(parse_version("0.4.2") < OCTET_STREAM_UPLOAD);
    }

    #[test]
    fn an_entry_is_read_from_proto_json() {
        let wire: WireEntry = serde_json::from_str(
            r#"{"name":"a.txt","type":"FILE_TYPE_FILE","path":"/home/user/a.txt",
                "size":"5","mode":420,"permissions":"-rw-r--r--","owner":"user",
                "group":"user","modifiedTime":"2026-01-02T03:04:05.123456789Z"}"#,
        )
        .unwrap();

        let entry = wire.into_entry().unwrap();

        assert_eq!(entry.name, "a.txt");
        assert_eq!(entry.kind, EntryKind::File);
        assert_eq!(entry.size, 5);
        assert_eq!(entry.mode, 0o644);
        assert!(entry.modified.is_some());
    }

    #[test]
    fn a_directorys_go_mode_keeps_only_permission_bits() {
        let wire: WireEntry = serde_json::from_str(
            r#"{"name":"d","type":"FILE_TYPE_DIRECTORY","path":"/d","size":"4096","mode":2147484141}"#,
        )
        .unwrap();

        let entry = wire.into_entry().unwrap();

        assert_eq!(entry.kind, EntryKind::Directory);
        assert_eq!(entry.mode, 0o755);
    }

    #[test]
    fn the_multipart_body_has_one_file_part() {
        let (content_type, body) = multipart_body("/home/user/a.txt", b"hello");
        let boundary = content_type.split("boundary=").nth(1).unwrap();
        let text = String::from_utf8(body).unwrap();

        assert!(text.starts_with(&format!("--{boundary}\r\n")));
        assert!(text.contains("name=\"file\"; filename=\"/home/user/a.txt\""));
        assert!(text.contains("\r\n\r\nhello\r\n"));
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
    }
}
