//! The fake's error answers, in GitHub's `basic-error` and
//! `validation-error` shapes with GitHub's own messages.

use axum::Json;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::shapes;

const DOCS: &str = "https://docs.github.com/rest";

/// An error answer: a status, a JSON body and extra headers, boxed so
/// that results carrying it stay small.
#[derive(Debug)]
pub struct ApiError(Box<Answer>);

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    body: Value,
    headers: HeaderMap,
}

impl ApiError {
    pub fn new(status: StatusCode, message: &str) -> Self {
        Self::with_body(status, shapes::basic_error(status.as_u16(), message, DOCS))
    }

    fn with_body(status: StatusCode, body: Value) -> Self {
        Self(Box::new(Answer {
            status,
            body,
            headers: HeaderMap::new(),
        }))
    }

    pub fn with_header(mut self, name: &'static str, value: impl ToString) -> Self {
        if let Ok(value) = HeaderValue::from_str(&value.to_string()) {
            self.0.headers.insert(HeaderName::from_static(name), value);
        }
        self
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not Found")
    }

    pub fn bad_credentials() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Bad credentials")
    }

    pub fn requires_authentication() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Requires authentication")
    }

    pub fn bad_json() -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Problems parsing JSON")
    }

    /// A 422 with GitHub's `errors` list.
    pub fn validation(errors: Value) -> Self {
        Self::with_body(
            StatusCode::UNPROCESSABLE_ENTITY,
            shapes::validation_error(
                errors,
                "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
            ),
        )
    }

    /// A 422 naming one field, as for a missing branch.
    pub fn invalid_field(field: &str) -> Self {
        Self::validation(json!([{ "resource": "PullRequest", "field": field, "code": "invalid" }]))
    }

    /// A 422 with GitHub's sentence, as for a duplicate pull request.
    pub fn custom(message: String) -> Self {
        Self::validation(
            json!([{ "resource": "PullRequest", "code": "custom", "message": message }]),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let Answer {
            status,
            body,
            headers,
        } = *self.0;
        let mut response = (status, Json(body)).into_response();
        response.headers_mut().extend(headers);
        response
    }
}
