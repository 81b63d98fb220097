//! One HTTP exchange with E2B: sent, retried a bounded number of times when
//! the server says it may be, and its failure sorted into a
//! [`SandboxErrorKind`].
//!
//! The retry rules are the official SDK's (NOTES §1): a response carrying
//! `Should-Retry: true`, or a 429/5xx without `Should-Retry: false`, is
//! retried after its `Retry-After` (delta-seconds) or an exponential
//! backoff with jitter.

use std::time::Duration;

use rand::Rng;
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::sandbox::{SandboxError, SandboxErrorKind};

use super::E2bConfig;

/// The longest backoff between two attempts when the server names none.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Error bodies are short; a longer one is cut before it goes in a message.
const MAX_ERROR_MESSAGE: usize = 512;

/// Which side of E2B answered: envd requests pass through E2B's proxy,
/// whose 502 means the sandbox is gone rather than a passing failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plane {
    Control,
    Envd,
}

/// What is being done, for messages and logs, and which secret values must
/// never appear in them even if a server echoes them back.
pub struct Exchange<'a> {
    pub what: &'a str,
    pub plane: Plane,
    pub secrets: &'a [&'a SecretString],
}

/// A failed exchange: the error to report and, when the server answered,
/// what it said, so callers can treat some answers (404 on kill, Connect's
/// `already_exists` on make_dir) as results rather than failures.
#[derive(Debug)]
pub struct Failure {
    pub status: Option<StatusCode>,
    /// The Connect error code, when the body was a Connect error.
    pub connect_code: Option<String>,
    pub error: SandboxError,
}

impl From<Failure> for SandboxError {
    fn from(failure: Failure) -> Self {
        failure.error
    }
}

#[derive(Debug, Clone)]
pub struct Transport {
    client: reqwest::Client,
    max_retries: u32,
    base_delay: Duration,
    max_retry_wait: Duration,
    request_timeout: Duration,
}

impl Transport {
    pub fn new(config: &E2bConfig) -> Result<Self, SandboxError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("hero-worker/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.request_timeout)
            .build()
            .map_err(|e| SandboxError::refused(format!("building the HTTP client: {e}")))?;
        Ok(Self {
            client,
            max_retries: config.max_retries,
            base_delay: config.retry_base_delay,
            max_retry_wait: config.max_retry_wait,
            request_timeout: config.request_timeout,
        })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// Sends the request `build` makes, again for each retry, and returns
    /// the first successful response. Response headers must arrive within
    /// the request timeout; a caller that reads a bounded body also sets
    /// that timeout on the request itself.
    pub async fn send(
        &self,
        exchange: &Exchange<'_>,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, Failure> {
        let mut attempt = 0;
        loop {
            tracing::debug!(what = exchange.what, attempt, "e2b request");
            let sent = tokio::time::timeout(self.request_timeout, build().send()).await;

            let response = match sent {
                Err(_elapsed) => {
                    return Err(failure_without_answer(
                        exchange,
                        SandboxErrorKind::TimedOut,
                        format!("no answer within {:?}", self.request_timeout),
                    ));
                }
                Ok(Err(error)) if error.is_connect() && attempt < self.max_retries => {
                    tracing::debug!(what = exchange.what, attempt, "e2b connection failed");
                    tokio::time::sleep(self.backoff(attempt)).await;
                    attempt += 1;
                    continue;
                }
                Ok(Err(error)) => return Err(transport_failure(exchange, &error)),
                Ok(Ok(response)) => response,
            };

            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }

            let advice = RetryAdvice::from_headers(response.headers());
            let answer = read_error_body(response, self.request_timeout).await;
            let gone = is_proxy_gone(exchange.plane, status, &answer.message);
            tracing::debug!(
                what = exchange.what,
                attempt,
                status = status.as_u16(),
                "e2b error answer"
            );

            if !gone && advice.allows(status) && attempt < self.max_retries {
                match advice.retry_after {
                    Some(wait) if wait > self.max_retry_wait => {}
                    Some(wait) => {
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                        continue;
                    }
                    None => {
                        tokio::time::sleep(self.backoff(attempt)).await;
                        attempt += 1;
                        continue;
                    }
                }
            }
            return Err(answered_failure(exchange, status, answer, gone));
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(MAX_BACKOFF);
        // Full jitter between half and all of it, so that workers hit by the
        // same limit do not come back in step.
        let jitter = rand::thread_rng().gen_range(0.5..=1.0);
        exponential.mul_f64(jitter)
    }
}

/// What the server said about retrying.
#[derive(Debug, Default)]
struct RetryAdvice {
    should_retry: Option<bool>,
    retry_after: Option<Duration>,
}

impl RetryAdvice {
    fn from_headers(headers: &HeaderMap) -> Self {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        Self {
            should_retry: text("should-retry").map(|v| v.eq_ignore_ascii_case("true")),
            // Only delta-seconds: E2B never sends the HTTP-date form, and a
            // date would be backed off from like a missing header.
            retry_after: text("retry-after")
                .and_then(|v| v.parse::<u64>().ok())
                .map(Duration::from_secs),
        }
    }

