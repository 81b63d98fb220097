//! GitHub webhooks: deliveries signed with the App's webhook secret start
//! the runs each project configured (see `WebhookTriggers`).
//!
//! A delivery is verified ([`signature`]) before anything in it is read,
//! parsed into the few events Hero acts on ([`events`]), recorded so a
//! redelivery does nothing, and turned into jobs and pull request updates
//! ([`triggers`]); the answer says what happened ([`report`]).

pub mod events;
pub mod report;
pub mod signature;
pub mod triggers;
