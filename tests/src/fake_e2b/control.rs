//! The control plane (`openapi.yml`, NOTES §1): create (v1 and v2),
//! list (legacy and v2, with the metadata filter and cursors), get, kill,
//! set timeout, refresh and connect (v1 and v2), behind `X-API-Key`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, SecondsFormat, Utc};
use hero_worker::sandbox::{CreateSpec, SandboxProvider};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::state::{ENVD_VERSION, FakeSandbox, State as FakeState};

type AppState = Arc<FakeState>;

/// The deprecated `clientID` the SDK still requires (NOTES §1).
const CLIENT_ID: &str = "6532622b";
const MAX_TIMEOUT: i64 = 24 * 60 * 60;
/// The local sandbox's own lifetime; the fake kills it far sooner, on the
/// E2B deadline it keeps itself.
const LOCAL_LIFETIME: Duration = Duration::from_secs(25 * 60 * 60);

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/sandboxes", post(create_v1).get(list_legacy))
        .route("/v2/sandboxes", post(create_v2).get(list_v2))
        .route("/sandboxes/{id}", get(detail).delete(kill))
        .route("/sandboxes/{id}/timeout", post(set_timeout))
        .route("/sandboxes/{id}/refreshes", post(refresh))
        .route("/sandboxes/{id}/connect", post(connect_v1))
        .route("/v2/sandboxes/{id}/connect", post(connect_v2))
        // TODO: pause, resume, fork, metrics and logs are not faked; Hero
        // uses none of them and the SDK calls them only when asked to.
        .route("/sandboxes/{id}/pause", post(unsupported))
        .route("/sandboxes/{id}/resume", post(unsupported))
        .route("/sandboxes/{id}/metrics", get(unsupported))
        .route("/v2/sandboxes/{id}/logs", get(unsupported))
        .route("/sandboxes/{id}/fork", post(unsupported))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_api_key,
        ))
        .with_state(state)
}

/// An answer in the `Error` schema.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    fn no_sandbox(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            format!("sandbox \"{id}\" doesn't exist or you don't have access to it"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "code": self.status.as_u16(), "message": self.message });
        (self.status, axum::Json(body)).into_response()
    }
}

async fn require_api_key(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok());
    if given == Some(state.api_key.as_str()) {
        next.run(request).await
    } else {
        ApiError::new(StatusCode::UNAUTHORIZED, "Invalid API key").into_response()
    }
}

async fn unsupported() -> ApiError {
    ApiError::new(StatusCode::NOT_IMPLEMENTED, "not supported by the fake")
}

/// A JSON body; `None` when the body is empty.
fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<Option<T>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|e| ApiError::bad_request(format!("Error when parsing request: {e}")))
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The `Sandbox` schema, handed out by create and connect.
fn sandbox_json(state: &FakeState, sandbox: &FakeSandbox) -> Value {
    let mut body = json!({
        "templateID": sandbox.template_id,
        "sandboxID": sandbox.id,
        "clientID": CLIENT_ID,
        "envdVersion": ENVD_VERSION,
        "trafficAccessToken": null,
        "domain": null,
    });
    if let Some(token) = &sandbox.access_token {
        let handed_out = if state.faults.wrong_tokens() {
            format!("{token}-wrong")
        } else {
            token.clone()
        };
        body["envdAccessToken"] = Value::String(handed_out);
    }
    body
}

/// The fields `SandboxDetail` and `ListedSandbox` share.
fn listed_json(sandbox: &FakeSandbox) -> Value {
    json!({
        "templateID": sandbox.template_id,
        "sandboxID": sandbox.id,
        "clientID": CLIENT_ID,
        "startedAt": rfc3339(sandbox.started_at),
        "endAt": rfc3339(sandbox.end_at()),
        "cpuCount": 2,
        "memoryMB": 512,
        "diskSizeMB": 1024,
        "metadata": sandbox.metadata,
        "state": "running",
        "envdVersion": ENVD_VERSION,
    })
}

