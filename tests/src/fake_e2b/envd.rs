//! envd, reached through the proxy: the gate that routes by
//! `E2b-Sandbox-Id` and checks `X-Access-Token` (NOTES §2), `/health`,
//! `/files` (`envd-openapi.yml`) and the `filesystem.Filesystem` RPCs.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::SecondsFormat;
use hero_worker::sandbox::{EntryInfo, EntryKind, ExecRequest, SandboxErrorKind, exec_collect};
use serde::Deserialize;
use serde_json::{Value, json};

use super::connect::{self, ConnectError};
use super::multipart;
use super::process;
use super::state::{FakeSandbox, State as FakeState};

type AppState = Arc<FakeState>;
type Sandbox = Extension<Arc<FakeSandbox>>;

/// The default user's home, against which relative paths resolve.
pub const HOME: &str = "/home/user";

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/files", get(download).post(upload))
        .route("/process.Process/Start", post(process::start))
        .route("/process.Process/SendSignal", post(process::send_signal))
        .route("/process.Process/List", post(process::list))
        .route("/filesystem.Filesystem/ListDir", post(list_dir))
        .route("/filesystem.Filesystem/Stat", post(stat))
        .route("/filesystem.Filesystem/MakeDir", post(make_dir))
        .route("/filesystem.Filesystem/Remove", post(remove))
        .route("/filesystem.Filesystem/Move", post(move_entry))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), gate))
        .with_state(state)
}

/// What E2B's proxy and envd's auth do before a handler runs.
async fn gate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let Some(id) = request
        .headers()
        .get("e2b-sandbox-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        // Without the routing header this is the control plane, whose own
        // `/health` answers plainly.
        return if path == "/health" {
            StatusCode::OK.into_response()
        } else {
            envd_error(StatusCode::NOT_FOUND, "not found")
        };
    };

    let Some(sandbox) = state.live(&id) else {
        return proxy_sandbox_not_found(&id);
    };

    // envd: every route but the health probe needs the token once one is
    // set. `/files` would also take a signed URL, which Hero never uses.
    if let Some(token) = &sandbox.access_token
        && path != "/health"
    {
        let given = request
            .headers()
            .get("x-access-token")
            .and_then(|v| v.to_str().ok());
        if given != Some(token.as_str()) {
            return envd_error(
                StatusCode::UNAUTHORIZED,
                "unauthorized access, please provide a valid access token or method signing if supported",
            );
        }
    }

    request.extensions_mut().insert(sandbox);
    next.run(request).await
}

/// The proxy's answer for a sandbox that is not running (NOTES §2).
pub fn proxy_sandbox_not_found(id: &str) -> Response {
    let body = json!({ "sandboxId": id, "message": "The sandbox was not found", "code": 502 });
    (
        StatusCode::BAD_GATEWAY,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

/// envd's HTTP error body: `{"message", "code"}`.
fn envd_error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = json!({ "message": message.into(), "code": status.as_u16() });
    (status, Json(body)).into_response()
}

/// A path as envd resolves it: relative ones are in the user's home.
pub fn resolve(path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else if path.is_empty() {
        HOME.to_owned()
    } else {
        format!("{HOME}/{path}")
    }
}

async fn health() -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn download(
    Extension(sandbox): Sandbox,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(path) = query.get("path").map(|p| resolve(p)) else {
        return envd_error(StatusCode::BAD_REQUEST, "path is required");
    };

    match sandbox.local.stat(&path).await {
        Ok(entry) if entry.kind == EntryKind::Directory => {
            return envd_error(
                StatusCode::BAD_REQUEST,
                format!("path '{path}' is a directory"),
            );
        }
        Ok(_) => {}
        Err(error) if error.kind == SandboxErrorKind::NotFound => {
            return envd_error(
                StatusCode::NOT_FOUND,
                format!("path '{path}' does not exist"),
            );
        }
        Err(error) => return envd_error(StatusCode::INTERNAL_SERVER_ERROR, error.message),
    }

    match sandbox.local.read(&path).await {
        Ok(contents) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/octet-stream")],
            contents,
        )
            .into_response(),
        Err(error) if error.kind == SandboxErrorKind::NotFound => envd_error(
            StatusCode::NOT_FOUND,
            format!("path '{path}' does not exist"),
        ),
        Err(error) => envd_error(StatusCode::INTERNAL_SERVER_ERROR, error.message),
    }
}

