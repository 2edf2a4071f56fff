//! The Telegram bot for reception: a task the server spawns when a token is
//! configured. It links staff chats (`/start CODE`), refuses unlinked chats,
//! answers commands and delivers the notification outbox.
//!
//! Work in progress (issue 7): linking, refusal, `/help` and outbox delivery
//! with retries are here; the report commands and the notification texts
//! per kind come next.

pub mod delivery;

use std::time::Duration;

use app::server::{AppState, Db, now};
use teloxide::prelude::*;
use teloxide::types::UpdateKind;

/// How long one getUpdates call waits for news (below the client's 17 s timeout).
const POLL_SECS: u32 = 10;

/// Where the bot talks to Telegram.
#[derive(Clone)]
pub struct BotConfig {
    pub token: String,
    pub api_url: Option<url::Url>,
}

/// Sends through teloxide.
struct TelegramSender(Bot);

impl delivery::Sender for TelegramSender {
    async fn send(&self, chat_id: i64, text: String) -> Result<(), String> {
        self.0
            .send_message(ChatId(chat_id), text)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

fn bot(config: &BotConfig) -> Bot {
    let bot = Bot::new(&config.token);
    match &config.api_url {
        Some(url) => bot.set_api_url(url.clone()),
        None => bot,
    }
}

/// Runs the bot until `shutdown` fires: polling for messages and delivering
/// the outbox side by side.
pub fn spawn(
    state: AppState,
    config: BotConfig,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let bot = bot(&config);
        let polling = poll(state.db.clone(), bot.clone());
        let delivering = deliver(state.db.clone(), TelegramSender(bot));
        tokio::select! {
            _ = polling => {}
            _ = delivering => {}
            _ = shutdown.changed() => tracing::info!("Telegram bot stopped"),
        }
    })
}

async fn deliver(db: Db, sender: TelegramSender) {
    loop {
        if let Err(error) = delivery::deliver_due(&db, &sender, render).await {
            tracing::warn!(%error, "cannot read the notification outbox");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A notification as text. (Per-kind texts in the recipient's language are
/// the next step; for now the kind and the payload.)
fn render(row: &delivery::Pending, _recipient: &delivery::Recipient) -> String {
    format!("{}: {}", row.kind, row.payload)
}

async fn poll(db: Db, bot: Bot) {
    let mut offset = 0;
    loop {
        match bot.get_updates().offset(offset).timeout(POLL_SECS).await {
            Ok(updates) => {
                for update in updates {
                    offset = update.id.as_offset();
                    if let UpdateKind::Message(message) = update.kind
                        && let Some(text) = message.text()
                    {
                        let reply = answer(&db, message.chat.id.0, text).await;
                        if let Err(error) = bot.send_message(message.chat.id, reply).await {
                            tracing::warn!(%error, "cannot answer a Telegram message");
                        }
                    }
                }
            }
            Err(teloxide::RequestError::RetryAfter(wait)) => {
                tokio::time::sleep(wait.duration()).await;
            }
            Err(error) => {
                tracing::warn!(%error, "Telegram getUpdates failed; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

/// The staff member linked to a chat, if any: (id, language).
async fn linked(db: &Db, chat_id: i64) -> Result<Option<(i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, language FROM staff WHERE telegram_chat_id = ? AND active = TRUE")
        .bind(chat_id)
        .fetch_optional(db.pool())
        .await
}

/// Links a chat to the staff member whose one-time code it sent.
async fn link(db: &Db, chat_id: i64, code: &str) -> Result<Option<String>, sqlx::Error> {
    let code = code.trim();
    if code.is_empty() || code.len() > 32 {
        return Ok(None);
    }
    let mut tx = db.begin_write().await?;
    let found: Option<(i64, String)> = sqlx::query_as(
        "SELECT id, full_name FROM staff WHERE telegram_link_code = ? AND telegram_link_expires_at > ? AND active = TRUE",
    )
    .bind(app::server::tokens::sha256_hex(code.as_bytes()))
    .bind(now())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id, name)) = found else {
        return Ok(None);
    };
    // A chat belongs to one staff member: unlink it from anyone else first.
    sqlx::query("UPDATE staff SET telegram_chat_id = NULL WHERE telegram_chat_id = ?")
        .bind(chat_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE staff SET telegram_chat_id = ?, telegram_link_code = NULL, telegram_link_expires_at = NULL WHERE id = ?",
    )
    .bind(chat_id)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(name))
}

/// The answer to one message from a chat.
pub async fn answer(db: &Db, chat_id: i64, text: &str) -> String {
    let mut words = text.split_whitespace();
    let command = words
        .next()
        .unwrap_or_default()
        .split('@')
        .next()
        .unwrap_or_default();
    let result = match command {
        "/start" => match words.next() {
            Some(code) => link(db, chat_id, code).await.map(|linked| match linked {
                Some(name) => format!(
                    "Linked: {name}. Notifications will arrive here. /help lists the commands."
                ),
                None => "This code is unknown or has expired. Get a new one on your profile page."
                    .to_string(),
            }),
            None => Ok(refusal()),
        },
        _ => match linked(db, chat_id).await {
            Ok(None) => Ok(refusal()),
            Ok(Some(_)) => Ok(help()),
            Err(error) => Err(error),
        },
    };
    result.unwrap_or_else(|error| {
        tracing::warn!(%error, "bot database error");
        "Something went wrong; please try again.".to_string()
    })
}

fn refusal() -> String {
    "Sorry, this bot serves the dealership's staff only. Link your chat with the code from your profile page: /start CODE".to_string()
}

fn help() -> String {
    "/today — today's visits, new, returning, test drives, sales\n/inside — who is in the showroom now\n\
     /client <phone or name> — a client's card\n/top — the hottest leads\n/stats week|month\n/help"
        .to_string()
}