    fn allows(&self, status: StatusCode) -> bool {
        match self.should_retry {
            Some(verdict) => verdict,
            None => matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504),
        }
    }
}

/// An error body: E2B's `{"code": 404, "message"}`, or Connect's
/// `{"code": "not_found", "message"}`.
#[derive(Debug, Default)]
pub struct ErrorAnswer {
    pub connect_code: Option<String>,
    pub message: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: Option<serde_json::Value>,
    message: Option<String>,
}

impl ErrorAnswer {
    pub fn parse(body: &[u8]) -> Self {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(parsed) => Self {
                connect_code: parsed
                    .code
                    .as_ref()
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned),
                message: parsed.message.unwrap_or_default(),
            },
            Err(_) => Self {
                connect_code: None,
                message: String::from_utf8_lossy(body).trim().to_owned(),
            },
        }
    }
}

async fn read_error_body(response: Response, limit: Duration) -> ErrorAnswer {
    match tokio::time::timeout(limit, response.bytes()).await {
        Ok(Ok(body)) => ErrorAnswer::parse(&body),
        _ => ErrorAnswer::default(),
    }
}

/// E2B's proxy answers 502 "The sandbox was not found" for a sandbox that
/// has been killed or has expired (NOTES §2).
fn is_proxy_gone(plane: Plane, status: StatusCode, message: &str) -> bool {
    plane == Plane::Envd && status == StatusCode::BAD_GATEWAY && message.contains("was not found")
}

/// The kind of error a Connect error code stands for.
pub fn kind_of_connect_code(code: &str) -> SandboxErrorKind {
    match code {
        "not_found" => SandboxErrorKind::NotFound,
        "deadline_exceeded" => SandboxErrorKind::TimedOut,
        "unavailable" | "resource_exhausted" | "aborted" | "internal" | "unknown" | "canceled"
        | "data_loss" => SandboxErrorKind::Transient,
        _ => SandboxErrorKind::Refused,
    }
}

fn kind_of_status(status: StatusCode) -> SandboxErrorKind {
    match status.as_u16() {
        404 => SandboxErrorKind::NotFound,
        410 => SandboxErrorKind::Gone,
        408 => SandboxErrorKind::TimedOut,
        429 => SandboxErrorKind::Transient,
        code if code >= 500 => SandboxErrorKind::Transient,
        _ => SandboxErrorKind::Refused,
    }
}

fn answered_failure(
    exchange: &Exchange<'_>,
    status: StatusCode,
    answer: ErrorAnswer,
    gone: bool,
) -> Failure {
    let kind = if gone {
        SandboxErrorKind::Gone
    } else if let Some(code) = &answer.connect_code {
        kind_of_connect_code(code)
    } else {
        kind_of_status(status)
    };
    let said = if answer.message.is_empty() {
        String::new()
    } else {
        format!(": {}", shorten(&answer.message))
    };
    let message = format!("{}: HTTP {}{said}", exchange.what, status.as_u16());
    Failure {
        status: Some(status),
        connect_code: answer.connect_code,
        error: SandboxError::new(kind, scrub(message, exchange.secrets)),
    }
}

fn transport_failure(exchange: &Exchange<'_>, error: &reqwest::Error) -> Failure {
    let kind = if error.is_timeout() {
        SandboxErrorKind::TimedOut
    } else {
        SandboxErrorKind::Transient
    };
    // A reqwest error names the URL, which carries ids and paths but never
    // a key: those travel in headers.
    failure_without_answer(exchange, kind, error_chain(error))
}

fn failure_without_answer(exchange: &Exchange<'_>, kind: SandboxErrorKind, why: String) -> Failure {
    let message = format!("{}: {why}", exchange.what);
    Failure {
        status: None,
        connect_code: None,
        error: SandboxError::new(kind, scrub(message, exchange.secrets)),
    }
}

/// `a=1&b=2`, form-encoded as a URL query.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    let Ok(mut url) = reqwest::Url::parse("http://query.invalid/") else {
        return String::new();
    };
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or_default().to_owned()
}

