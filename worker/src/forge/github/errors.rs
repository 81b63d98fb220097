//! GitHub's answers sorted into [`ForgeErrorKind`]s, with the wait GitHub
//! asked for when it limits Hero's rate.
//!
//! Rate limits (NOTES §1, "Rate limits and back-off"): a 429, or a 403
//! carrying `retry-after`, `x-ratelimit-remaining: 0` or a message about a
//! rate limit. The wait is `retry-after` when present, else the time until
//! `x-ratelimit-reset` when no requests remain; GitHub asks for at least a
//! minute after a secondary limit that names no time.

use std::time::Duration;

use chrono::{DateTime, Utc};
use octocrab::GitHubError;
use reqwest::header::HeaderMap;

use crate::forge::{ForgeError, ForgeErrorKind};

/// How long to stay away after a secondary rate limit that names no time.
const SECONDARY_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// The message GitHub puts in the 422 it answers a second pull request from
/// the same head with (NOTES §1: `errors[].code == "custom"`, no dedicated
/// code).
const ALREADY_EXISTS: &str = "A pull request already exists";

/// Error texts from GitHub are short; a longer one (an HTML error page) is
/// cut before it goes in a message.
const MAX_MESSAGE: usize = 300;

/// A failed call: the error to report, and whether GitHub refused the
/// credentials themselves (a 401), which for an installation token means
/// it was revoked and another should be minted. A 403 is no such sign: the
/// token is fine but lacks a permission.
#[derive(Debug)]
pub(super) struct Failure {
    pub error: ForgeError,
    pub bad_credentials: bool,
}

impl From<ForgeError> for Failure {
    fn from(error: ForgeError) -> Self {
        Self {
            error,
            bad_credentials: false,
        }
    }
}

/// Like [`from_octocrab`], keeping whether the answer was a 401.
pub(super) fn call_failed(what: &str, error: octocrab::Error) -> Failure {
    let bad_credentials = matches!(
        &error,
        octocrab::Error::GitHub { source, .. } if source.status_code.as_u16() == 401
    );
    Failure {
        error: from_octocrab(what, error),
        bad_credentials,
    }
}

/// Turns an octocrab failure of `what` (for example "reading the
/// repository") into a forge error.
pub(super) fn from_octocrab(what: &str, error: octocrab::Error) -> ForgeError {
    match error {
        octocrab::Error::GitHub { source, .. } => from_answer(what, &source),
        octocrab::Error::Hyper { source, .. } => transport(what, &source),
        octocrab::Error::Service { source, .. } => transport(what, &*source),
        octocrab::Error::Http { source, .. } => transport(what, &source),
        octocrab::Error::Serde { source, .. } => unexpected_answer(what, &source),
        octocrab::Error::Json { source, .. } => unexpected_answer(what, &source),
        octocrab::Error::JWT { .. } => ForgeError::new(
            ForgeErrorKind::Unauthorized,
            format!("{what}: signing the GitHub App's token request failed"),
        ),
        other => ForgeError::new(
            ForgeErrorKind::Invalid,
            format!("{what}: {}", first_line(&other.to_string())),
        ),
    }
}

/// Whether the failure is GitHub's 422 for a second pull request from the
/// same head into the same base.
pub(super) fn is_already_exists(error: &octocrab::Error) -> bool {
    let octocrab::Error::GitHub { source, .. } = error else {
        return false;
    };
    source.status_code.as_u16() == 422
        && source.errors.iter().flatten().any(|item| {
            item.get("message")
                .and_then(serde_json::Value::as_str)
                .is_some_and(|message| message.starts_with(ALREADY_EXISTS))
        })
}

pub(super) fn timed_out(what: &str, limit: Duration) -> ForgeError {
    ForgeError::new(
        ForgeErrorKind::Transient,
        format!("{what}: GitHub did not answer within {limit:?}"),
    )
}

fn from_answer(what: &str, answer: &GitHubError) -> ForgeError {
    let status = answer.status_code.as_u16();
    let headers = answer.headers.as_ref();
    let message = format!(
        "{what}: GitHub answered {status}: {}",
        shorten(&answer.message)
    );

    let rate_limited = status == 429
        || (status == 403
            && (headers.is_some_and(|h| h.contains_key("retry-after") || no_requests_left(h))
                || answer.message.to_ascii_lowercase().contains("rate limit")));
    if rate_limited {
        let wait = headers.and_then(|h| server_wait(h, Utc::now()));
        let wait = match wait {
            None if status == 403 => Some(SECONDARY_LIMIT_WAIT),
            wait => wait,
        };
        return ForgeError {
            kind: ForgeErrorKind::Transient,
            message,
            retry_after: wait,
        };
    }

    let kind = match status {
        401 | 403 => ForgeErrorKind::Unauthorized,
        404 | 410 => ForgeErrorKind::NotFound,
        500..=599 => ForgeErrorKind::Transient,
        _ => ForgeErrorKind::Invalid,
    };
    let message = match validation_details(answer) {
        Some(details) => format!("{message} ({details})"),
        None => message,
    };
    ForgeError {
        kind,
        message,
        retry_after: headers
            .filter(|_| kind == ForgeErrorKind::Transient)
            .and_then(|h| server_wait(h, Utc::now())),
    }
}

