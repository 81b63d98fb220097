//! Hero's HTTP API: projects, their secrets, and (as they land) jobs,
//! batches and webhooks. It records requests in Postgres and never touches
//! a sandbox itself.

pub mod auth;
pub mod error;
pub mod extract;
pub mod git_backend;
pub mod routes;
pub mod startup;
pub mod state;
pub mod webhooks;

pub use startup::{Application, app};
pub use state::AppState;
