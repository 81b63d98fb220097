//! Hero's test kit: fresh databases, the API on a free port, and captured
//! logs. Later: fake E2B, fake GitHub and a git smart-HTTP server.

pub mod app;
pub mod db;
pub mod fake_e2b;
pub mod local_sandboxes;
pub mod logs;
pub mod sandbox_suite;

pub use app::TestApp;
pub use db::TestDb;
