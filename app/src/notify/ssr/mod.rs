//! Server side of notifications.

pub mod closing;
pub mod outbox;
pub mod telegram;
pub mod texts;
