//! `POST /v1/webhooks/github` over HTTP, against real Postgres and Redis:
//! signatures, deliveries recorded once, and each trigger's jobs.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod deliveries;
mod ignored;
mod signatures;
mod support;
mod triggers;
