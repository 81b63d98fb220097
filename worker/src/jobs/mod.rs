//! Running jobs: what a worker does with each message its queues give it.
//!
//! A message only names a job and the dispatch it belongs to; the job
//! itself is read from Postgres ([`runner`]). The runner leases the
//! project's sandbox, starts the job under the lease's fencing token,
//! prepares the project's [`workspace`] (secrets, redactor, git token,
//! hydrating it first when the sandbox is new), runs the kind's
//! [`handlers`], and records the outcome, still under the token. Hero, not
//! apalis, decides on retries ([`failure`]).
//!
//! [`consumer`] wires the runner to the apalis-redis queues, one worker
//! per kind, and [`cron`] schedules housekeeping once per tick across every
//! replica.

pub mod cancel;
pub mod consumer;
pub mod cron;
pub mod failure;
mod handlers;
pub mod output;
mod poll;
pub mod runner;
pub mod services;
mod workspace;

pub use runner::run_message;
pub use services::Services;