/// How long GitHub asked Hero to wait: `retry-after` first (seconds, or an
/// HTTP date), then the reset time when no requests remain.
pub(super) fn server_wait(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let text = |name: &str| headers.get(name)?.to_str().ok().map(str::trim);

    if let Some(value) = text("retry-after") {
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        if let Ok(date) = DateTime::parse_from_rfc2822(value) {
            return Some(until(date.with_timezone(&Utc), now));
        }
    }
    if no_requests_left(headers) {
        let reset = text("x-ratelimit-reset")?.parse::<i64>().ok()?;
        let reset = DateTime::from_timestamp(reset, 0)?;
        // The reset is whole seconds; a second more avoids arriving just
        // before it.
        return Some(until(reset, now) + Duration::from_secs(1));
    }
    None
}

fn no_requests_left(headers: &HeaderMap) -> bool {
    headers
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "0")
}

fn until(at: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (at - now).to_std().unwrap_or(Duration::ZERO)
}

/// What a 422's `errors` list says, e.g. `head invalid` or GitHub's own
/// sentence.
fn validation_details(answer: &GitHubError) -> Option<String> {
    let details: Vec<String> = answer
        .errors
        .iter()
        .flatten()
        .filter_map(|item| {
            let text = |key: &str| item.get(key).and_then(serde_json::Value::as_str);
            match (text("message"), text("field"), text("code")) {
                (Some(message), _, _) => Some(shorten(message)),
                (None, Some(field), Some(code)) => Some(format!("{field} {code}")),
                (None, None, Some(code)) => Some(code.to_owned()),
                _ => None,
            }
        })
        .collect();
    (!details.is_empty()).then(|| details.join("; "))
}

fn transport(what: &str, error: &dyn std::error::Error) -> ForgeError {
    ForgeError::new(
        ForgeErrorKind::Transient,
        format!("{what}: the connection to GitHub failed: {}", chain(error)),
    )
}

/// An answer that does not parse is treated as passing: a proxy's error
/// page or a cut body, most often. Retrying a create is safe because every
/// try looks for the pull request first.
fn unexpected_answer(what: &str, error: &dyn std::error::Error) -> ForgeError {
    ForgeError::new(
        ForgeErrorKind::Transient,
        format!(
            "{what}: GitHub's answer could not be read: {}",
            shorten(&error.to_string())
        ),
    )
}

/// An error and its causes on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    shorten(&text)
}

fn first_line(text: &str) -> String {
    shorten(text.lines().next().unwrap_or_default())
}

fn shorten(text: &str) -> String {
    let text = text.trim();
    if text.len() <= MAX_MESSAGE {
        return text.to_owned();
    }
    let mut end = MAX_MESSAGE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn retry_after_in_seconds_comes_first() {
        let now = Utc::now();
        let reset = (now.timestamp() + 100).to_string();

        let wait = server_wait(
            &headers(&[
                ("retry-after", "7"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", &reset),
            ]),
            now,
        );

        assert_eq!(wait, Some(Duration::from_secs(7)));
    }

    #[test]
    fn retry_after_as_a_date_is_the_time_until_it() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);

        let wait = server_wait(
            &headers(&[("retry-after", "Thu, 01 Jan 2026 00:00:30 GMT")]),
            now,
        );

        assert_eq!(wait, Some(Duration::from_secs(30)));
    }

    #[test]
    fn the_reset_time_counts_only_when_no_requests_remain() {
        let now = DateTime::from_timestamp(1_000, 0).unwrap();

        let exhausted = server_wait(
            &headers(&[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "1010"),
            ]),
            now,
        );
        let remaining = server_wait(
            &headers(&[
                ("x-ratelimit-remaining", "12"),
                ("x-ratelimit-reset", "1010"),
            ]),
            now,
        );

        assert_eq!(exhausted, Some(Duration::from_secs(11)));
        assert_eq!(remaining, None);
    }

    #[test]
    fn a_reset_in_the_past_asks_for_a_second_only() {
        let now = DateTime::from_timestamp(1_000, 0).unwrap();

        let wait = server_wait(
            &headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "900")]),
            now,
        );

        assert_eq!(wait, Some(Duration::from_secs(1)));
    }

    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        let long = "é".repeat(400);

        let short = shorten(&long);

        assert!(short.len() <= MAX_MESSAGE + '…'.len_utf8());
        assert!(short.ends_with('…'));
    }
}
