//! The API over HTTP, against real Postgres.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod auth;
mod errors;
mod health;
mod projects;
mod redaction;
mod secrets;
mod vault;
