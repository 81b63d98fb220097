//! The local forge end to end: bare repositories under the data directory,
//! served by `hero-api` over git's smart HTTP with per-repository tokens,
//! hydrated into a sandbox under bubblewrap, synced, and turned into
//! exactly one pull request kept in Postgres.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod fixture;
mod pulls;
mod serving;
