//! `POST /login/oauth/access_token`: the OAuth web flow's code exchange and
//! the refresh grant (NOTES §1, "OAuth web flow").
//!
//! As on GitHub: failures are HTTP 200 with an `error` key; a code works
//! once and for ten minutes; a refresh issues a new pair, after which the
//! used refresh token and the access token issued with it are dead. The
//! reply is JSON when the client asks for it and form-encoded otherwise.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};

use super::state::{CodeGrant, Grant, Inner, RefreshGrant, State as FakeState};

const ERROR_URI: &str = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors";

pub async fn token(
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = parse_body(&headers, &body);
    let field = |name: &str| form.get(name).map(String::as_str);
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));

    let reply = if field("client_id") != Some(state.client_id.as_str())
        || field("client_secret") != Some(state.client_secret.as_str())
    {
        error(
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
        )
    } else if field("grant_type") == Some("refresh_token") {
        refresh(
            &mut state.lock(),
            field("refresh_token").unwrap_or_default(),
        )
    } else {
        exchange(
            &mut state.lock(),
            field("code").unwrap_or_default(),
            field("redirect_uri"),
        )
    };
    render(reply, wants_json)
}

/// Records that `login` approved the app and returns the code GitHub would
/// send them back with.
pub fn authorize(inner: &mut Inner, login: &str, redirect_uri: Option<&str>) -> String {
    let code = inner.new_token("code_");
    inner.codes.insert(
        code.clone(),
        CodeGrant {
            login: login.to_owned(),
            redirect_uri: redirect_uri.map(str::to_owned),
            expires_at: Utc::now() + chrono::Duration::minutes(10),
        },
    );
    code
}

fn exchange(inner: &mut Inner, code: &str, redirect_uri: Option<&str>) -> Value {
    let Some(grant) = inner.codes.remove(code) else {
        return bad_code();
    };
    if grant.expires_at <= Utc::now() {
        return bad_code();
    }
    if grant.redirect_uri.is_some() && grant.redirect_uri.as_deref() != redirect_uri {
        return error(
            "redirect_uri_mismatch",
            "The redirect_uri MUST match the registered callback URL for this application.",
        );
    }
    inner.counts.code_exchanges += 1;
    issue(inner, &grant.login)
}

fn refresh(inner: &mut Inner, refresh_token: &str) -> Value {
    let Some(grant) = inner.refresh_tokens.remove(refresh_token) else {
        return bad_refresh();
    };
    if grant.expires_at <= Utc::now() {
        return bad_refresh();
    }
    inner.tokens.remove(&grant.access_token);
    inner.counts.refreshes += 1;
    issue(inner, &grant.login)
}

/// A new access token, and a refresh token when user tokens expire.
fn issue(inner: &mut Inner, login: &str) -> Value {
    let access_token = inner.new_token("ghu_");
    let lifetimes = inner.lifetimes;
    let Some(access_lifetime) = lifetimes.user_access else {
        inner.tokens.insert(
            access_token.clone(),
            Grant::User {
                login: login.to_owned(),
                expires_at: None,
            },
        );
        return json!({ "access_token": access_token, "token_type": "bearer", "scope": "" });
    };

    let seconds = |d: std::time::Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    let now = Utc::now();
    let refresh_token = inner.new_token("ghr_");
    inner.tokens.insert(
        access_token.clone(),
        Grant::User {
            login: login.to_owned(),
            expires_at: Some(now + chrono::Duration::seconds(seconds(access_lifetime))),
        },
    );
    inner.refresh_tokens.insert(
        refresh_token.clone(),
        RefreshGrant {
            login: login.to_owned(),
            access_token: access_token.clone(),
            expires_at: now + chrono::Duration::seconds(seconds(lifetimes.user_refresh)),
        },
    );
    json!({
        "access_token": access_token,
        "expires_in": seconds(access_lifetime),
        "refresh_token": refresh_token,
        "refresh_token_expires_in": seconds(lifetimes.user_refresh),
        "token_type": "bearer",
        "scope": "",
    })
}

fn bad_code() -> Value {
    error(
        "bad_verification_code",
        "The code passed is incorrect or expired.",
    )
}

fn bad_refresh() -> Value {
    error(
        "bad_refresh_token",
        "The refresh token passed is incorrect or expired.",
    )
}

fn error(code: &str, description: &str) -> Value {
    json!({ "error": code, "error_description": description, "error_uri": ERROR_URI })
}

/// octocrab sends JSON, browsers and most clients a form.
fn parse_body(headers: &HeaderMap, body: &[u8]) -> HashMap<String, String> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
            return HashMap::new();
        };
        fields
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                Value::Number(n) => Some((k, n.to_string())),
                _ => None,
            })
            .collect()
    } else {
        serde_urlencoded::from_bytes(body).unwrap_or_default()
    }
}

/// Always 200, as GitHub answers this endpoint even for errors.
fn render(reply: Value, json: bool) -> Response {
    if json {
        return axum::Json(reply).into_response();
    }
    let pairs: Vec<(String, String)> = reply
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect();
    (
        [(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
        serde_urlencoded::to_string(pairs).unwrap_or_default(),
    )
        .into_response()
}
