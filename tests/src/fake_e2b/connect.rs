//! The server side of Connect RPC with the JSON codec, as envd speaks it
//! (NOTES §3a): unary calls as plain JSON, server streams as enveloped
//! messages ending with an end-of-stream frame. Written apart from Hero's
//! client codec on purpose, so that a shared mistake cannot hide.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hero_worker::sandbox::{SandboxError, SandboxErrorKind};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub const END_STREAM: u8 = 0x02;

/// A Connect error: a lower-snake code and a message.
#[derive(Debug, Clone)]
pub struct ConnectError {
    pub code: &'static str,
    pub message: String,
}

impl ConnectError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new("invalid_argument", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new("not_found", message)
    }

    /// The HTTP status of a unary error (the Connect protocol's table).
    fn status(&self) -> StatusCode {
        match self.code {
            "invalid_argument" | "failed_precondition" | "out_of_range" => StatusCode::BAD_REQUEST,
            "unauthenticated" => StatusCode::UNAUTHORIZED,
            "permission_denied" => StatusCode::FORBIDDEN,
            "not_found" => StatusCode::NOT_FOUND,
            "already_exists" | "aborted" => StatusCode::CONFLICT,
            "resource_exhausted" => StatusCode::TOO_MANY_REQUESTS,
            "unimplemented" => StatusCode::NOT_IMPLEMENTED,
            "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
            "deadline_exceeded" => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn to_json(&self) -> Value {
        json!({ "code": self.code, "message": self.message })
    }
}

/// What envd would answer for the local sandbox's error.
impl From<SandboxError> for ConnectError {
    fn from(error: SandboxError) -> Self {
        let code = match error.kind {
            SandboxErrorKind::NotFound => "not_found",
            SandboxErrorKind::Refused => "invalid_argument",
            SandboxErrorKind::TimedOut => "deadline_exceeded",
            SandboxErrorKind::Gone => "unavailable",
            SandboxErrorKind::Transient => "internal",
            SandboxErrorKind::Cancelled => "canceled",
        };
        Self::new(code, error.message)
    }
}

/// A unary error answer.
impl IntoResponse for ConnectError {
    fn into_response(self) -> Response {
        let status = self.status();
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            self.to_json().to_string(),
        )
            .into_response()
    }
}

/// A unary success answer.
pub fn unary_ok(message: Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        message.to_string(),
    )
        .into_response()
}

/// Why a request could not be read, answered as the protocol says.
#[derive(Debug)]
pub enum Unreadable {
    /// Not the content type of the RPC's protocol: 415.
    MediaType(String),
    /// A unary message that does not decode.
    Unary(ConnectError),
    /// A streaming request that does not decode: the error goes in the
    /// end-of-stream frame.
    Stream(ConnectError),
}

impl IntoResponse for Unreadable {
    fn into_response(self) -> Response {
        match self {
            Self::MediaType(content_type) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported content type {content_type:?}"),
            )
                .into_response(),
            Self::Unary(error) => error.into_response(),
            Self::Stream(error) => stream_error(&error),
        }
    }
}

/// Reads a unary request: `application/json`, the message as the body.
pub fn unary_request<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, Unreadable> {
    let content_type = content_type(headers);
    if content_type != "application/json" {
        return Err(Unreadable::MediaType(content_type));
    }
    serde_json::from_slice(body).map_err(|e| {
        Unreadable::Unary(ConnectError::invalid_argument(format!(
            "unmarshal message: {e}"
        )))
    })
}

/// Reads a server-streaming request: `application/connect+json`, one
/// enveloped message as the body.
pub fn stream_request<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, Unreadable> {
    let content_type = content_type(headers);
    if content_type != "application/connect+json" {
        return Err(Unreadable::MediaType(content_type));
    }
    let message = match body {
        [flags, l0, l1, l2, l3, rest @ ..] if *flags == 0 => {
            let len = u32::from_be_bytes([*l0, *l1, *l2, *l3]);
            usize::try_from(len)
                .ok()
                .filter(|len| *len == rest.len())
                .map(|_| rest)
        }
        _ => None,
    };
    let Some(message) = message else {
        return Err(Unreadable::Stream(ConnectError::invalid_argument(
            "the request body is not one uncompressed enveloped message",
        )));
    };
    serde_json::from_slice(message).map_err(|e| {
        Unreadable::Stream(ConnectError::invalid_argument(format!(
            "unmarshal message: {e}"
        )))
    })
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// One enveloped message.
pub fn envelope(flags: u8, message: &Value) -> Bytes {
    let payload = message.to_string().into_bytes();
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut framed = Vec::with_capacity(payload.len() + 5);
    framed.push(flags);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(&payload);
    Bytes::from(framed)
}

/// The end-of-stream frame, with the RPC's error if it failed.
pub fn end_of_stream(error: Option<&ConnectError>) -> Bytes {
    let message = match error {
        Some(error) => json!({ "error": error.to_json() }),
        None => json!({}),
    };
    envelope(END_STREAM, &message)
}

/// A streaming RPC that fails before sending anything: HTTP 200 and the
/// error in the end-of-stream frame, as connect-go answers.
pub fn stream_error(error: &ConnectError) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/connect+json")],
        end_of_stream(Some(error)),
    )
        .into_response()
}
