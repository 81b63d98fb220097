//! The worker's probes: `/healthz` (the process runs), `/readyz`
//! (Postgres and Redis answer), and `/metrics` (Prometheus).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use redis::aio::ConnectionManager;
use sqlx::PgPool;

#[derive(Clone)]
pub struct Probes {
    pub pool: PgPool,
    pub redis: ConnectionManager,
}

pub fn router(probes: Probes) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(|| async { hero_common::metrics::render() }))
        .with_state(probes)
}

async fn readyz(State(mut probes): State<Probes>) -> (StatusCode, &'static str) {
    if sqlx::query("SELECT 1").execute(&probes.pool).await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "postgres unreachable");
    }
    let pong: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut probes.redis).await;
    if pong.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "redis unreachable");
    }
    (StatusCode::OK, "ready")
}
