//! The REST operations: `repos/get`, `pulls/list`, `pulls/create` and
//! `users/get-authenticated`, with GitHub's rules for who sees what and
//! GitHub's 422s for pull requests (NOTES §1).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;

use super::error::ApiError;
use super::shapes;
use super::state::{Caller, Pull, State as FakeState, author_login, can_see};
use crate::git_http::{bare_repo_path, branch_commit, git, run};

type Shared = State<Arc<FakeState>>;

pub async fn get_repository(
    State(state): Shared,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let caller = state.caller(&headers)?;
    let mut inner = state.lock();
    let owner_account = inner.owner_account(&owner);
    let repo = inner
        .repos
        .get(&key(&owner, &name))
        .filter(|repo| can_see(&caller, repo))
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(shapes::repository(
        &state.hosts(),
        repo,
        &owner_account,
    )))
}

/// `GET /repos/{owner}/{repo}/pulls`. As on GitHub, a `head` without the
/// `owner:` prefix is silently ignored.
pub async fn list_pulls(
    State(state): Shared,
    Path((owner, name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = state.caller(&headers)?;
    let wanted_state = query.get("state").map_or("open", String::as_str);
    let head = query
        .get("head")
        .and_then(|head| head.split_once(':'))
        .map(|(user, branch)| (user.to_owned(), branch.to_owned()));
    let base = query.get("base");
    let per_page = query
        .get("per_page")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page = query
        .get("page")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);

    let mut inner = state.lock();
    let owner_account = inner.owner_account(&owner);
    let repo_key = key(&owner, &name);
    let authors: Vec<_> = inner
        .repos
        .get(&repo_key)
        .map(|repo| repo.pulls.iter().map(|p| p.author.clone()).collect())
        .unwrap_or_default();
    let authors: HashMap<String, shapes::Account> = authors
        .into_iter()
        .map(|login| {
            let kind = if login.ends_with("[bot]") {
                "Bot"
            } else {
                "User"
            };
            (login.clone(), inner.account(&login, kind))
        })
        .collect();
    let repo = inner
        .repos
        .get(&repo_key)
        .filter(|repo| can_see(&caller, repo))
        .ok_or_else(ApiError::not_found)?;

    // Newest first, GitHub's default order.
    let matching: Vec<&Pull> = repo
        .pulls
        .iter()
        .rev()
        .filter(|pull| match wanted_state {
            "all" => true,
            "closed" => !pull.open,
            _ => pull.open,
        })
        .filter(|pull| {
            head.as_ref().is_none_or(|(user, branch)| {
                user.eq_ignore_ascii_case(&repo.owner) && &pull.head == branch
            })
        })
        .filter(|pull| base.is_none_or(|base| &pull.base == base))
        .collect();
    let last_page = matching.len().div_ceil(per_page).max(1);
    let items: Vec<Value> = matching
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|pull| {
            let author = &authors[&pull.author];
            shapes::pull(&state.hosts(), repo, &owner_account, author, pull, false)
        })
        .collect();

    let mut response = Json(Value::Array(items)).into_response();
    if last_page > 1 {
        let link = page_links(&state.api_url, &owner, &name, &query, page, last_page);
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

#[derive(Deserialize)]
struct NewPull {
    title: Option<String>,
    head: Option<String>,
    base: Option<String>,
    body: Option<String>,
    draft: Option<bool>,
    maintainer_can_modify: Option<bool>,
}

/// `POST /repos/{owner}/{repo}/pulls`, with GitHub's refusals: a missing
/// branch, no commits between the branches, and an open pull request from
/// the same head into the same base.
pub async fn create_pull(
    State(state): Shared,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let caller = state.caller(&headers)?;
    if matches!(caller, Caller::Anonymous) {
        return Err(ApiError::requires_authentication());
    }
    let new: NewPull = serde_json::from_slice(&body).map_err(|_| ApiError::bad_json())?;
    let (Some(head), Some(base)) = (new.head, new.base) else {
        return Err(ApiError::validation(serde_json::json!([
            { "resource": "PullRequest", "field": "head", "code": "missing_field" }
        ])));
    };
    let Some(title) = new.title.filter(|t| !t.trim().is_empty()) else {
        return Err(ApiError::validation(serde_json::json!([
            { "resource": "PullRequest", "field": "title", "code": "missing_field" }
        ])));
    };
    {
        let inner = state.lock();
        let visible = inner
            .repos
            .get(&key(&owner, &name))
            .is_some_and(|repo| can_see(&caller, repo));
        if !visible {
            return Err(ApiError::not_found());
        }
    }

    // `user:branch` names a branch in a fork; only same-repository pull
    // requests exist here.
    let head = match head.split_once(':') {
        Some((user, branch)) if user.eq_ignore_ascii_case(&owner) => branch.to_owned(),
        Some(_) => return Err(ApiError::invalid_field("head")),
        None => head,
    };
    let path = bare_repo_path(&state.git_root, &owner, &name);
    let head_sha = branch_commit(&path, &head)
        .await
        .ok_or_else(|| ApiError::invalid_field("head"))?;
    let base_sha = branch_commit(&path, &base)
        .await
        .ok_or_else(|| ApiError::invalid_field("base"))?;
    if !has_commits_between(&path, &base_sha, &head_sha).await {
        return Err(ApiError::custom(format!(
            "No commits between {base} and {head}"
        )));
    }

    let mut inner = state.lock();
    let author = author_login(&caller);
    let author_account = inner.account(
        &author,
        if author.ends_with("[bot]") {
            "Bot"
        } else {
            "User"
        },
    );
    let owner_account = inner.owner_account(&owner);
    let id = inner.next_id();
    let repo = inner
        .repos
        .get_mut(&key(&owner, &name))
        .ok_or_else(ApiError::not_found)?;
    if repo
        .pulls
        .iter()
        .any(|pull| pull.open && pull.head == head && pull.base == base)
    {
        return Err(ApiError::custom(format!(
            "A pull request already exists for {}:{head}.",
            repo.owner
        )));
    }
    let now = Utc::now();
    let number = repo.pulls.len() as u64 + 1;
    repo.pulls.push(Pull {
        id,
        number,
        title,
        body: new.body,
        head,
        base,
        head_sha,
        base_sha,
        draft: new.draft.unwrap_or(false),
        maintainer_can_modify: new.maintainer_can_modify.unwrap_or(false),
        open: true,
        author,
        created_at: now,
        updated_at: now,
        closed_at: None,
    });
    let pull = repo.pulls.last().ok_or_else(ApiError::not_found)?;
    let body = shapes::pull(
        &state.hosts(),
        repo,
        &owner_account,
        &author_account,
        pull,
        true,
    );
    let location = format!(
        "{}/repos/{}/{}/pulls/{number}",
        state.api_url, repo.owner, repo.name
    );
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response())
}

/// `GET /user`: the signed-in user. Installation tokens cannot call it
/// (`enabledForGitHubApps: false`).
pub async fn authenticated_user(
    State(state): Shared,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    match state.caller(&headers)? {
        Caller::Anonymous => Err(ApiError::requires_authentication()),
        Caller::Installation { .. } => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Resource not accessible by integration",
        )),
        Caller::User { login } => {
            let account = state.lock().account(&login, "User");
            Ok(Json(shapes::private_user(
                &state.hosts(),
                &account,
                Utc::now(),
            )))
        }
    }
}

