//! The lease table against real Postgres: races between many tasks,
//! takeover, fencing, capacity, eviction, the reaper and close requests.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod capacity;
mod close_requests;
mod fixture;
mod leases;
mod reaper;
