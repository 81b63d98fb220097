//! Webhook deliveries as GitHub sends them to a GitHub App: payloads with
//! every field `webhook-push` and `webhook-pull-request-closed` require
//! (`openapi-subset.json`), `issues` and `issue_comment` payloads as
//! GitHub's "Webhook events and payloads" documents them, and the
//! `X-Hub-Signature-256` GitHub computes over the raw body.

use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::shapes::{self, Account, Hosts};
use super::state::{Pull, Repo};

/// github.com's own hosts, as real payloads link to them.
const HOSTS: Hosts<'static> = Hosts {
    api: "https://api.github.com",
    git: "https://github.com",
};

/// `X-Hub-Signature-256` for `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A repository that events happen in, delivered through the App
/// installation `installation`.
#[derive(Debug, Clone)]
pub struct EventSource {
    pub owner: String,
    pub name: String,
    pub default_branch: String,
    /// `None` for a repository webhook, whose payloads name no installation.
    pub installation: Option<i64>,
    /// Who causes the events.
    pub sender: String,
}

impl EventSource {
    pub fn new(owner: &str, name: &str, installation: Option<i64>) -> Self {
        Self {
            owner: owner.to_owned(),
            name: name.to_owned(),
            default_branch: "main".to_owned(),
            installation,
            sender: "mona".to_owned(),
        }
    }

    /// `push` of one commit to `git_ref` (`refs/heads/main`).
    pub fn push(&self, git_ref: &str) -> Value {
        let full_name = self.full_name();
        let before = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
        let after = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c";
        let commit = json!({
            "id": after,
            "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433",
            "distinct": true,
            "message": "Update the checkout page",
            "timestamp": "2026-12-04T09:00:00+01:00",
            "url": format!("https://github.com/{full_name}/commit/{after}"),
            "author": {"name": "Mona", "email": "mona@example.com", "username": self.sender},
            "committer": {"name": "Mona", "email": "mona@example.com", "username": self.sender},
            "added": [],
            "removed": [],
            "modified": ["src/checkout.ts"],
        });

        // Push payloads give the repository's times as epoch seconds and
        // its owner a `name`, unlike the other events.
        let mut repository = self.repository();
        let epoch = self.created_at().timestamp();
        repository["created_at"] = json!(epoch);
        repository["pushed_at"] = json!(epoch + 60);
        repository["owner"]["name"] = json!(self.owner);
        repository["stargazers"] = json!(0);
        repository["master_branch"] = json!(self.default_branch);

        let mut payload = json!({
            "ref": git_ref,
            "before": before,
            "after": after,
            "created": false,
            "deleted": false,
            "forced": false,
            "base_ref": null,
            "compare": format!("https://github.com/{full_name}/compare/{}...{}", &before[..12], &after[..12]),
            "commits": [commit.clone()],
            "head_commit": commit,
            "repository": repository,
            "pusher": {"name": self.sender, "email": "mona@example.com"},
            "sender": self.sender(),
        });
        self.add_installation(&mut payload);
        payload
    }

    /// `pull_request` `closed`, merged or not.
    pub fn pull_request_closed(&self, number: u64, head: &str, merged: bool) -> Value {
        let closed_at = "2026-12-04T10:00:00Z";
        let mut pull = self.pull(number, head, false);
        shapes::merge(
            &mut pull,
            json!({
                "state": "closed",
                "closed_at": closed_at,
                "merged": merged,
                "merged_at": if merged { json!(closed_at) } else { Value::Null },
                "merge_commit_sha": if merged { json!("e5bd3914e2e596debea16f433f57875b5b90bcd6") } else { Value::Null },
                "merged_by": if merged { self.sender() } else { Value::Null },
            }),
        );
        self.pull_request_event("closed", number, pull)
    }

    /// `pull_request` `labeled`.
    pub fn pull_request_labeled(&self, number: u64, head: &str, label: &str) -> Value {
        let mut pull = self.pull(number, head, true);
        pull["labels"] = json!([self.label(label)]);
        let mut payload = self.pull_request_event("labeled", number, pull);
        payload["label"] = self.label(label);
        payload
    }

    /// `pull_request` `opened`, which Hero does not act on.
    pub fn pull_request_opened(&self, number: u64, head: &str) -> Value {
        let pull = self.pull(number, head, true);
        self.pull_request_event("opened", number, pull)
    }

    /// `issues` `labeled`.
    pub fn issue_labeled(&self, number: u64, label: &str) -> Value {
        let mut issue = self.issue(number, false);
        issue["labels"] = json!([self.label(label)]);
        let mut payload = json!({
            "action": "labeled",
            "issue": issue,
            "label": self.label(label),
            "repository": self.repository(),
            "sender": self.sender(),
        });
        self.add_installation(&mut payload);
        payload
    }