#[derive(Deserialize)]
struct NewSandbox {
    #[serde(rename = "templateID")]
    template_id: String,
    timeout: Option<i64>,
    #[serde(default)]
    secure: bool,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    #[serde(rename = "envVars", default)]
    env_vars: BTreeMap<String, String>,
}

async fn create_v1(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let new: NewSandbox =
        parse_body(&body)?.ok_or_else(|| ApiError::bad_request("request body is required"))?;
    let secure = new.secure;
    create(&state, new, 15, secure, None).await
}

/// v2 sandboxes are always secured, and their timeout defaults to 300 s
/// (NOTES §1).
async fn create_v2(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let new: NewSandbox =
        parse_body(&body)?.ok_or_else(|| ApiError::bad_request("request body is required"))?;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(existing) = key.as_deref().and_then(|key| state.created_with(key)) {
        return Ok((
            StatusCode::CREATED,
            axum::Json(sandbox_json(&state, &existing)),
        )
            .into_response());
    }
    create(&state, new, 300, true, key).await
}

async fn create(
    state: &FakeState,
    new: NewSandbox,
    default_timeout: i64,
    secure: bool,
    idempotency_key: Option<String>,
) -> Result<Response, ApiError> {
    let timeout = new.timeout.unwrap_or(default_timeout);
    if timeout <= 0 {
        return Err(ApiError::bad_request("Timeout must be greater than 0"));
    }
    if timeout > MAX_TIMEOUT {
        return Err(ApiError::bad_request(
            "Timeout cannot be greater than 24 hours",
        ));
    }
    if new.template_id.is_empty() {
        return Err(ApiError::bad_request("templateID is required"));
    }

    let local = state
        .provider()
        .create(CreateSpec {
            template: Some(new.template_id.clone()),
            env: new.env_vars,
            timeout: LOCAL_LIFETIME,
            metadata: new.metadata.clone(),
        })
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("failed to create sandbox: {e}"),
            )
        })?;
    let token = secure.then(|| uuid::Uuid::new_v4().simple().to_string());
    let sandbox = FakeSandbox::new(
        local,
        new.template_id,
        new.metadata,
        Duration::from_secs(timeout.unsigned_abs()),
        token,
    );
    let sandbox = state.add(sandbox, idempotency_key);
    tracing::debug!(sandbox = %sandbox.id, "fake e2b: sandbox created");

    Ok((
        StatusCode::CREATED,
        axum::Json(sandbox_json(state, &sandbox)),
    )
        .into_response())
}

async fn detail(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let sandbox = state.live(&id).ok_or_else(|| ApiError::no_sandbox(&id))?;
    let mut body = listed_json(&sandbox);
    if let Some(token) = &sandbox.access_token {
        body["envdAccessToken"] = Value::String(token.clone());
    }
    body["domain"] = Value::Null;
    Ok(axum::Json(body).into_response())
}

async fn kill(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.live(&id).is_some() && state.remove(&id) {
        tracing::debug!(sandbox = %id, "fake e2b: sandbox killed");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::no_sandbox(&id))
    }
}

#[derive(Deserialize)]
struct TimeoutBody {
    timeout: i64,
}

