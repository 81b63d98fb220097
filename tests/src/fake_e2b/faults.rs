//! Switches that make the fake misbehave the ways E2B does: rate limits,
//! server errors, command streams that break or go silent, an envd that
//! does not enforce a command's timeout, and tokens that do not match.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::state::State as FakeState;

/// Which requests a rejection applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Any,
    ControlPlane,
    Envd,
}

/// How to answer a rejected request.
#[derive(Debug, Clone)]
pub struct Rejection {
    pub status: StatusCode,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<u64>,
    /// `Should-Retry`, which the SDK obeys over the status (NOTES §1).
    pub should_retry: Option<bool>,
    pub scope: Scope,
    /// The request is carried out and only its answer is lost, as when a
    /// gateway times out on a create that went through.
    pub after_handling: bool,
}

impl Rejection {
    /// E2B's rate limit.
    pub fn too_many_requests(retry_after: Option<u64>) -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after,
            should_retry: None,
            scope: Scope::Any,
            after_handling: false,
        }
    }

    pub fn server_error(status: StatusCode) -> Self {
        Self {
            status,
            retry_after: None,
            should_retry: None,
            scope: Scope::Any,
            after_handling: false,
        }
    }

    pub fn should_retry(mut self, verdict: bool) -> Self {
        self.should_retry = Some(verdict);
        self
    }

    pub fn after_handling(mut self) -> Self {
        self.after_handling = true;
        self
    }

    pub fn only(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }
}

#[derive(Default)]
struct Switches {
    rejection: Option<(usize, Rejection)>,
    rejected: usize,
    cut_after_events: Option<usize>,
    stall: bool,
    ignore_timeout: bool,
    wrong_tokens: bool,
}

/// The fake's fault switches. Clones share them.
#[derive(Clone, Default)]
pub struct Faults(Arc<Mutex<Switches>>);

/// What the next command stream should do, taken once per stream.
#[derive(Debug, Default, Clone, Copy)]
pub struct StreamFaults {
    pub cut_after_events: Option<usize>,
    pub stall: bool,
    pub ignore_timeout: bool,
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, Switches> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Answers the next `count` requests in the rejection's scope with it;
    /// a count of 0 withdraws any pending rejection.
    pub fn reject_next(&self, count: usize, rejection: Rejection) {
        self.lock().rejection = (count > 0).then_some((count, rejection));
    }

    /// How many requests have been answered by a rejection so far.
    pub fn rejected(&self) -> usize {
        self.lock().rejected
    }

    /// The next command stream is cut, without its end event, after this
    /// many events (the start event counts).
    pub fn cut_next_stream(&self, after_events: usize) {
        self.lock().cut_after_events = Some(after_events);
    }

    /// The next command stream sends its start event and then nothing, not
    /// even keepalives, while the command runs on.
    pub fn stall_next_stream(&self) {
        self.lock().stall = true;
    }

    /// The next command runs on past its `Connect-Timeout-Ms`.
    pub fn ignore_next_command_timeout(&self) {
        self.lock().ignore_timeout = true;
    }

    /// The control plane hands out envd tokens that envd will refuse.
    pub fn hand_out_wrong_tokens(&self, wrong: bool) {
        self.lock().wrong_tokens = wrong;
    }

    pub fn wrong_tokens(&self) -> bool {
        self.lock().wrong_tokens
    }

    pub fn take_stream_faults(&self) -> StreamFaults {
        let mut switches = self.lock();
        StreamFaults {
            cut_after_events: switches.cut_after_events.take(),
            stall: std::mem::take(&mut switches.stall),
            ignore_timeout: std::mem::take(&mut switches.ignore_timeout),
        }
    }

    fn take_rejection(&self, envd: bool) -> Option<Rejection> {
        let mut switches = self.lock();
        let (remaining, rejection) = switches.rejection.as_mut()?;
        let applies = match rejection.scope {
            Scope::Any => true,
            Scope::ControlPlane => !envd,
            Scope::Envd => envd,
        };
        if !applies {
            return None;
        }
        let rejection = rejection.clone();
        *remaining = remaining.saturating_sub(1);
        if *remaining == 0 {
            switches.rejection = None;
        }
        switches.rejected += 1;
        Some(rejection)
    }
}

/// Middleware: answers a request with the pending rejection, if any.
pub async fn reject_when_asked(
    State(state): State<Arc<FakeState>>,
    request: Request,
    next: Next,
) -> Response {
    let envd = request.headers().contains_key("e2b-sandbox-id");
    let Some(rejection) = state.faults.take_rejection(envd) else {
        return next.run(request).await;
    };
    if rejection.after_handling {
        next.run(request).await;
    }

    let message = if rejection.status == StatusCode::TOO_MANY_REQUESTS {
        "Rate limit exceeded, please try again later."
    } else {
        "Service temporarily unavailable"
    };
    let body = json!({ "code": rejection.status.as_u16(), "message": message });
    let mut response = (rejection.status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    if let Some(seconds) = rejection.retry_after {
        headers.insert("Retry-After", HeaderValue::from(seconds));
    }
    if let Some(verdict) = rejection.should_retry {
        headers.insert(
            "Should-Retry",
            HeaderValue::from_static(if verdict { "true" } else { "false" }),
        );
    }
    response
}
