//! Bearer-token authentication.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use hero_common::api_token;
use hero_common::domain::User;

use crate::error::ApiError;
use crate::state::AppState;

/// The user whose token authenticated the request.
pub struct CurrentUser(pub User);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            ApiError::unauthorized("missing Authorization: Bearer <token> header")
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
            })?;

        let user = state
            .stores
            .tokens
            .authenticate(&api_token::hash(token))
            .await?
            .ok_or_else(|| ApiError::unauthorized("the token is not valid or was revoked"))?;
        Ok(Self(user))
    }
}
