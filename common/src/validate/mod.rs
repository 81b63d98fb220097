//! Checks on names that come from users and end up in git, GitHub or a
//! process environment. Each returns a message that says what is wrong; the
//! caller adds which field it was.

mod env_name;
mod git_ref;
mod github_name;

pub use env_name::env_var_name;
pub use git_ref::branch_name;
pub use github_name::{repo_name, repo_owner};
