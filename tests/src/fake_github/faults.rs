//! Switches that make the fake misbehave the ways GitHub does: rate limits
//! (primary and secondary, NOTES §1), server errors, and a pull request
//! created whose answer never arrives. The middleware here also records
//! every request and puts GitHub's rate-limit headers on every answer.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use super::error::ApiError;
use super::state::{RecordedRequest, State as FakeState};

/// The operations the fake serves, for aiming faults and reading the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    GetRepository,
    ListPulls,
    CreatePull,
    MintInstallationToken,
    OAuthToken,
    AuthenticatedUser,
    Other,
}

impl Endpoint {
    pub fn of(method: &Method, path: &str) -> Self {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (method.as_str(), segments.as_slice()) {
            ("GET", ["repos", _, _]) => Self::GetRepository,
            ("GET", ["repos", _, _, "pulls"]) => Self::ListPulls,
            ("POST", ["repos", _, _, "pulls"]) => Self::CreatePull,
            ("POST", ["app", "installations", _, "access_tokens"]) => Self::MintInstallationToken,
            ("POST", ["login", "oauth", "access_token"]) => Self::OAuthToken,
            ("GET", ["user"]) => Self::AuthenticatedUser,
            _ => Self::Other,
        }
    }
}

/// How to misbehave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `Retry-After` (seconds) when given.
    TooManyRequests { retry_after: Option<u64> },
    /// GitHub's secondary rate limit: 403 with its message and
    /// `retry-after` when given, else `x-ratelimit-remaining: 0` and a
    /// reset `reset_in` seconds ahead.
    SecondaryRateLimit {
        retry_after: Option<u64>,
        reset_in: u64,
    },
    /// The primary limit used up: 403 with no requests remaining until a
    /// reset `reset_in` seconds ahead.
    PrimaryRateLimit { reset_in: u64 },
    /// A 403 that is no rate limit: the token lacks a permission.
    Forbidden,
    /// A server error with an HTML body, as GitHub's front ends send.
    ServerError(u16),
    /// The request is carried out, then the connection is cut before any
    /// answer arrives.
    LoseResponse,
    /// The request is carried out, then a gateway answers 502.
    BadGatewayAfterHandling,
    /// A list answers empty, as GitHub's list can lag behind a create
    /// another client just made.
    StaleList,
}

#[derive(Debug, Clone)]
struct Rule {
    endpoint: Option<Endpoint>,
    remaining: usize,
    fault: Fault,
}

/// The fake's fault switches. Clones share them.
#[derive(Clone, Default)]
pub struct Faults(Arc<Mutex<Vec<Rule>>>);

impl Faults {
    fn lock(&self) -> MutexGuard<'_, Vec<Rule>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Answers the next `count` requests to `endpoint` with `fault`.
    pub fn on(&self, endpoint: Endpoint, count: usize, fault: Fault) {
        self.push(Some(endpoint), count, fault);
    }

    /// Answers the next `count` requests, whatever they are, with `fault`.
    pub fn on_any(&self, count: usize, fault: Fault) {
        self.push(None, count, fault);
    }

    /// Withdraws every pending fault.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// How many faults are still pending.
    pub fn pending(&self) -> usize {
        self.lock().iter().map(|rule| rule.remaining).sum()
    }

    fn push(&self, endpoint: Option<Endpoint>, count: usize, fault: Fault) {
        if count > 0 {
            self.lock().push(Rule {
                endpoint,
                remaining: count,
                fault,
            });
        }
    }

    fn take(&self, endpoint: Endpoint) -> Option<Fault> {
        let mut rules = self.lock();
        let index = rules
            .iter()
            .position(|rule| rule.endpoint.is_none_or(|e| e == endpoint))?;
        let rule = &mut rules[index];
        let fault = rule.fault.clone();
        rule.remaining -= 1;
        if rule.remaining == 0 {
            rules.remove(index);
        }
        Some(fault)
    }
}

/// Middleware: records the request, applies a pending fault, and adds the
/// rate-limit headers GitHub sends with every API answer.
pub async fn misbehave(
    State(state): State<Arc<FakeState>>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let endpoint = Endpoint::of(&method, &path);

    let response = match state.faults.take(endpoint) {
        None => next.run(request).await,
        Some(fault) => answer_with(fault, request, next).await,
    };
    let mut response = response;
    if endpoint != Endpoint::OAuthToken {
        add_rate_limit_headers(&mut response);
    }

    state.lock().record(RecordedRequest {
        method: method.to_string(),
        path,
        query,
        endpoint,
        status: response.status().as_u16(),
    });
    response
}

