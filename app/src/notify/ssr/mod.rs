//! Server side of notifications.

pub mod closing;
pub mod links;
pub mod outbox;
pub mod telegram;
pub mod texts;
