//! Hero's E2B client against the fake E2B: the shared provider suite, then
//! every operation and the ways E2B fails (rate limits, dead sandboxes,
//! broken and silent streams, wrong credentials). Each test starts its own
//! fake on a free port with its own sandbox directory.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod control;
mod envd;
mod retries;
mod secrets;
mod settings;
mod streams;
mod support;

mod suite {
    use crate::support::Env;

    hero_tests::sandbox_suite!(Env::start().await);
}
