//! Hero's test kit: fresh databases, the API on a free port, captured
//! logs, a fake E2B, a fake GitHub, a git smart-HTTP server, and a
//! stand-in for a worker that moves jobs to an end, and a read-back of
//! everything a run left, for finding leaked tokens.

pub mod app;
pub mod cluster;
pub mod db;
pub mod fake_e2b;
pub mod fake_github;
pub mod git_http;
pub mod hero_env;
pub mod job_runner;
pub mod local_repos;
pub mod local_sandboxes;
pub mod logs;
pub mod sandbox_suite;
pub mod traces;

pub use app::TestApp;
pub use db::TestDb;
