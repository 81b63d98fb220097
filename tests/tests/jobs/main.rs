//! Jobs end to end in one process: the API accepts them, its dispatcher
//! queues them in Redis, a worker runs them in local sandboxes on
//! repositories of the local forge, and clients wait and follow over HTTP.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod backlog;
mod cancel;
mod cron;
mod events;
mod fencing;
mod listing;
mod order;
mod policy;
mod retries;
mod session;
mod traces;
mod triggers;
mod validation;
mod wait;
