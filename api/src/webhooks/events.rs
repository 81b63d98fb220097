//! The events Hero acts on, read from GitHub's payloads: only the fields a
//! trigger needs, so the many others (and new ones) never break parsing.
//!
//! Shapes: `webhook-push` and `webhook-pull-request-closed` in
//! `specs/github/openapi-subset.json`; `issues`, `issue_comment` and the
//! `labeled` actions as GitHub's "Webhook events and payloads" documents
//! them (`issue.number`, `issue.pull_request` present only on pull
//! requests, `label.name`, `comment.body`, `comment.author_association`).

use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};

/// A delivery's event, as far as Hero is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `X-GitHub-Event` header and the payload's `action`:
    /// `push`, `pull_request.closed`, `issues.labeled`, ...
    pub name: String,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    Push(Push),
    PullRequestClosed(PullRequestClosed),
    /// `issues.labeled` or `pull_request.labeled`.
    Labeled(Labeled),
    /// `issue_comment.created`, on an issue or a pull request.
    Commented(Commented),
    /// An event or action Hero does not act on.
    Other,
}

/// Where an event comes from: the repository, the App installation that
/// sent it and who caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub repo_owner: String,
    pub repo_name: String,
    /// Absent when a repository webhook (not the App) sent the event.
    pub installation_id: Option<i64>,
    pub sender: Option<String>,
}

impl Origin {
    /// `owner/name`.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.repo_owner, self.repo_name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    pub origin: Origin,
    /// The full ref: `refs/heads/main`, `refs/tags/v1`.
    pub git_ref: String,
    /// The push deleted the ref.
    pub deleted: bool,
}

