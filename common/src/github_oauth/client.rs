//! GitHub's OAuth token endpoint: exchanging a code, refreshing a token.
//!
//! Both are `POST {web}/login/oauth/access_token`, form-encoded, with
//! `Accept: application/json` (without it GitHub answers form-encoded).
//! GitHub reports most failures as HTTP 200 with an `error` key instead of
//! a token (NOTES §1), so the reply is checked for `error` first.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{OAuthError, UserTokens};
use crate::settings::Settings;

/// Longest piece of a GitHub error text put in a message.
const MAX_DESCRIPTION: usize = 300;

/// Where the OAuth app lives and who it is.
#[derive(Clone)]
pub struct OAuthConfig {
    /// `https://github.com`, a GitHub Enterprise host, or the fake in tests.
    pub web_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Limit on one request, connection included.
    pub timeout: Duration,
}

impl OAuthConfig {
    /// `GITHUB_WEB_URL`, `GITHUB_CLIENT_ID` and `GITHUB_CLIENT_SECRET`.
    pub fn from_settings(settings: &Settings) -> Result<Self, OAuthError> {
        let client_id = settings
            .github_client_id
            .clone()
            .ok_or(OAuthError::NotConfigured("GITHUB_CLIENT_ID"))?;
        let client_secret = settings
            .github_client_secret
            .clone()
            .ok_or(OAuthError::NotConfigured("GITHUB_CLIENT_SECRET"))?;
        Ok(Self {
            web_url: settings.github_web_url.clone(),
            client_id,
            client_secret,
            timeout: Duration::from_secs(30),
        })
    }
}

impl std::fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("web_url", &self.web_url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Talks to GitHub's OAuth endpoints. Cheap to clone.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    http: reqwest::Client,
    config: Arc<OAuthConfig>,
}

/// GitHub's reply to a token request: a token, or an error in a 200.
#[derive(Deserialize)]
struct TokenReply {
    access_token: Option<String>,
    expires_in: Option<i64>,
    refresh_token: Option<String>,
    refresh_token_expires_in: Option<i64>,
    error: Option<String>,
    error_description: Option<String>,
}

impl OAuthClient {
    pub fn new(config: OAuthConfig) -> Result<Self, OAuthError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("hero/", env!("CARGO_PKG_VERSION")))
            .timeout(config.timeout)
            .build()
            .map_err(|e| OAuthError::Malformed(format!("building the HTTP client: {e}")))?;
        Ok(Self {
            http,
            config: Arc::new(config),
        })
    }

    /// Where the IDE sends the user to approve Hero. `state` must be random
    /// and checked when GitHub sends the user back.
    pub fn authorize_url(&self, state: &str, redirect_uri: Option<&str>) -> String {
        let mut query = vec![
            ("client_id", self.config.client_id.as_str()),
            ("state", state),
        ];
        if let Some(uri) = redirect_uri {
            query.push(("redirect_uri", uri));
        }
        // Serialising a list of string pairs cannot fail.
        let query = serde_urlencoded::to_string(&query).unwrap_or_default();
        format!("{}/login/oauth/authorize?{query}", self.web_base())
    }

    /// Exchanges the code GitHub sent the user back with for tokens. A code
    /// works once and for ten minutes.
    #[tracing::instrument(skip_all)]
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: Option<&str>,
    ) -> Result<UserTokens, OAuthError> {
        let mut form = vec![
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.config.client_secret.expose_secret()),
            ("code", code),
        ];
        if let Some(uri) = redirect_uri {
            form.push(("redirect_uri", uri));
        }
        self.token_request(&form).await
    }

    /// Trades a refresh token for a new pair. The old refresh token and the
    /// old access token stop working as soon as GitHub answers.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<UserTokens, OAuthError> {
        let form = [
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.config.client_secret.expose_secret()),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
        ];
        self.token_request(&form).await
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> Result<UserTokens, OAuthError> {
        let body = serde_urlencoded::to_string(form)
            .map_err(|e| OAuthError::Malformed(format!("encoding the request: {e}")))?;
        // Expiry is counted from before the request, so it errs early.
        let sent_at = Utc::now();

        let response = self
            .http
            .post(format!("{}/login/oauth/access_token", self.web_base()))
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| OAuthError::Unavailable {
                // Without the URL: it is the fixed endpoint, and shorter so.
                message: e.without_url().to_string(),
                retry_after: None,
            })?;

        let status = response.status();
        let retry_after = retry_after(response.headers());
        let bytes = response
            .bytes()
            .await
            .map_err(|e| OAuthError::Unavailable {
                message: format!("reading the answer: {}", e.without_url()),
                retry_after: None,
            })?;
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err(OAuthError::Unavailable {
                message: format!("HTTP {}", status.as_u16()),
                retry_after,
            });
        }

        let reply: TokenReply = serde_json::from_slice(&bytes).map_err(|_| {
            OAuthError::Malformed(format!(
                "HTTP {} with a body that is not a JSON token reply",
                status.as_u16()
            ))
        })?;
        parse_reply(status, reply, sent_at)
    }

    fn web_base(&self) -> &str {
        self.config.web_url.trim_end_matches('/')
    }
}

