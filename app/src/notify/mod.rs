//! What reception is told: the notification outbox, the bot's texts in each
//! language, and the closing-time summary.

#[cfg(feature = "ssr")]
pub mod ssr;
