//! Hero's GitHub forge, credentials and OAuth tokens against the fake
//! GitHub, and git over smart HTTP with the tokens they yield. Each test
//! starts its own fake on free ports with its own repositories; tests that
//! store OAuth tokens get their own database.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod end_to_end;
mod git;
mod installations;
mod oauth;
mod pipeline;
mod pulls;
mod repository;
mod retries;
mod support;