    /// `issue_comment` `created` by the sender, whose relation to the
    /// repository is `association` (`OWNER`, `MEMBER`, `NONE`, ...).
    pub fn comment_created(
        &self,
        number: u64,
        on_pull_request: bool,
        body: &str,
        association: &str,
    ) -> Value {
        let full_name = self.full_name();
        let id = 1_000_000 + number;
        let mut payload = json!({
            "action": "created",
            "issue": self.issue(number, on_pull_request),
            "comment": {
                "url": format!("https://api.github.com/repos/{full_name}/issues/comments/{id}"),
                "html_url": format!("https://github.com/{full_name}/issues/{number}#issuecomment-{id}"),
                "issue_url": format!("https://api.github.com/repos/{full_name}/issues/{number}"),
                "id": id,
                "node_id": "IC_kwDOHero",
                "user": self.sender(),
                "created_at": "2026-12-04T10:00:00Z",
                "updated_at": "2026-12-04T10:00:00Z",
                "author_association": association,
                "body": body,
                "reactions": {"url": "", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0, "confused": 0, "heart": 0, "rocket": 0, "eyes": 0},
                "performed_via_github_app": null,
            },
            "repository": self.repository(),
            "sender": self.sender(),
        });
        self.add_installation(&mut payload);
        payload
    }

    fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    fn created_at(&self) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
            .single()
            .expect("a valid date")
    }

    fn owner_account(&self) -> Account {
        Account {
            login: self.owner.clone(),
            id: 9_000,
            kind: "Organization",
        }
    }

    fn sender(&self) -> Value {
        let account = Account {
            login: self.sender.clone(),
            id: 583_231,
            kind: "User",
        };
        shapes::user(&HOSTS, &account)
    }

    fn repo(&self) -> Repo {
        Repo {
            id: 1_296_269,
            owner: self.owner.clone(),
            name: self.name.clone(),
            private: false,
            default_branch: self.default_branch.clone(),
            created_at: self.created_at(),
            pulls: Vec::new(),
        }
    }

    /// `repository-webhooks`.
    fn repository(&self) -> Value {
        shapes::repository(&HOSTS, &self.repo(), &self.owner_account())
    }

    fn pull(&self, number: u64, head: &str, open: bool) -> Value {
        let pull = Pull {
            id: 10_000 + number,
            number,
            title: format!("Change {number}"),
            body: Some("Opened by Hero".to_owned()),
            head: head.to_owned(),
            base: self.default_branch.clone(),
            head_sha: "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c".to_owned(),
            base_sha: "6113728f27ae82c7b1a177c8d03f9e96e0adf246".to_owned(),
            draft: false,
            maintainer_can_modify: false,
            open,
            author: "hero-app[bot]".to_owned(),
            created_at: self.created_at(),
            updated_at: self.created_at(),
            closed_at: None,
        };
        let author = Account {
            login: pull.author.clone(),
            id: 4_242,
            kind: "Bot",
        };
        shapes::pull(
            &HOSTS,
            &self.repo(),
            &self.owner_account(),
            &author,
            &pull,
            true,
        )
    }

    fn pull_request_event(&self, action: &str, number: u64, pull: Value) -> Value {
        let mut payload = json!({
            "action": action,
            "number": number,
            "pull_request": pull,
            "repository": self.repository(),
            "sender": self.sender(),
        });
        self.add_installation(&mut payload);
        payload
    }

    fn issue(&self, number: u64, on_pull_request: bool) -> Value {
        let full_name = self.full_name();
        let api = format!("https://api.github.com/repos/{full_name}/issues/{number}");
        let mut issue = json!({
            "url": api,
            "repository_url": format!("https://api.github.com/repos/{full_name}"),
            "labels_url": format!("{api}/labels{{/name}}"),
            "comments_url": format!("{api}/comments"),
            "events_url": format!("{api}/events"),
            "html_url": format!("https://github.com/{full_name}/issues/{number}"),
            "id": 20_000 + number,
            "node_id": "I_kwDOHero",
            "number": number,
            "title": format!("Issue {number}"),
            "user": self.sender(),
            "labels": [],
            "state": "open",
            "locked": false,
            "assignee": null,
            "assignees": [],
            "milestone": null,
            "comments": 0,
            "created_at": "2026-12-04T09:00:00Z",
            "updated_at": "2026-12-04T09:00:00Z",
            "closed_at": null,
            "author_association": "MEMBER",
            "active_lock_reason": null,
            "body": "Something to do",
            "reactions": {"url": format!("{api}/reactions"), "total_count": 0},
            "timeline_url": format!("{api}/timeline"),
            "performed_via_github_app": null,
            "state_reason": null,
        });
        if on_pull_request {
            let html = format!("https://github.com/{full_name}/pull/{number}");
            issue["pull_request"] = json!({
                "url": format!("https://api.github.com/repos/{full_name}/pulls/{number}"),
                "html_url": html,
                "diff_url": format!("{html}.diff"),
                "patch_url": format!("{html}.patch"),
                "merged_at": null,
            });
        }
        issue
    }

    fn label(&self, name: &str) -> Value {
        json!({
            "id": 208_045_946,
            "node_id": "MDU6TGFiZWwyMDgwNDU5NDY=",
            "url": format!("https://api.github.com/repos/{}/labels/{name}", self.full_name()),
            "name": name,
            "description": null,
            "color": "f29513",
            "default": false,
        })
    }

    fn add_installation(&self, payload: &mut Value) {
        if let Some(id) = self.installation {
            payload["installation"] =
                json!({"id": id, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="});
        }
    }
}