async fn answer_with(fault: Fault, request: Request, next: Next) -> Response {
    let reset = |seconds: u64| Utc::now().timestamp() + i64::try_from(seconds).unwrap_or(0);
    match fault {
        Fault::TooManyRequests { retry_after } => {
            let error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "API rate limit exceeded. Please wait before retrying.",
            );
            match retry_after {
                Some(seconds) => error.with_header("retry-after", seconds),
                None => error,
            }
            .into_response()
        }
        Fault::SecondaryRateLimit {
            retry_after,
            reset_in,
        } => {
            let error = ApiError::new(
                StatusCode::FORBIDDEN,
                "You have exceeded a secondary rate limit. Please wait a few minutes before \
                 you try again. If you reach out to GitHub Support for help, please include \
                 the request ID 0000:0000:0000000:0000000:00000000.",
            );
            match retry_after {
                Some(seconds) => error.with_header("retry-after", seconds),
                None => error
                    .with_header("x-ratelimit-remaining", 0)
                    .with_header("x-ratelimit-reset", reset(reset_in)),
            }
            .into_response()
        }
        Fault::PrimaryRateLimit { reset_in } => ApiError::new(
            StatusCode::FORBIDDEN,
            "API rate limit exceeded for installation ID 1.",
        )
        .with_header("x-ratelimit-limit", 5000)
        .with_header("x-ratelimit-remaining", 0)
        .with_header("x-ratelimit-used", 5000)
        .with_header("x-ratelimit-reset", reset(reset_in))
        .into_response(),
        Fault::Forbidden => ApiError::new(
            StatusCode::FORBIDDEN,
            "Resource not accessible by integration",
        )
        .into_response(),
        Fault::ServerError(status) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            [("content-type", "text/html")],
            "<html><body><h1>Whoa there!</h1></body></html>",
        )
            .into_response(),
        Fault::LoseResponse => {
            let handled = next.run(request).await;
            // A body that fails before its first byte makes the server drop
            // the connection: the client sees it cut, with no answer.
            let broken = futures_util::stream::once(async {
                Err::<Bytes, _>(std::io::Error::other("the fake lost this answer"))
            });
            let mut lost = Response::new(Body::from_stream(broken));
            *lost.status_mut() = handled.status();
            lost
        }
        Fault::StaleList => {
            let mut answer = next.run(request).await;
            if answer.status().is_success() {
                let stale = Response::new(Body::from("[]"));
                let headers = std::mem::take(answer.headers_mut());
                answer = stale;
                *answer.headers_mut() = headers;
                answer
                    .headers_mut()
                    .remove(axum::http::header::CONTENT_LENGTH);
                answer.headers_mut().remove(axum::http::header::LINK);
            }
            answer
        }
        Fault::BadGatewayAfterHandling => {
            next.run(request).await;
            (
                StatusCode::BAD_GATEWAY,
                [("content-type", "text/html")],
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
            )
                .into_response()
        }
    }
}

fn add_rate_limit_headers(response: &mut Response) {
    let headers = response.headers_mut();
    let reset = Utc::now().timestamp() + 3600;
    for (name, value) in [
        ("x-ratelimit-limit", 5000),
        ("x-ratelimit-remaining", 4999),
        ("x-ratelimit-used", 1),
        ("x-ratelimit-reset", reset),
    ] {
        if !headers.contains_key(name) {
            headers.insert(name, HeaderValue::from(value));
        }
    }
    if !headers.contains_key("x-ratelimit-resource") {
        headers.insert("x-ratelimit-resource", HeaderValue::from_static("core"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_told_apart_by_method_and_path() {
        assert_eq!(
            Endpoint::of(&Method::GET, "/repos/o/r"),
            Endpoint::GetRepository
        );
        assert_eq!(
            Endpoint::of(&Method::GET, "/repos/o/r/pulls"),
            Endpoint::ListPulls
        );
        assert_eq!(
            Endpoint::of(&Method::POST, "/repos/o/r/pulls"),
            Endpoint::CreatePull
        );
        assert_eq!(
            Endpoint::of(&Method::POST, "/app/installations/7/access_tokens"),
            Endpoint::MintInstallationToken
        );
        assert_eq!(Endpoint::of(&Method::DELETE, "/repos/o/r"), Endpoint::Other);
    }

    #[test]
    fn a_fault_is_spent_after_its_count_and_only_on_its_endpoint() {
        let faults = Faults::default();
        faults.on(Endpoint::CreatePull, 2, Fault::ServerError(500));

        assert_eq!(faults.take(Endpoint::ListPulls), None);
        assert_eq!(
            faults.take(Endpoint::CreatePull),
            Some(Fault::ServerError(500))
        );
        assert_eq!(
            faults.take(Endpoint::CreatePull),
            Some(Fault::ServerError(500))
        );
        assert_eq!(faults.take(Endpoint::CreatePull), None);
    }
}
