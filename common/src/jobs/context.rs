//! Where a job came from when an event, not a client's request, started
//! it: a summary small enough to show with the job and safe to log. It
//! never holds the event's payload, a comment's text or a secret.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The event behind a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobContext {
    /// `github_webhook`.
    pub source: String,
    /// The event and its action: `push`, `issue_comment.created`,
    /// `issues.labeled`, `pull_request.labeled`.
    pub event: String,
    /// GitHub's `X-GitHub-Delivery`.
    pub delivery_id: String,
    /// `owner/name`.
    pub repository: String,
    /// The issue or pull request the event is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u64>,
    /// Whether `number` is a pull request (GitHub numbers both alike).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<bool>,
    /// The GitHub login that caused the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// The comment that carried the command, on GitHub's web pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_url: Option<String>,
    /// The trigger that matched: the command or the label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
}
