//! A small client of Hero's HTTP API, for the commands that act as a user
//! (`hero project import`, `hero batch ...`). The API's own error messages
//! are what the user sees; the token never appears in output.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Where the API is and who is asking; every client command takes these.
#[derive(clap::Args)]
pub struct ApiArgs {
    /// Hero's API address.
    #[arg(
        long,
        env = "HERO_API_URL",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL"
    )]
    pub api_url: String,
    /// An API token, as `hero token create` prints it.
    #[arg(long, env = "HERO_TOKEN", hide_env_values = true, value_parser = secret)]
    pub token: Option<SecretString>,
}

fn secret(text: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(text.to_owned()))
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The API refused the request and said why.
    #[error("{message}")]
    Api {
        status: StatusCode,
        code: String,
        message: String,
    },
    /// Something answered, but not with Hero's error shape (a proxy, or
    /// not Hero at all).
    #[error("{url} answered {status} without a Hero error")]
    Unexpected { status: StatusCode, url: String },
    /// The request did not get an answer.
    #[error("cannot reach the API at {base}: {cause}")]
    Unreachable { base: String, cause: String },
    #[error("the API's answer could not be read: {0}")]
    Unreadable(String),
}

impl ClientError {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } => true,
            Self::Api { status, .. } | Self::Unexpected { status, .. } => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
            Self::Unreadable(_) => false,
        }
    }
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(serde::Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

pub struct ApiClient {
    base: String,
    token: SecretString,
    http: reqwest::Client,
}

impl ApiClient {
    pub fn new(args: &ApiArgs) -> anyhow::Result<Self> {
        let base = args.api_url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            anyhow::bail!("--api-url (HERO_API_URL) must be an http(s) URL, got {base:?}");
        }
        let Some(token) = args.token.clone() else {
            anyhow::bail!(
                "no API token: set HERO_TOKEN or pass --token \
                 (`hero token create --user NAME` makes one)"
            );
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self { base, token, http })
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn post<B, T>(&self, path: &str, body: &B) -> Result<T, ClientError>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(self.token.expose_secret())
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let response = request
            .send()
            .await
            .map_err(|error| self.unreachable(&error))?;
        let status = response.status();
        let url = response.url().path().to_owned();
        let body = response
            .bytes()
            .await
            .map_err(|error| self.unreachable(&error))?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|error| ClientError::Unreadable(error.to_string()));
        }
        match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(ErrorBody { error }) => Err(ClientError::Api {
                status,
                code: error.code,
                message: error.message,
            }),
            Err(_) => Err(ClientError::Unexpected { status, url }),
        }
    }

    /// The innermost cause says what happened ("Connection refused");
    /// the outer ones only repeat the URL.
    fn unreachable(&self, error: &reqwest::Error) -> ClientError {
        let mut cause: &dyn std::error::Error = error;
        while let Some(source) = cause.source() {
            cause = source;
        }
        let cause = if error.is_timeout() {
            "no answer in time".to_owned()
        } else {
            cause.to_string()
        };
        ClientError::Unreachable {
            base: self.base.clone(),
            cause,
        }
    }
}