impl Push {
    /// The branch pushed to, unless a tag (or another ref) was.
    pub fn branch(&self) -> Option<&str> {
        self.git_ref.strip_prefix("refs/heads/")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestClosed {
    pub origin: Origin,
    pub number: i64,
    pub merged: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labeled {
    pub origin: Origin,
    pub number: u64,
    pub pull_request: bool,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commented {
    pub origin: Origin,
    pub number: u64,
    pub pull_request: bool,
    pub body: String,
    /// The comment on GitHub's web pages.
    pub url: String,
    /// `OWNER`, `MEMBER`, `COLLABORATOR`, `CONTRIBUTOR`, `NONE`, ...
    pub author_association: String,
}

impl EventKind {
    pub fn origin(&self) -> Option<&Origin> {
        match self {
            Self::Push(push) => Some(&push.origin),
            Self::PullRequestClosed(closed) => Some(&closed.origin),
            Self::Labeled(labeled) => Some(&labeled.origin),
            Self::Commented(commented) => Some(&commented.origin),
            Self::Other => None,
        }
    }
}

/// A payload that is not JSON or lacks a field Hero needs; the message
/// names the field by its path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PayloadError(String);

impl Event {
    /// Reads the payload of an `event` (the `X-GitHub-Event` header).
    /// Every payload must be JSON; only the events Hero acts on are read
    /// further.
    pub fn parse(event: &str, body: &[u8]) -> Result<Self, PayloadError> {
        let head: Head = read(body)?;
        let name = match &head.action {
            Some(action) => format!("{event}.{action}"),
            None => event.to_owned(),
        };

        let kind = match (event, head.action.as_deref()) {
            ("push", _) => {
                let raw: RawPush = read(body)?;
                EventKind::Push(Push {
                    origin: raw.about.origin()?,
                    git_ref: raw.git_ref,
                    deleted: raw.deleted,
                })
            }
            ("pull_request", Some("closed")) => {
                let raw: RawPullRequest = read(body)?;
                let number = i64::try_from(raw.number)
                    .map_err(|_| PayloadError(format!("number: {} is too large", raw.number)))?;
                EventKind::PullRequestClosed(PullRequestClosed {
                    origin: raw.about.origin()?,
                    number,
                    // Older payloads lack `merged`; `merged_at` says it too.
                    merged: raw
                        .pull_request
                        .merged
                        .unwrap_or(raw.pull_request.merged_at.is_some()),
                })
            }
            ("pull_request", Some("labeled")) => {
                let raw: RawPullRequest = read(body)?;
                EventKind::Labeled(Labeled {
                    origin: raw.about.origin()?,
                    number: raw.number,
                    pull_request: true,
                    label: label_of(raw.label)?,
                })
            }
            ("issues", Some("labeled")) => {
                let raw: RawIssues = read(body)?;
                EventKind::Labeled(Labeled {
                    origin: raw.about.origin()?,
                    number: raw.issue.number,
                    pull_request: raw.issue.pull_request.is_some(),
                    label: label_of(raw.label)?,
                })
            }
            ("issue_comment", Some("created")) => {
                let raw: RawIssueComment = read(body)?;
                EventKind::Commented(Commented {
                    origin: raw.about.origin()?,
                    number: raw.issue.number,
                    pull_request: raw.issue.pull_request.is_some(),
                    body: raw.comment.body.unwrap_or_default(),
                    url: raw.comment.html_url,
                    author_association: raw.comment.author_association,
                })
            }
            _ => EventKind::Other,
        };
        Ok(Self { name, kind })
    }
}

/// Parses the whole body (so malformed JSON is refused for any event) and
/// names the first field that does not fit.
fn read<T: DeserializeOwned>(body: &[u8]) -> Result<T, PayloadError> {
    let mut json = serde_json::Deserializer::from_slice(body);
    let parsed = serde_path_to_error::deserialize(&mut json).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            PayloadError(format!("the payload is not valid JSON: {inner}"))
        } else if path == "." {
            PayloadError(format!("the payload does not fit the event: {inner}"))
        } else {
            PayloadError(format!("payload field {path}: {inner}"))
        }
    })?;
    json.end()
        .map_err(|inner| PayloadError(format!("the payload is not valid JSON: {inner}")))?;
    Ok(parsed)
}

fn label_of(label: Option<RawLabel>) -> Result<String, PayloadError> {
    label
        .map(|label| label.name)
        .ok_or_else(|| PayloadError("missing field `label` of a labeled event".to_owned()))
}

/// Every event's payload is a JSON object, most with an `action`.
#[derive(Deserialize)]
struct Head {
    action: Option<String>,
}

/// What every payload Hero acts on carries.
#[derive(Deserialize)]
struct About {
    repository: RawRepository,
    installation: Option<RawInstallation>,
    sender: Option<RawAccount>,
}

impl About {
    fn origin(self) -> Result<Origin, PayloadError> {
        let full_name = self.repository.full_name;
        let (owner, name) = full_name
            .split_once('/')
            .filter(|(owner, name)| !owner.is_empty() && !name.is_empty())
            .ok_or_else(|| {
                PayloadError(format!(
                    "payload field repository.full_name: expected owner/name, got {full_name:?}"
                ))
            })?;
        Ok(Origin {
            repo_owner: owner.to_owned(),
            repo_name: name.to_owned(),
            installation_id: self.installation.map(|installation| installation.id),
            sender: self.sender.map(|sender| sender.login),
        })
    }
}

#[derive(Deserialize)]
struct RawRepository {
    full_name: String,
}

#[derive(Deserialize)]
struct RawInstallation {
    id: i64,
}

#[derive(Deserialize)]
struct RawAccount {
    login: String,
}

#[derive(Deserialize)]
struct RawLabel {
    name: String,
}

#[derive(Deserialize)]
struct RawPush {
    #[serde(rename = "ref")]
    git_ref: String,
    #[serde(default)]
    deleted: bool,
    #[serde(flatten)]
    about: About,
}

#[derive(Deserialize)]
struct RawPullRequest {
    number: u64,
    pull_request: RawPullRequestBody,
    label: Option<RawLabel>,
    #[serde(flatten)]
    about: About,
}

#[derive(Deserialize)]
struct RawPullRequestBody {
    merged: Option<bool>,
    merged_at: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct RawIssues {
    issue: RawIssue,
    label: Option<RawLabel>,
    #[serde(flatten)]
    about: About,
}

#[derive(Deserialize)]
struct RawIssue {
    number: u64,
    pull_request: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct RawIssueComment {
    issue: RawIssue,
    comment: RawComment,
    #[serde(flatten)]
    about: About,
}

#[derive(Deserialize)]
struct RawComment {
    body: Option<String>,
    html_url: String,
    author_association: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn about() -> serde_json::Value {
        json!({
            "repository": {"full_name": "Octo-Org/Shop", "name": "Shop"},
            "installation": {"id": 42, "node_id": "MDI"},
            "sender": {"login": "mona", "id": 1},
        })
    }

    fn with_about(mut payload: serde_json::Value) -> Vec<u8> {
        if let (Some(payload), serde_json::Value::Object(about)) =
            (payload.as_object_mut(), about())
        {
            payload.extend(about);
        }
        payload.to_string().into_bytes()
    }

    fn parse(event: &str, body: &[u8]) -> Event {
        Event::parse(event, body).unwrap_or_else(|e| panic!("{event}: {e}"))
    }

