//! Hero's workers: they take jobs from the queues, lease the project's
//! sandbox, do the work there and record the result in Postgres. A worker
//! serves HTTP only for its health probes and metrics.

pub mod forge;
pub mod git;
pub mod health;
pub mod jobs;
pub mod lease;
pub mod sandbox;
pub mod serve;
pub mod tools;
