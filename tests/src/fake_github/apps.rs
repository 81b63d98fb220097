//! `POST /app/installations/{id}/access_tokens`: installation tokens for a
//! JWT the app signed (NOTES §1, "JWT requirements").
//!
//! The JWT must be RS256, verify under the app's public key, name the app
//! in `iss` (its id, as a number or a string), and be current: `iat` not in
//! the future, `exp` in the future but no more than ten minutes ahead.
//! GitHub allows a little clock drift on both; so does the fake.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use super::error::ApiError;
use super::shapes;
use super::state::{Grant, State as FakeState};

/// Clock drift tolerated on `iat` and `exp`.
const DRIFT: i64 = 30;
/// GitHub's limit on how far ahead `exp` may be.
const MAX_LIFETIME: i64 = 600;

#[derive(Deserialize)]
struct Claims {
    iss: Value,
    iat: i64,
    exp: i64,
}

#[derive(Deserialize, Default)]
struct TokenRequest {
    repositories: Option<Vec<String>>,
}

pub async fn mint_installation_token(
    State(state): State<Arc<FakeState>>,
    Path(installation_id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let jwt = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "A JSON web token could not be decoded",
            )
        })?;
    verify_jwt(jwt.trim(), &state.app.public_pem, state.app.app_id)?;

    // The body is optional; when given it may narrow the token.
    let request: TokenRequest = if body.is_empty() {
        TokenRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|_| ApiError::bad_json())?
    };

    let mut inner = state.lock();
    let account = inner
        .installations
        .get(&installation_id)
        .cloned()
        .ok_or_else(ApiError::not_found)?;
    let lifetime = chrono::Duration::from_std(inner.lifetimes.installation_token)
        .unwrap_or(chrono::Duration::hours(1));
    let expires_at = Utc::now() + lifetime;
    let token = inner.new_token("ghs_");
    inner.tokens.insert(
        token.clone(),
        Grant::Installation {
            installation_id,
            account,
            repositories: request.repositories,
            expires_at,
        },
    );
    inner.counts.installation_tokens += 1;

    Ok((
        StatusCode::CREATED,
        Json(shapes::installation_token(&token, expires_at)),
    )
        .into_response())
}

/// Checks a JWT as GitHub does, answering with GitHub's messages.
fn verify_jwt(jwt: &str, public_pem: &str, app_id: u64) -> Result<(), ApiError> {
    let undecodable = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "A JSON web token could not be decoded",
        )
    };
    let key = DecodingKey::from_rsa_pem(public_pem.as_bytes()).map_err(|_| undecodable())?;
    let mut validation = Validation::new(Algorithm::RS256);
    // The time claims are checked below, with GitHub's messages.
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Claims>(jwt, &key, &validation)
        .map_err(|_| undecodable())?
        .claims;

    let now = Utc::now().timestamp();
    if claims.iat > now + DRIFT {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "'Issued at' claim ('iat') must be an Integer representing a time in the past",
        ));
    }
    if claims.exp <= now - DRIFT
        || claims.exp > now + MAX_LIFETIME + DRIFT
        || claims.exp <= claims.iat
    {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "'Expiration time' claim ('exp') must be a numeric value representing the future \
             time at which the assertion expires",
        ));
    }
    let issuer_matches = match &claims.iss {
        Value::Number(n) => n.as_u64() == Some(app_id),
        Value::String(s) => s.parse::<u64>().ok() == Some(app_id),
        _ => false,
    };
    if !issuer_matches {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "'Issuer' claim ('iss') must be an Integer",
        ));
    }
    Ok(())
}
