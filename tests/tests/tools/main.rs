//! The agent tools on a real git repository in a sandbox: local sandboxes
//! under bubblewrap for the whole tool set, and the file and shell tools
//! through the E2B client against the fake E2B.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod fixture;
mod git_and_packages;
mod hostile;
mod manifest;
mod redaction;
mod suite;

mod local {
    crate::tool_suite!(crate::fixture::Fixture::local().await);
}

mod e2b {
    crate::tool_suite!(crate::fixture::Fixture::e2b().await);
}
