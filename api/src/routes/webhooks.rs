//! `POST /v1/webhooks/github`: GitHub's deliveries, verified, recorded
//! once, and turned into the jobs each project's triggers ask for.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hero_common::domain::{Delivery, NewDelivery};
use sha2::{Digest, Sha256};
use tracing::instrument;

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::webhooks::events::Event;
use crate::webhooks::report::{DeliveryOutcome, DeliveryReport};
use crate::webhooks::signature;
use crate::webhooks::triggers;

const EVENT_HEADER: &str = "x-github-event";
const DELIVERY_HEADER: &str = "x-github-delivery";
/// GitHub's delivery ids are GUIDs and its event names short words; this
/// leaves room without storing whatever a caller sends.
const MAX_HEADER_CHARS: usize = 100;

/// Receive a GitHub delivery. Authenticated by its `X-Hub-Signature-256`
/// (the HMAC-SHA256 of the body under `GITHUB_WEBHOOK_SECRET`), not by a
/// token. Work is enqueued, never done here; a redelivery does nothing.
#[utoipa::path(
    post, path = "/v1/webhooks/github", tag = "webhooks",
    params(
        ("X-GitHub-Event" = String, Header, description = "The event: push, pull_request, issues, issue_comment, ..."),
        ("X-GitHub-Delivery" = String, Header, description = "The delivery's id; a redelivery keeps it"),
        ("X-Hub-Signature-256" = String, Header, description = "sha256= and the hex HMAC-SHA256 of the raw body"),
    ),
    request_body(content = Object, content_type = "application/json", description = "The event's payload, exactly as GitHub sent it"),
    responses(
        (status = 200, description = "Handled (jobs enqueued, pull requests updated), or a redelivery of a delivery already handled", body = DeliveryReport),
        (status = 202, description = "Ignored: the report says which event and why", body = DeliveryReport),
        (status = 400, description = "A header is missing or the payload is malformed", body = ErrorBody),
        (status = 401, description = "The signature is missing or does not match", body = ErrorBody),
        (status = 404, description = "Webhooks are disabled (GITHUB_WEBHOOK_SECRET is not set)", body = ErrorBody),
        (status = 413, description = "The delivery is larger than HERO_MAX_BODY_BYTES", body = ErrorBody),
        (status = 415, description = "The payload is not JSON", body = ErrorBody),
    )
)]
#[instrument(skip_all, fields(delivery = tracing::field::Empty, event = tracing::field::Empty))]
pub async fn github_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, ApiError> {
    let Some(secret) = state.github_webhook_secret.clone() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "webhooks_disabled",
            "GitHub webhooks are disabled: set GITHUB_WEBHOOK_SECRET to the webhook's secret",
        ));
    };
    let body = read_body(request, &state).await?;

    // Nothing in the delivery is looked at before its signature holds.
    let claimed = headers.get(signature::HEADER).map(|value| value.as_bytes());
    if let Err(error) = secret.verify(claimed, &body) {
        tracing::warn!(reason = ?error, "webhook delivery refused: bad signature");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            error.to_string(),
        ));
    }

    let event_name = header_word(&headers, EVENT_HEADER, "X-GitHub-Event", |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
    })?;
    let delivery_id = header_word(&headers, DELIVERY_HEADER, "X-GitHub-Delivery", |c| {
        c.is_ascii_alphanumeric() || c == '-'
    })?;
    check_json(&headers)?;
    let span = tracing::Span::current();
    span.record("delivery", delivery_id.as_str());
    span.record("event", event_name.as_str());

    let event = Event::parse(&event_name, &body).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_payload",
            error.to_string(),
        )
    })?;

    let recorded = state
        .stores
        .deliveries
        .begin(NewDelivery {
            delivery_id: delivery_id.clone(),
            event: event.name.clone(),
            body_sha256: Sha256::digest(&body).into(),
        })
        .await?;
    let report = if recorded.finished_at.is_some() {
        tracing::info!(first = %recorded.delivery_id, "webhook redelivery; nothing done again");
        duplicate(&delivery_id, &event.name, recorded)
    } else {
        // A replay of a known body under a new id acts as the first id, so
        // its jobs get the same idempotency keys.
        let report = triggers::run(&state, &recorded.delivery_id, &event).await?;
        let stored = serde_json::to_value(&report).map_err(|error| ApiError::internal(&error))?;
        state
            .stores
            .deliveries
            .finish(&recorded.delivery_id, stored)
            .await?;
        tracing::info!(
            outcome = ?report.outcome,
            actions = report.actions.len(),
            skipped = report.skipped.len(),
            "webhook delivery handled"
        );
        DeliveryReport {
            delivery_id: delivery_id.clone(),
            ..report
        }
    };

    let status = match report.outcome {
        DeliveryOutcome::Ignored => StatusCode::ACCEPTED,
        DeliveryOutcome::Handled | DeliveryOutcome::Duplicate => StatusCode::OK,
    };
    Ok((status, axum::Json(report)).into_response())
}

/// The raw body, within the API's body limit.
async fn read_body(request: Request, state: &AppState) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the delivery is larger than the API accepts (HERO_MAX_BODY_BYTES); \
                 GitHub's payloads go up to 25 MB",
                )
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "unreadable_body",
                    rejection.body_text(),
                )
            }
        })
}

/// A required header that must be one short word of `allowed` characters.
fn header_word(
    headers: &HeaderMap,
    name: &str,
    shown: &str,
    allowed: impl Fn(char) -> bool,
) -> Result<String, ApiError> {
    let invalid =
        |message: String| ApiError::new(StatusCode::BAD_REQUEST, "invalid_header", message);
    let value = headers
        .get(name)
        .ok_or_else(|| invalid(format!("the {shown} header is missing")))?;
    let text = value
        .to_str()
        .ok()
        .filter(|text| {
            !text.is_empty() && text.len() <= MAX_HEADER_CHARS && text.chars().all(&allowed)
        })
        .ok_or_else(|| {
            invalid(format!(
                "the {shown} header is not one a GitHub delivery carries"
            ))
        })?;
    Ok(text.to_owned())
}

/// GitHub can send form-encoded deliveries; Hero reads JSON only.
fn check_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(content_type) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let is_json = content_type.to_str().is_ok_and(|text| {
        text.trim_start()
            .to_ascii_lowercase()
            .starts_with("application/json")
    });
    if is_json {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "deliveries must be JSON: set the webhook's content type to application/json",
        ))
    }
}

fn duplicate(delivery_id: &str, event: &str, recorded: Delivery) -> DeliveryReport {
    let first = recorded
        .report
        .and_then(|report| serde_json::from_value(report).ok());
    DeliveryReport::duplicate(delivery_id, event, &recorded.delivery_id, first)
}
