//! The lease table against real Postgres: races between many tasks,
//! takeover, fencing, capacity, eviction and the reaper.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod capacity;
mod fixture;
mod leases;
mod reaper;
