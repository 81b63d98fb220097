//! Batches: accepting many projects' jobs at once over HTTP, reporting
//! and cancelling them, and the dispatcher keeping them from crowding
//! out interactive work, against real Postgres and Redis.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod api;
mod fairness;
mod support;
