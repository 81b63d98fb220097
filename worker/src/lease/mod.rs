//! Sharing a bounded set of sandboxes among any number of workers through
//! the `sandboxes` table in Postgres.
//!
//! [`table`] holds the statements (atomic acquire, fenced writes, claims
//! for closing), [`pool`] the checkout a job does, [`reaper`] what the cron
//! does, and [`heartbeat`] keeps a lease alive during a long job.

pub mod heartbeat;
pub mod pool;
pub mod reaper;
pub mod table;

pub use heartbeat::Heartbeat;
pub use pool::{Checkout, PoolConfig, PoolError, SandboxPool};
pub use reaper::Reaped;
pub use table::{
    Busy, Claimed, Lease, LeaseError, LeaseStore, LeaseTable, PgLeaseTable, SandboxState,
};
