//! What reception is told: the notification outbox, the bot's texts in each
//! language, and the closing-time summary.

#[cfg(feature = "ssr")]
pub mod ssr;

/// How the Telegram bot stands, for the settings page.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BotState {
    /// No token is configured: the server runs without the bot.
    #[default]
    Off,
    Connecting,
    Connected {
        username: String,
    },
    /// Telegram answered that the token is not valid.
    TokenRefused,
    /// Telegram (or the network to it) does not answer.
    Unreachable,
}