/// An error with its causes, which is where reqwest says what went wrong.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn shorten(text: &str) -> &str {
    match text.char_indices().nth(MAX_ERROR_MESSAGE) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// Removes secret values from text bound for an error message.
pub fn scrub(mut text: String, secrets: &[&SecretString]) -> String {
    for secret in secrets {
        let value = secret.expose_secret();
        if !value.is_empty() && text.contains(value) {
            text = text.replace(value, "[redacted]");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn a_429_is_retried_unless_the_server_says_not_to() {
        let mut headers = HeaderMap::new();
        assert!(RetryAdvice::from_headers(&headers).allows(StatusCode::TOO_MANY_REQUESTS));

        headers.insert("Should-Retry", HeaderValue::from_static("false"));
        assert!(!RetryAdvice::from_headers(&headers).allows(StatusCode::TOO_MANY_REQUESTS));
    }

    #[test]
    fn should_retry_true_makes_any_status_retryable() {
        let mut headers = HeaderMap::new();
        headers.insert("should-retry", HeaderValue::from_static("true"));

        assert!(RetryAdvice::from_headers(&headers).allows(StatusCode::CONFLICT));
    }

    #[test]
    fn client_errors_are_not_retried() {
        let advice = RetryAdvice::from_headers(&HeaderMap::new());

        assert!(!advice.allows(StatusCode::BAD_REQUEST));
        assert!(!advice.allows(StatusCode::UNAUTHORIZED));
        assert!(!advice.allows(StatusCode::NOT_FOUND));
    }

    #[test]
    fn retry_after_is_read_as_delta_seconds() {
        let mut headers = HeaderMap::new();
        headers.insert("Retry-After", HeaderValue::from_static("7"));
        assert_eq!(
            RetryAdvice::from_headers(&headers).retry_after,
            Some(Duration::from_secs(7))
        );

        headers.insert(
            "Retry-After",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(RetryAdvice::from_headers(&headers).retry_after, None);
    }

    #[test]
    fn connect_and_plain_error_bodies_are_both_understood() {
        let connect = ErrorAnswer::parse(br#"{"code":"not_found","message":"no such file"}"#);
        let plain = ErrorAnswer::parse(br#"{"code":404,"message":"sandbox not found"}"#);
        let text = ErrorAnswer::parse(b"upstream connect error\n");

        assert_eq!(connect.connect_code.as_deref(), Some("not_found"));
        assert_eq!(connect.message, "no such file");
        assert_eq!(plain.connect_code, None);
        assert_eq!(plain.message, "sandbox not found");
        assert_eq!(text.message, "upstream connect error");
    }

    #[test]
    fn only_the_proxys_502_not_found_means_gone() {
        assert!(is_proxy_gone(
            Plane::Envd,
            StatusCode::BAD_GATEWAY,
            "The sandbox was not found"
        ));
        assert!(!is_proxy_gone(
            Plane::Control,
            StatusCode::BAD_GATEWAY,
            "The sandbox was not found"
        ));
        assert!(!is_proxy_gone(
            Plane::Envd,
            StatusCode::BAD_GATEWAY,
            "The sandbox is running but port is not open"
        ));
    }

    #[test]
    fn statuses_map_to_what_a_caller_should_do() {
        assert_eq!(
            kind_of_status(StatusCode::NOT_FOUND),
            SandboxErrorKind::NotFound
        );
        assert_eq!(
            kind_of_status(StatusCode::UNAUTHORIZED),
            SandboxErrorKind::Refused
        );
        assert_eq!(
            kind_of_status(StatusCode::FORBIDDEN),
            SandboxErrorKind::Refused
        );
        assert_eq!(
            kind_of_status(StatusCode::BAD_REQUEST),
            SandboxErrorKind::Refused
        );
        assert_eq!(
            kind_of_status(StatusCode::UNPROCESSABLE_ENTITY),
            SandboxErrorKind::Refused
        );
        assert_eq!(
            kind_of_status(StatusCode::TOO_MANY_REQUESTS),
            SandboxErrorKind::Transient
        );
        assert_eq!(
            kind_of_status(StatusCode::SERVICE_UNAVAILABLE),
            SandboxErrorKind::Transient
        );
    }

    #[test]
    fn secrets_echoed_by_a_server_are_scrubbed_from_messages() {
        let key = SecretString::from("e2b_supersecret");

        let text = scrub("bad key e2b_supersecret given".to_owned(), &[&key]);

        assert_eq!(text, "bad key [redacted] given");
    }

    #[test]
    fn long_error_bodies_are_shortened() {
        let long = "x".repeat(5000);

        assert_eq!(shorten(&long).len(), MAX_ERROR_MESSAGE);
    }
}
