//! The JSON bodies the fake answers with, shaped as the official
//! description says (`openapi-subset.json`: `simple-user`,
//! `full-repository`, `pull-request`, `pull-request-simple`,
//! `installation-token`, `basic-error`, `validation-error`), with every
//! field each schema requires. octocrab parses some of them strictly (a
//! present `user` must be a whole `simple-user` with URL fields that parse,
//! NOTES §2), so the fake is tested through the real client.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::state::{Pull, Repo};

/// Where links in bodies point: the API, GitHub's web pages (the same fake
/// server) and git.
pub struct Hosts<'a> {
    pub api: &'a str,
    pub git: &'a str,
}

/// Who a user is, for `simple-user`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub login: String,
    pub id: u64,
    /// `User`, `Organization` or `Bot`.
    pub kind: &'static str,
}

pub fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `simple-user`.
pub fn user(hosts: &Hosts<'_>, account: &Account) -> Value {
    let api = format!("{}/users/{}", hosts.api, account.login);
    json!({
        "login": account.login,
        "id": account.id,
        "node_id": node_id("U", account.id),
        "avatar_url": format!("{}/avatars/{}", hosts.api, account.login),
        "gravatar_id": "",
        "url": api,
        "html_url": format!("{}/{}", hosts.api, account.login),
        "followers_url": format!("{api}/followers"),
        "following_url": format!("{api}/following{{/other_user}}"),
        "gists_url": format!("{api}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/subscriptions"),
        "organizations_url": format!("{api}/orgs"),
        "repos_url": format!("{api}/repos"),
        "events_url": format!("{api}/events{{/privacy}}"),
        "received_events_url": format!("{api}/received_events"),
        "type": account.kind,
        "site_admin": false,
        "user_view_type": "public",
    })
}

/// `private-user`, for `GET /user` with a user's token.
pub fn private_user(hosts: &Hosts<'_>, account: &Account, created_at: DateTime<Utc>) -> Value {
    let mut body = user(hosts, account);
    let extra = json!({
        "name": account.login,
        "company": null,
        "blog": "",
        "location": null,
        "email": null,
        "hireable": null,
        "bio": null,
        "twitter_username": null,
        "public_repos": 0,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": time(created_at),
        "updated_at": time(created_at),
        "private_gists": 0,
        "total_private_repos": 0,
        "owned_private_repos": 0,
        "disk_usage": 0,
        "collaborators": 0,
        "two_factor_authentication": true,
        "user_view_type": "private",
    });
    merge(&mut body, extra);
    body
}

/// The templated API links of a repository, after its API URL.
const REPO_API_URLS: &[(&str, &str)] = &[
    ("archive_url", "/{archive_format}{/ref}"),
    ("assignees_url", "/assignees{/user}"),
    ("blobs_url", "/git/blobs{/sha}"),
    ("branches_url", "/branches{/branch}"),
    ("collaborators_url", "/collaborators{/collaborator}"),
    ("comments_url", "/comments{/number}"),
    ("commits_url", "/commits{/sha}"),
    ("compare_url", "/compare/{base}...{head}"),
    ("contents_url", "/contents/{+path}"),
    ("contributors_url", "/contributors"),
    ("deployments_url", "/deployments"),
    ("downloads_url", "/downloads"),
    ("events_url", "/events"),
    ("forks_url", "/forks"),
    ("git_commits_url", "/git/commits{/sha}"),
    ("git_refs_url", "/git/refs{/sha}"),
    ("git_tags_url", "/git/tags{/sha}"),
    ("hooks_url", "/hooks"),
    ("issue_comment_url", "/issues/comments{/number}"),
    ("issue_events_url", "/issues/events{/number}"),
    ("issues_url", "/issues{/number}"),
    ("keys_url", "/keys{/key_id}"),
    ("labels_url", "/labels{/name}"),
    ("languages_url", "/languages"),
    ("merges_url", "/merges"),
    ("milestones_url", "/milestones{/number}"),
    (
        "notifications_url",
        "/notifications{?since,all,participating}",
    ),
    ("pulls_url", "/pulls{/number}"),
    ("releases_url", "/releases{/id}"),
    ("stargazers_url", "/stargazers"),
    ("statuses_url", "/statuses/{sha}"),
    ("subscribers_url", "/subscribers"),
    ("subscription_url", "/subscription"),
    ("tags_url", "/tags"),
    ("teams_url", "/teams"),
    ("trees_url", "/git/trees{/sha}"),
];

