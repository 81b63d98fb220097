//! The API over HTTP, against real Postgres.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod auth;
mod errors;
mod github_oauth;
mod health;
mod migrations;
mod projects;
mod pull_requests;
mod redaction;
mod sandbox;
mod secrets;
mod vault;
