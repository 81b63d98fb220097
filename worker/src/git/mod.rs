//! Git inside a sandbox: hydrating a repository, its status, committing,
//! pushing and branching. Every command is built from validated refs and
//! quoted words (`--` or `--end-of-options` before anything from input), so
//! no user string can become a git option; tokens reach git only through
//! [`auth`], and only for commands that reach the forge ([`remote`]);
//! everything git prints passes the redactor.

pub mod auth;
mod command;
pub mod hydrate;
mod remote;
pub mod status;
pub mod sync;

pub use command::{Git, GitError};
pub use hydrate::{HydrateSpec, Hydrated, hydrate, manifest_at};
pub use status::GitStatus;
pub use sync::{SyncPolicy, Synced};
