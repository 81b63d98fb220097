//! Hydrate and sync on real git: a bare "origin" repository on this
//! machine, cloned into a local sandbox.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod fixture;
mod hydrate;
mod planted_config;
mod sync;
