//! Every route, collected with its OpenAPI description.

pub mod batches;
pub mod git;
pub mod github;
pub mod health;
pub mod jobs;
pub mod projects;
pub mod pull_requests;
pub mod sandbox;
pub mod secrets;
pub mod webhooks;

use axum::Router;
use axum::http::{Method, StatusCode, Uri};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Hero", description = "Run AI coding agents in cloud sandboxes."),
    modifiers(&BearerAuth, &ToolArgumentsBesideTheirTag),
    // The agent tools' calls and results travel in `run_tool` jobs.
    components(schemas(
        hero_common::tool_call::ToolCall,
        hero_common::tool_call::ToolResult,
        hero_common::tool_call::ToolError,
    )),
    tags(
        (name = "projects", description = "Repositories linked to Hero"),
        (name = "secrets", description = "Encrypted project secrets"),
        (name = "github", description = "Connecting a GitHub account"),
        (name = "jobs", description = "Work done in a project's sandbox"),
        (name = "sandboxes", description = "A project's sandbox, and asking for it to be closed"),
        (name = "local forge", description = "Bare repositories and pull requests when HERO_FORGE=local"),
        (name = "webhooks", description = "Signed GitHub deliveries that start configured runs"),
        (name = "batches", description = "One kind of job over many projects"),
        (name = "health", description = "Probes"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document shows each tool's arguments beside `tool` as
/// `allOf: [arguments, {tool}]`. The `additionalProperties: false` utoipa
/// derives from the arguments' `deny_unknown_fields` would, read strictly,
/// refuse `tool` itself, so it is dropped from those schemas; the server
/// still refuses unknown fields.
struct ToolArgumentsBesideTheirTag;

impl Modify for ToolArgumentsBesideTheirTag {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let Some(RefOr::T(Schema::OneOf(call))) = components.schemas.get("ToolCall") else {
            return;
        };
        let arguments: Vec<String> = call
            .items
            .iter()
            .filter_map(|variant| match variant {
                RefOr::T(Schema::AllOf(parts)) => parts.items.iter().find_map(|part| match part {
                    RefOr::Ref(reference) => reference.ref_location.rsplit('/').next(),
                    RefOr::T(_) => None,
                }),
                _ => None,
            })
            .map(str::to_owned)
            .collect();

        for name in arguments {
            if let Some(RefOr::T(Schema::Object(schema))) = components.schemas.get_mut(&name) {
                schema.additional_properties = None;
            }
        }
    }
}

/// The routes and the OpenAPI document that describes them, built from the
/// same handler annotations so the two cannot drift apart.
pub fn router(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(projects::create_project, projects::list_projects))
        .routes(routes!(
            projects::get_project,
            projects::update_project,
            projects::delete_project
        ))
        .routes(routes!(secrets::list_secrets))
        .routes(routes!(
            secrets::put_secret,
            secrets::get_secret,
            secrets::delete_secret
        ))
        .routes(routes!(secrets::import_secrets))
        .routes(routes!(pull_requests::list_pull_requests))
        .routes(routes!(sandbox::get_sandbox, sandbox::close_sandbox))
        .routes(routes!(jobs::enqueue_job, jobs::list_jobs))
        .routes(routes!(jobs::get_job))
        .routes(routes!(jobs::cancel_job))
        .routes(routes!(jobs::job_events))
        .routes(routes!(git::info_refs))
        .routes(routes!(git::upload_pack))
        .routes(routes!(git::receive_pack))
        .routes(routes!(git::pull_request))
        .routes(routes!(batches::create_batch, batches::list_batches))
        .routes(routes!(batches::get_batch))
        .routes(routes!(batches::cancel_batch))
        .routes(routes!(github::authorize_url))
        .routes(routes!(github::exchange))
        .routes(routes!(github::connection, github::disconnect))
        .routes(routes!(webhooks::github_webhook))
        .with_state(state)
        .split_for_parts();

    let document = openapi.clone();
    let router = router
        .route(
            "/openapi.json",
            axum::routing::get(move || async move { axum::Json(document) }),
        )
        .route(
            "/metrics",
            axum::routing::get(|| async { hero_common::metrics::render() }),
        )
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method);
    (router, openapi)
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route for {method} {}", uri.path()),
    )
}

async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}