pub fn key(owner: &str, name: &str) -> String {
    format!("{owner}/{name}").to_ascii_lowercase()
}

async fn has_commits_between(path: &std::path::Path, base: &str, head: &str) -> bool {
    let mut command = git(None);
    command
        .arg("--git-dir")
        .arg(path)
        .args(["rev-list", "--count", &format!("{base}..{head}")]);
    run(&mut command)
        .await
        .ok()
        .and_then(|count| count.trim().parse::<u64>().ok())
        .is_some_and(|count| count > 0)
}

fn page_links(
    api_url: &str,
    owner: &str,
    name: &str,
    query: &HashMap<String, String>,
    page: usize,
    last: usize,
) -> String {
    let url = |n: usize| {
        let mut pairs: Vec<(String, String)> = query
            .iter()
            .filter(|(k, _)| k.as_str() != "page")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        pairs.sort();
        pairs.push(("page".to_owned(), n.to_string()));
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        format!("{api_url}/repos/{owner}/{name}/pulls?{query}")
    };
    let mut links = Vec::new();
    if page < last {
        links.push(format!("<{}>; rel=\"next\"", url(page + 1)));
        links.push(format!("<{}>; rel=\"last\"", url(last)));
    }
    if page > 1 {
        links.push(format!("<{}>; rel=\"prev\"", url(page - 1)));
        links.push(format!("<{}>; rel=\"first\"", url(1)));
    }
    links.join(", ")
}