/// The deadline becomes now + timeout, shorter or longer; a negative
/// timeout counts as zero (NOTES §1).
async fn set_timeout(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let body: TimeoutBody =
        parse_body(&body)?.ok_or_else(|| ApiError::bad_request("request body is required"))?;
    let sandbox = state.live(&id).ok_or_else(|| ApiError::no_sandbox(&id))?;
    if body.timeout > MAX_TIMEOUT {
        return Err(ApiError::bad_request(
            "Timeout cannot be greater than 24 hours",
        ));
    }
    sandbox.set_timeout(Duration::from_secs(body.timeout.max(0).unsigned_abs()));
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct RefreshBody {
    duration: Option<i64>,
}

/// Keeps the sandbox alive for `duration` more seconds, never shortening.
async fn refresh(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let body: Option<RefreshBody> = parse_body(&body)?;
    let duration = body.and_then(|b| b.duration).unwrap_or(15);
    if !(0..=3600).contains(&duration) {
        return Err(ApiError::bad_request(
            "duration must be between 0 and 3600 seconds",
        ));
    }
    let sandbox = state.live(&id).ok_or_else(|| ApiError::no_sandbox(&id))?;
    sandbox.extend(Duration::from_secs(duration.unsigned_abs()));
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct ConnectBody {
    timeout: Option<i64>,
}

/// v1 connect: `timeout` is required.
async fn connect_v1(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let timeout = parse_body::<ConnectBody>(&body)?
        .and_then(|b| b.timeout)
        .ok_or_else(|| ApiError::bad_request("timeout is required"))?;
    connect(&state, &id, timeout)
}

/// v2 connect: `timeout` defaults to 300 s.
async fn connect_v2(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let timeout = parse_body::<ConnectBody>(&body)?
        .and_then(|b| b.timeout)
        .unwrap_or(300);
    connect(&state, &id, timeout)
}

/// A running sandbox is answered 200 and its TTL only ever extended
/// (openapi: "TTL is only extended").
fn connect(state: &FakeState, id: &str, timeout: i64) -> Result<Response, ApiError> {
    if !(0..=MAX_TIMEOUT).contains(&timeout) {
        return Err(ApiError::bad_request(
            "Timeout must be between 0 and 24 hours",
        ));
    }
    let sandbox = state.live(id).ok_or_else(|| ApiError::no_sandbox(id))?;
    sandbox.extend(Duration::from_secs(timeout.unsigned_abs()));
    Ok((StatusCode::OK, axum::Json(sandbox_json(state, &sandbox))).into_response())
}

/// Undoes what the SDK does to a metadata filter (NOTES §1): the query
/// decoding has happened; then the whole string is unescaped, split into
/// pairs, and each side unescaped again.
fn parse_metadata_filter(raw: &str) -> Result<BTreeMap<String, String>, ApiError> {
    let invalid = || ApiError::bad_request("Invalid metadata query");
    let whole = query_unescape(raw).ok_or_else(invalid)?;
    let mut filter = BTreeMap::new();
    for pair in whole.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').ok_or_else(invalid)?;
        filter.insert(
            query_unescape(key).ok_or_else(invalid)?,
            query_unescape(value).ok_or_else(invalid)?,
        );
    }
    Ok(filter)
}

/// Go's `url.QueryUnescape`: `%XX` escapes and `+` as a space.
fn query_unescape(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn matches_filter(sandbox: &FakeSandbox, filter: &BTreeMap<String, String>) -> bool {
    filter
        .iter()
        .all(|(key, value)| sandbox.metadata.get(key) == Some(value))
}

/// `GET /sandboxes`: deprecated, every running match, no pages.
async fn list_legacy(
    State(state): State<AppState>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let filter = match query.get("metadata") {
        Some(raw) => parse_metadata_filter(raw)?,
        None => BTreeMap::new(),
    };
    let mut sandboxes: Vec<_> = state
        .all_live()
        .into_iter()
        .filter(|sandbox| matches_filter(sandbox, &filter))
        .collect();
    sandboxes.sort_by(|a, b| (b.started_at, &b.id).cmp(&(a.started_at, &a.id)));
    let body: Vec<Value> = sandboxes.iter().map(|s| listed_json(s)).collect();
    Ok(axum::Json(body).into_response())
}

/// A position in the listing order: after this start time and id.
fn cursor_of(sandbox: &FakeSandbox) -> String {
    format!(
        "{}.{}",
        sandbox.started_at.timestamp_nanos_opt().unwrap_or_default(),
        sandbox.id
    )
}

fn parse_cursor(token: &str) -> Option<(DateTime<Utc>, String)> {
    let (nanos, id) = token.split_once('.')?;
    let started_at = DateTime::from_timestamp_nanos(nanos.parse().ok()?);
    Some((started_at, id.to_owned()))
}

/// `GET /v2/sandboxes`: filtered by metadata, state, template and start
/// time, newest first unless `order=asc`, in pages with `X-Next-Token`.
async fn list_v2(
    State(state): State<AppState>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let filter = match query.get("metadata") {
        Some(raw) => parse_metadata_filter(raw)?,
        None => BTreeMap::new(),
    };
    let states: Vec<&str> = query
        .get("state")
        .map_or(vec!["running", "paused"], |s| s.split(',').collect());
    if let Some(bad) = states.iter().find(|s| !matches!(**s, "running" | "paused")) {
        return Err(ApiError::bad_request(format!("invalid state {bad:?}")));
    }
    let ascending = match query.get("order").map(String::as_str) {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(other) => return Err(ApiError::bad_request(format!("invalid order {other:?}"))),
    };
    let limit = match query.get("limit") {
        None => 100,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| ApiError::bad_request("limit must be between 1 and 100"))?,
    };
    let started_after = match query.get("startedAfter") {
        None => None,
        Some(text) => Some(
            DateTime::parse_from_rfc3339(text)
                .map_err(|_| ApiError::bad_request("invalid startedAfter"))?
                .with_timezone(&Utc),
        ),
    };
    let cursor = match query.get("nextToken").filter(|t| !t.is_empty()) {
        None => None,
        Some(token) => {
            Some(parse_cursor(token).ok_or_else(|| ApiError::bad_request("Invalid next token"))?)
        }
    };

    // The fake never pauses a sandbox, so all of its sandboxes are running.
    let mut matching: Vec<_> = if states.contains(&"running") {
        state
            .all_live()
            .into_iter()
            .filter(|sandbox| matches_filter(sandbox, &filter))
            .filter(|sandbox| {
                query
                    .get("template")
                    .is_none_or(|t| *t == sandbox.template_id)
            })
            .filter(|sandbox| started_after.is_none_or(|after| sandbox.started_at >= after))
            .collect()
    } else {
        Vec::new()
    };
    matching.sort_by(|a, b| {
        let order = (a.started_at, &a.id).cmp(&(b.started_at, &b.id));
        if ascending { order } else { order.reverse() }
    });
    let total_running = matching.len();

    let after_cursor: Vec<_> = matching
        .into_iter()
        .filter(|sandbox| match &cursor {
            None => true,
            Some((at, id)) if ascending => (sandbox.started_at, &sandbox.id) > (*at, id),
            Some((at, id)) => (sandbox.started_at, &sandbox.id) < (*at, id),
        })
        .collect();
    let more = after_cursor.len() > limit;
    let page = &after_cursor[..after_cursor.len().min(limit)];

    let body: Vec<Value> = page.iter().map(|s| listed_json(s)).collect();
    let mut response = axum::Json(body).into_response();
    let headers = response.headers_mut();
    if let Ok(total) = HeaderValue::from_str(&total_running.to_string()) {
        headers.insert("X-Total-Running", total);
    }
    if more
        && let Some(last) = page.last()
        && let Ok(token) = HeaderValue::from_str(&cursor_of(last))
    {
        headers.insert("X-Next-Token", token);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_sdks_metadata_filter_is_decoded_to_its_pairs() {
        // What the SDK sends, after the query decoding (NOTES §1).
        let filter = parse_metadata_filter("user=a%2520b&app=x").unwrap();

        assert_eq!(
            filter,
            BTreeMap::from([
                ("user".to_owned(), "a b".to_owned()),
                ("app".to_owned(), "x".to_owned()),
            ])
        );
    }

    #[test]
    fn a_broken_escape_in_the_filter_is_a_bad_request() {
        assert!(parse_metadata_filter("user=%zz").is_err());
        assert!(parse_metadata_filter("novalue").is_err());
    }
}