/// `full-repository` (a superset of `repository`, which pull requests
/// embed).
pub fn repository(hosts: &Hosts<'_>, repo: &Repo, owner: &Account) -> Value {
    let full_name = format!("{}/{}", repo.owner, repo.name);
    let api = format!("{}/repos/{full_name}", hosts.api);
    let html = format!("{}/{full_name}", hosts.api);
    let git_host = hosts
        .git
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    let mut body = json!({
        "id": repo.id,
        "node_id": node_id("R", repo.id),
        "name": repo.name,
        "full_name": full_name,
        "owner": user(hosts, owner),
        "private": repo.private,
        "visibility": if repo.private { "private" } else { "public" },
        "html_url": html,
        "description": null,
        "fork": false,
        "url": api,
    });
    for (field, suffix) in REPO_API_URLS {
        body[*field] = Value::String(format!("{api}{suffix}"));
    }
    let rest = json!({
        "clone_url": format!("{}/{full_name}.git", hosts.git),
        "git_url": format!("git://{git_host}/{full_name}.git"),
        "ssh_url": format!("git@{git_host}:{full_name}.git"),
        "svn_url": html,
        "mirror_url": null,
        "homepage": null,
        "language": null,
        "forks": 0,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers": 0,
        "watchers_count": 0,
        "size": 0,
        "default_branch": repo.default_branch,
        "open_issues": repo.open_pull_count(),
        "open_issues_count": repo.open_pull_count(),
        "is_template": false,
        "topics": [],
        "has_issues": true,
        "has_projects": true,
        "has_wiki": true,
        "has_pages": false,
        "has_downloads": true,
        "has_discussions": false,
        "archived": false,
        "disabled": false,
        "pushed_at": time(repo.created_at),
        "created_at": time(repo.created_at),
        "updated_at": time(repo.created_at),
        "permissions": {
            "admin": false, "maintain": false, "push": true, "triage": true, "pull": true,
        },
        "allow_forking": true,
        "web_commit_signoff_required": false,
        "license": null,
        "network_count": 0,
        "subscribers_count": 0,
    });
    merge(&mut body, rest);
    body
}

/// `pull-request`, or `pull-request-simple` (what lists carry) when
/// `full` is false.
pub fn pull(
    hosts: &Hosts<'_>,
    repo: &Repo,
    owner: &Account,
    author: &Account,
    pull: &Pull,
    full: bool,
) -> Value {
    let full_name = format!("{}/{}", repo.owner, repo.name);
    let api = format!("{}/repos/{full_name}", hosts.api);
    let html = format!("{}/{full_name}/pull/{}", hosts.api, pull.number);
    let url = format!("{api}/pulls/{}", pull.number);
    let issue = format!("{api}/issues/{}", pull.number);
    let statuses = format!("{api}/statuses/{}", pull.head_sha);
    let repository = repository(hosts, repo, owner);
    let branch = |name: &str, sha: &str| {
        json!({
            "label": format!("{}:{name}", repo.owner),
            "ref": name,
            "sha": sha,
            "user": user(hosts, owner),
            "repo": repository,
        })
    };
    let link = |href: &str| json!({ "href": href });

    let mut body = json!({
        "url": url,
        "id": pull.id,
        "node_id": node_id("PR", pull.id),
        "html_url": html,
        "diff_url": format!("{html}.diff"),
        "patch_url": format!("{html}.patch"),
        "issue_url": issue,
        "commits_url": format!("{url}/commits"),
        "review_comments_url": format!("{url}/comments"),
        "review_comment_url": format!("{api}/pulls/comments{{/number}}"),
        "comments_url": format!("{issue}/comments"),
        "statuses_url": statuses,
        "number": pull.number,
        "state": if pull.open { "open" } else { "closed" },
        "locked": false,
        "title": pull.title,
        "user": user(hosts, author),
        "body": pull.body,
        "labels": [],
        "milestone": null,
        "active_lock_reason": null,
        "created_at": time(pull.created_at),
        "updated_at": time(pull.updated_at),
        "closed_at": pull.closed_at.map(time),
        "merged_at": null,
        "merge_commit_sha": null,
        "assignee": null,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": branch(&pull.head, &pull.head_sha),
        "base": branch(&pull.base, &pull.base_sha),
        "_links": {
            "self": link(&url),
            "html": link(&html),
            "issue": link(&issue),
            "comments": link(&format!("{issue}/comments")),
            "review_comments": link(&format!("{url}/comments")),
            "review_comment": link(&format!("{api}/pulls/comments{{/number}}")),
            "commits": link(&format!("{url}/commits")),
            "statuses": link(&statuses),
        },
        "author_association": if author.login.eq_ignore_ascii_case(&repo.owner) { "OWNER" } else { "CONTRIBUTOR" },
        "auto_merge": null,
        "draft": pull.draft,
    });
    if full {
        merge(
            &mut body,
            json!({
                "merged": false,
                "mergeable": null,
                "rebaseable": null,
                "mergeable_state": "unknown",
                "merged_by": null,
                "comments": 0,
                "review_comments": 0,
                "maintainer_can_modify": pull.maintainer_can_modify,
                "commits": 1,
                "additions": 0,
                "deletions": 0,
                "changed_files": 0,
            }),
        );
    }
    body
}

/// `installation-token`.
pub fn installation_token(token: &str, expires_at: DateTime<Utc>) -> Value {
    json!({
        "token": token,
        "expires_at": time(expires_at),
        "permissions": { "contents": "write", "pull_requests": "write", "metadata": "read" },
        "repository_selection": "all",
    })
}

/// `basic-error`, with the status as a string as GitHub sends it.
pub fn basic_error(status: u16, message: &str, documentation_url: &str) -> Value {
    json!({
        "message": message,
        "documentation_url": documentation_url,
        "status": status.to_string(),
    })
}

/// `validation-error`: GitHub's 422.
pub fn validation_error(errors: Value, documentation_url: &str) -> Value {
    json!({
        "message": "Validation Failed",
        "errors": errors,
        "documentation_url": documentation_url,
        "status": "422",
    })
}

fn node_id(kind: &str, id: u64) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{kind}_{id}"))
}

pub(super) fn merge(into: &mut Value, extra: Value) {
    if let (Some(into), Value::Object(extra)) = (into.as_object_mut(), extra) {
        into.extend(extra);
    }
}