    #[test]
    fn a_push_names_its_branch_and_origin() {
        let body = with_about(json!({"ref": "refs/heads/main", "deleted": false}));

        let event = parse("push", &body);

        let EventKind::Push(push) = event.kind else {
            panic!("a push: {event:?}")
        };
        assert_eq!(event.name, "push");
        assert_eq!(push.branch(), Some("main"));
        assert_eq!(push.origin.repository(), "Octo-Org/Shop");
        assert_eq!(push.origin.installation_id, Some(42));
        assert_eq!(push.origin.sender.as_deref(), Some("mona"));
    }

    #[test]
    fn a_tag_push_has_no_branch() {
        let body = with_about(json!({"ref": "refs/tags/v1"}));

        let EventKind::Push(push) = parse("push", &body).kind else {
            panic!("a push")
        };

        assert_eq!(push.branch(), None);
    }

    #[test]
    fn a_closed_pull_request_says_whether_it_was_merged() {
        let merged = with_about(json!({
            "action": "closed", "number": 7,
            "pull_request": {"merged": true, "merged_at": "2026-01-01T00:00:00Z"},
        }));
        let closed = with_about(json!({
            "action": "closed", "number": 8,
            "pull_request": {"merged": false, "merged_at": null},
        }));
        let old_style = with_about(
            json!({"action": "closed", "number": 9, "pull_request": {"merged_at": "x"}}),
        );

        let merged = parse("pull_request", &merged);
        let closed = parse("pull_request", &closed);
        let old_style = parse("pull_request", &old_style);

        assert_eq!(merged.name, "pull_request.closed");
        assert!(matches!(
            merged.kind,
            EventKind::PullRequestClosed(PullRequestClosed {
                number: 7,
                merged: true,
                ..
            })
        ));
        assert!(matches!(
            closed.kind,
            EventKind::PullRequestClosed(PullRequestClosed { merged: false, .. })
        ));
        assert!(matches!(
            old_style.kind,
            EventKind::PullRequestClosed(PullRequestClosed { merged: true, .. })
        ));
    }

    #[test]
    fn labels_on_issues_and_pull_requests_read_alike() {
        let on_issue = with_about(
            json!({"action": "labeled", "issue": {"number": 3}, "label": {"name": "hero"}}),
        );
        let on_pull = with_about(
            json!({"action": "labeled", "number": 4, "pull_request": {}, "label": {"name": "hero"}}),
        );

        let on_issue = parse("issues", &on_issue).kind;
        let on_pull = parse("pull_request", &on_pull).kind;

        assert!(matches!(
            on_issue,
            EventKind::Labeled(Labeled {
                number: 3,
                pull_request: false,
                ..
            })
        ));
        assert!(matches!(
            on_pull,
            EventKind::Labeled(Labeled {
                number: 4,
                pull_request: true,
                ..
            })
        ));
    }

    #[test]
    fn a_comment_on_a_pull_request_is_known_by_its_issue() {
        let body = with_about(json!({
            "action": "created",
            "issue": {"number": 5, "pull_request": {"url": "u"}},
            "comment": {"body": "/hero go", "html_url": "https://github.com/c/1", "author_association": "MEMBER"},
        }));

        let EventKind::Commented(comment) = parse("issue_comment", &body).kind else {
            panic!("a comment")
        };

        assert_eq!(comment.number, 5);
        assert!(comment.pull_request);
        assert_eq!(comment.body, "/hero go");
        assert_eq!(comment.author_association, "MEMBER");
    }

    #[test]
    fn other_events_and_actions_are_read_no_further() {
        let opened = parse("pull_request", br#"{"action": "opened"}"#);
        let ping = parse("ping", br#"{"zen": "Keep it logically awesome."}"#);

        assert_eq!(opened.name, "pull_request.opened");
        assert_eq!(opened.kind, EventKind::Other);
        assert_eq!(ping.name, "ping");
        assert_eq!(ping.kind, EventKind::Other);
    }

    #[test]
    fn malformed_json_is_refused_whatever_the_event() {
        for body in [&b"{\"action\": "[..], b"not json", b"{} trailing", b""] {
            let error = Event::parse("ping", body).expect_err("malformed");

            assert!(error.to_string().contains("not valid JSON"), "{error}");
        }
    }

    #[test]
    fn a_missing_field_is_named_by_its_path() {
        let body = json!({"ref": "refs/heads/main", "repository": {}}).to_string();

        let error = Event::parse("push", body.as_bytes()).expect_err("malformed");

        assert!(error.to_string().contains("full_name"), "{error}");
    }

    #[test]
    fn a_repository_name_without_an_owner_is_refused() {
        let body =
            json!({"ref": "refs/heads/main", "repository": {"full_name": "shop"}}).to_string();

        let error = Event::parse("push", body.as_bytes()).expect_err("malformed");

        assert!(error.to_string().contains("owner/name"), "{error}");
    }
}
