//! Server side of notifications.

pub mod closing;
pub mod outbox;
pub mod texts;
