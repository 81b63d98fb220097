//! The tools an AI agent calls inside a sandbox.

pub mod guard;
