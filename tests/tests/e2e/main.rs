//! Hero across processes, as deployed: a real `hero-api` and several real
//! `hero-worker` processes against real Postgres, Redis and git, and the
//! faults that must lose nothing: a worker killed mid-job, Redis emptied
//! mid-run, the API killed while it accepts jobs.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod faults;
mod metrics;
mod order;
mod shutdown;
