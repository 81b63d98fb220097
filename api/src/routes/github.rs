//! `/v1/github/oauth`: connecting a user's GitHub account through GitHub's
//! OAuth web flow. The IDE sends the user to `authorize_url`, GitHub sends
//! them back with a code, and the IDE hands the code to `exchange`; Hero
//! keeps the tokens sealed and refreshes them when they expire.

use axum::extract::State;
use axum::http::StatusCode;
use hero_common::github_oauth::{OAuthError, OAuthTokenStore};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use utoipa::{IntoParams, ToSchema};

use crate::auth::CurrentUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Query};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeCode {
    /// The `code` GitHub put on the redirect.
    pub code: String,
    /// The redirect URI used to get the code, if one was given.
    pub redirect_uri: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeParams {
    /// An unguessable value the IDE checks on the redirect (CSRF).
    pub state: String,
    pub redirect_uri: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AuthorizeUrl {
    pub url: String,
}

#[derive(Serialize, ToSchema)]
pub struct Connection {
    pub connected: bool,
}

fn store(state: &AppState) -> Result<&OAuthTokenStore, ApiError> {
    state.oauth.as_deref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_configured",
            "signing in with GitHub is not configured on this server (GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET)",
        )
    })
}

fn oauth_error(error: OAuthError) -> ApiError {
    match error {
        OAuthError::Refused { .. } => {
            ApiError::new(StatusCode::BAD_REQUEST, "github_refused", error.to_string())
        }
        OAuthError::NotConnected => ApiError::not_found("GitHub connection"),
        OAuthError::Expired(_) => {
            ApiError::new(StatusCode::CONFLICT, "github_expired", error.to_string())
        }
        OAuthError::NotConfigured(_)
        | OAuthError::Unavailable { .. }
        | OAuthError::Malformed(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "github_unavailable",
            error.to_string(),
        ),
        OAuthError::Unreadable(_) | OAuthError::Store(_) => ApiError::internal(&error),
    }
}

/// Where to send the user to connect their GitHub account.
#[utoipa::path(
    get, path = "/v1/github/oauth/authorize_url", tag = "github",
    params(AuthorizeParams),
    responses(
        (status = 200, description = "GitHub's authorize URL", body = AuthorizeUrl),
        (status = 503, description = "GitHub sign-in is not configured", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn authorize_url(
    State(state): State<AppState>,
    _user: CurrentUser,
    Query(params): Query<AuthorizeParams>,
) -> Result<axum::Json<AuthorizeUrl>, ApiError> {
    if params.state.len() < 8 {
        return Err(ApiError::invalid_field(
            "state",
            "must be at least 8 characters of randomness",
        ));
    }
    let url = store(&state)?
        .client()
        .authorize_url(&params.state, params.redirect_uri.as_deref());
    Ok(axum::Json(AuthorizeUrl { url }))
}

/// Exchanges the code from GitHub's redirect for the user's tokens.
#[utoipa::path(
    post, path = "/v1/github/oauth/exchange", tag = "github",
    request_body = ExchangeCode,
    responses(
        (status = 200, description = "Connected", body = Connection),
        (status = 400, description = "GitHub refused the code", body = ErrorBody),
        (status = 503, description = "GitHub sign-in is not configured or GitHub is unavailable", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[instrument(skip_all, fields(user = %user.0.id))]
pub async fn exchange(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(request): Json<ExchangeCode>,
) -> Result<axum::Json<Connection>, ApiError> {
    if request.code.trim().is_empty() {
        return Err(ApiError::invalid_field("code", "is empty"));
    }
    store(&state)?
        .connect(user.0.id, &request.code, request.redirect_uri.as_deref())
        .await
        .map_err(oauth_error)?;
    tracing::info!("GitHub account connected");
    Ok(axum::Json(Connection { connected: true }))
}

/// Whether the user has a GitHub account connected.
#[utoipa::path(
    get, path = "/v1/github/oauth", tag = "github",
    responses((status = 200, description = "Connection state", body = Connection)),
    security(("bearer" = []))
)]
pub async fn connection(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<axum::Json<Connection>, ApiError> {
    let connected = store(&state)?
        .is_connected(user.0.id)
        .await
        .map_err(oauth_error)?;
    Ok(axum::Json(Connection { connected }))
}

/// Forgets the user's GitHub tokens.
#[utoipa::path(
    delete, path = "/v1/github/oauth", tag = "github",
    responses(
        (status = 204, description = "Disconnected"),
        (status = 404, description = "Nothing was connected", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn disconnect(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<StatusCode, ApiError> {
    if !store(&state)?
        .disconnect(user.0.id)
        .await
        .map_err(oauth_error)?
    {
        return Err(ApiError::not_found("GitHub connection"));
    }
    Ok(StatusCode::NO_CONTENT)
}