/// Uploads as multipart (parts named `file`, each `filename` a path) or
/// as a raw body with `?path=` (NOTES §3b).
async fn upload(
    Extension(sandbox): Sandbox,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if headers.contains_key(header::CONTENT_ENCODING) {
        // TODO: gzip uploads are not faked; Hero and the SDK's defaults send
        // identity.
        return envd_error(StatusCode::BAD_REQUEST, "content encoding not supported");
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let query_path = query.get("path").map(|p| resolve(p));

    let files: Vec<(String, Vec<u8>)> = if content_type.starts_with("multipart/form-data") {
        let parts = match multipart::parse(content_type, &body) {
            Ok(parts) => parts,
            Err(why) => return envd_error(StatusCode::BAD_REQUEST, why),
        };
        let files: Vec<_> = parts
            .into_iter()
            .filter(|part| part.name == "file")
            .collect();
        if files.len() == 1
            && let Some(path) = &query_path
        {
            files
                .into_iter()
                .map(|part| (path.clone(), part.contents))
                .collect()
        } else {
            let mut named = Vec::new();
            for part in files {
                let Some(file_name) = part.file_name else {
                    return envd_error(StatusCode::BAD_REQUEST, "a file part has no filename");
                };
                named.push((resolve(&file_name), part.contents));
            }
            named
        }
    } else if content_type.starts_with("application/octet-stream") {
        let Some(path) = query_path else {
            return envd_error(
                StatusCode::BAD_REQUEST,
                "path is required for an octet-stream upload",
            );
        };
        vec![(path, body.to_vec())]
    } else {
        return envd_error(
            StatusCode::BAD_REQUEST,
            format!("unsupported content type {content_type:?}"),
        );
    };

    let mut written = Vec::new();
    for (path, contents) in files {
        if let Err(error) = sandbox.local.write(&path, &contents).await {
            let status = match error.kind {
                SandboxErrorKind::Refused | SandboxErrorKind::NotFound => StatusCode::BAD_REQUEST,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            return envd_error(status, error.message);
        }
        let name = path.rsplit('/').next().unwrap_or_default().to_owned();
        written.push(json!({ "path": path, "name": name, "type": "file" }));
    }
    Json(Value::Array(written)).into_response()
}

/// `EntryInfo` in proto3 JSON. `mode` is Go's `FileMode`, type bits
/// included, as envd sends it.
pub fn entry_json(entry: &EntryInfo) -> Value {
    const GO_MODE_DIR: u32 = 1 << 31;
    const GO_MODE_SYMLINK: u32 = 1 << 27;
    let (kind, type_bits, type_char) = match entry.kind {
        EntryKind::File => ("FILE_TYPE_FILE", 0, '-'),
        EntryKind::Directory => ("FILE_TYPE_DIRECTORY", GO_MODE_DIR, 'd'),
        EntryKind::Symlink => ("FILE_TYPE_SYMLINK", GO_MODE_SYMLINK, 'L'),
    };
    let permissions: String = std::iter::once(type_char)
        .chain((0..9).rev().map(|bit| {
            let letter = ['x', 'w', 'r'][bit % 3];
            if entry.mode & (1 << bit) != 0 {
                letter
            } else {
                '-'
            }
        }))
        .collect();

    let mut json = json!({
        "name": entry.name,
        "type": kind,
        "path": entry.path,
        "size": entry.size.to_string(),
        "mode": type_bits | (entry.mode & 0o7777),
        "permissions": permissions,
        "owner": "user",
        "group": "user",
    });
    if let Some(modified) = entry.modified {
        json["modifiedTime"] = Value::String(modified.to_rfc3339_opts(SecondsFormat::Nanos, true));
    }
    if let Some(target) = &entry.symlink_target {
        json["symlinkTarget"] = Value::String(target.clone());
    }
    json
}

#[derive(Deserialize)]
struct PathRequest {
    #[serde(default)]
    path: String,
}

#[derive(Deserialize)]
struct ListDirRequest {
    #[serde(default)]
    path: String,
    #[serde(default)]
    depth: u32,
}

#[derive(Deserialize)]
struct MoveRequest {
    #[serde(default)]
    source: String,
    #[serde(default)]
    destination: String,
}

async fn stat_existing(sandbox: &FakeSandbox, path: &str) -> Result<EntryInfo, ConnectError> {
    sandbox
        .local
        .stat(path)
        .await
        .map_err(|error| match error.kind {
            SandboxErrorKind::NotFound => {
                ConnectError::not_found(format!("path '{path}' does not exist"))
            }
            _ => error.into(),
        })
}

async fn list_dir(Extension(sandbox): Sandbox, headers: HeaderMap, body: Bytes) -> Response {
    let request: ListDirRequest = match connect::unary_request(&headers, &body) {
        Ok(request) => request,
        Err(unreadable) => return unreadable.into_response(),
    };
    let path = resolve(&request.path);

    let result = async {
        let entry = stat_existing(&sandbox, &path).await?;
        if entry.kind != EntryKind::Directory {
            return Err(ConnectError::invalid_argument(format!(
                "path '{path}' is not a directory"
            )));
        }
        let mut entries = Vec::new();
        collect_entries(&sandbox, &path, request.depth.max(1), &mut entries).await?;
        Ok(json!({ "entries": entries }))
    }
    .await;
    match result {
        Ok(answer) => connect::unary_ok(answer),
        Err(error) => error.into_response(),
    }
}

/// Entries under `path`, down to `depth` levels, not following symlinks.
async fn collect_entries(
    sandbox: &FakeSandbox,
    path: &str,
    depth: u32,
    into: &mut Vec<Value>,
) -> Result<(), ConnectError> {
    let mut pending = vec![(path.to_owned(), depth)];
    while let Some((dir, depth)) = pending.pop() {
        for entry in sandbox.local.list(&dir).await.map_err(ConnectError::from)? {
            if entry.kind == EntryKind::Directory && depth > 1 {
                pending.push((entry.path.clone(), depth - 1));
            }
            into.push(entry_json(&entry));
        }
    }
    Ok(())
}

async fn stat(Extension(sandbox): Sandbox, headers: HeaderMap, body: Bytes) -> Response {
    let request: PathRequest = match connect::unary_request(&headers, &body) {
        Ok(request) => request,
        Err(unreadable) => return unreadable.into_response(),
    };
    let path = resolve(&request.path);

    match stat_existing(&sandbox, &path).await {
        Ok(entry) => connect::unary_ok(json!({ "entry": entry_json(&entry) })),
        Err(error) => error.into_response(),
    }
}

async fn make_dir(Extension(sandbox): Sandbox, headers: HeaderMap, body: Bytes) -> Response {
    let request: PathRequest = match connect::unary_request(&headers, &body) {
        Ok(request) => request,
        Err(unreadable) => return unreadable.into_response(),
    };
    let path = resolve(&request.path);

    match sandbox.local.make_dir(&path).await {
        Ok(true) => match stat_existing(&sandbox, &path).await {
            Ok(entry) => connect::unary_ok(json!({ "entry": entry_json(&entry) })),
            Err(error) => error.into_response(),
        },
        Ok(false) => ConnectError::new(
            "already_exists",
            format!("directory '{path}' already exists"),
        )
        .into_response(),
        Err(error) => ConnectError::from(error).into_response(),
    }
}

async fn remove(Extension(sandbox): Sandbox, headers: HeaderMap, body: Bytes) -> Response {
    let request: PathRequest = match connect::unary_request(&headers, &body) {
        Ok(request) => request,
        Err(unreadable) => return unreadable.into_response(),
    };
    let path = resolve(&request.path);

    match sandbox.local.remove(&path).await {
        Ok(()) => connect::unary_ok(json!({})),
        Err(error) if error.kind == SandboxErrorKind::NotFound => {
            ConnectError::not_found(format!("path '{path}' does not exist")).into_response()
        }
        Err(error) => ConnectError::from(error).into_response(),
    }
}

/// The local sandbox has no rename, so the move runs as `mv` inside it,
/// after making the destination's parent as envd does.
async fn move_entry(Extension(sandbox): Sandbox, headers: HeaderMap, body: Bytes) -> Response {
    let request: MoveRequest = match connect::unary_request(&headers, &body) {
        Ok(request) => request,
        Err(unreadable) => return unreadable.into_response(),
    };
    let source = resolve(&request.source);
    let destination = resolve(&request.destination);

    let result = async {
        stat_existing(&sandbox, &source).await?;
        let command = format!(
            "mkdir -p -- \"$(dirname -- {dst})\" && mv -f -T -- {src} {dst}",
            src = process::shell_quote(&source),
            dst = process::shell_quote(&destination),
        );
        let (exit, output) = exec_collect(&*sandbox.local, ExecRequest::new(command))
            .await
            .map_err(ConnectError::from)?;
        if exit.exit_code != Some(0) {
            return Err(ConnectError::new(
                "internal",
                format!(
                    "error renaming: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            ));
        }
        let entry = stat_existing(&sandbox, &destination).await?;
        Ok(json!({ "entry": entry_json(&entry) }))
    }
    .await;
    match result {
        Ok(answer) => connect::unary_ok(answer),
        Err(error) => error.into_response(),
    }
}