fn parse_reply(
    status: StatusCode,
    reply: TokenReply,
    sent_at: DateTime<Utc>,
) -> Result<UserTokens, OAuthError> {
    if let Some(code) = reply.error {
        return Err(OAuthError::Refused {
            code: shorten(code),
            description: shorten(reply.error_description.unwrap_or_default()),
        });
    }
    if !status.is_success() {
        return Err(OAuthError::Refused {
            code: format!("http_{}", status.as_u16()),
            description: String::new(),
        });
    }
    let access_token = reply
        .access_token
        .filter(|token| !token.is_empty())
        .ok_or_else(|| OAuthError::Malformed("no access_token in the reply".to_owned()))?;

    // A lifetime of zero (or less) is a token that has already expired,
    // not one that never does: only a missing field means that.
    let after =
        |seconds: Option<i64>| seconds.map(|s| sent_at + chrono::Duration::seconds(s.max(0)));
    Ok(UserTokens {
        access_token: SecretString::from(access_token),
        access_expires_at: after(reply.expires_in),
        refresh_token: reply
            .refresh_token
            .filter(|token| !token.is_empty())
            .map(SecretString::from),
        refresh_expires_at: after(reply.refresh_token_expires_in),
    })
}

/// `Retry-After` in delta-seconds, the form GitHub sends.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// GitHub's error text, cut to a size fit for a message.
fn shorten(mut text: String) -> String {
    if text.len() > MAX_DESCRIPTION {
        let mut end = MAX_DESCRIPTION;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(json: &str) -> TokenReply {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn an_expiring_token_reply_yields_both_tokens_and_their_expiry() {
        let sent_at = Utc::now();

        let tokens = parse_reply(
            StatusCode::OK,
            reply(
                r#"{"access_token":"ghu_a","expires_in":28800,"refresh_token":"ghr_b",
                    "refresh_token_expires_in":15811200,"token_type":"bearer","scope":""}"#,
            ),
            sent_at,
        )
        .unwrap();

        assert_eq!(tokens.access_token.expose_secret(), "ghu_a");
        assert_eq!(tokens.refresh_token.unwrap().expose_secret(), "ghr_b");
        assert_eq!(
            tokens.access_expires_at,
            Some(sent_at + chrono::Duration::hours(8))
        );
        assert_eq!(
            tokens.refresh_expires_at,
            Some(sent_at + chrono::Duration::seconds(15_811_200))
        );
    }

    #[test]
    fn a_token_that_does_not_expire_has_no_expiry_and_no_refresh_token() {
        let tokens = parse_reply(
            StatusCode::OK,
            reply(r#"{"access_token":"gho_a","token_type":"bearer","scope":"repo"}"#),
            Utc::now(),
        )
        .unwrap();

        assert!(tokens.access_expires_at.is_none());
        assert!(tokens.refresh_token.is_none());
    }

    #[test]
    fn a_token_with_no_lifetime_left_has_expired_when_it_arrives() {
        let sent_at = Utc::now();

        let tokens = parse_reply(
            StatusCode::OK,
            reply(
                r#"{"access_token":"ghu_a","expires_in":0,"refresh_token":"ghr_b",
                    "refresh_token_expires_in":3600,"token_type":"bearer","scope":""}"#,
            ),
            sent_at,
        )
        .unwrap();

        assert_eq!(tokens.access_expires_at, Some(sent_at));
    }

    #[test]
    fn an_error_in_a_200_is_a_refusal_naming_githubs_code() {
        let error = parse_reply(
            StatusCode::OK,
            reply(
                r#"{"error":"bad_verification_code",
                    "error_description":"The code passed is incorrect or expired.",
                    "error_uri":"https://docs.github.com/"}"#,
            ),
            Utc::now(),
        )
        .unwrap_err();

        assert!(matches!(
            error,
            OAuthError::Refused { ref code, .. } if code == "bad_verification_code"
        ));
        assert!(error.to_string().contains("incorrect or expired"));
    }

    #[test]
    fn a_reply_without_a_token_or_an_error_is_malformed() {
        let error = parse_reply(StatusCode::OK, reply("{}"), Utc::now()).unwrap_err();

        assert!(matches!(error, OAuthError::Malformed(_)));
    }

    #[test]
    fn the_authorize_url_carries_the_client_id_state_and_redirect() {
        let client = OAuthClient::new(OAuthConfig {
            web_url: "https://github.example/".to_owned(),
            client_id: "Iv1.abc".to_owned(),
            client_secret: SecretString::from("shh"),
            timeout: Duration::from_secs(1),
        })
        .unwrap();

        let url = client.authorize_url("s t", Some("http://localhost:3000/cb"));

        assert_eq!(
            url,
            "https://github.example/login/oauth/authorize?client_id=Iv1.abc&state=s+t\
             &redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcb"
        );
        assert!(!format!("{client:?}").contains("shh"));
    }
}
