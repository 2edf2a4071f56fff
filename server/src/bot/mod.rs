//! The Telegram bot for reception: a task the server spawns when a token is
//! configured. It links staff chats (`/start CODE`), refuses unlinked chats,
//! answers commands and delivers the notification outbox.
//! Telegram's rate limits are kept by teloxide's `Throttle` adaptor.

pub mod delivery;

use app::auth::ssr::{Need, admit};
use app::infra::AppState;
use app::infra::Db;
use app::infra::now;
use app::notify::BotState;
use app::notify::ssr::outbox::{Pending, Recipient};
use app::notify::ssr::telegram;
use app::notify::ssr::texts;
use std::path::PathBuf;
use std::time::Duration;
use teloxide::adaptors::Throttle;
use teloxide::adaptors::throttle::Limits;
use teloxide::prelude::*;
use teloxide::types::{InputFile, UpdateKind};

/// The bot as the task uses it: every request paced to Telegram's limits.
type TgBot = Throttle<Bot>;

/// How long one getUpdates call waits for news (below the client's 17 s timeout).
const POLL_SECS: u32 = 10;

/// Where the bot talks to Telegram.
#[derive(Clone)]
pub struct BotConfig {
    pub token: String,
    pub api_url: Option<url::Url>,
}

/// Sends through teloxide.
struct TelegramSender(TgBot);

/// Errors that mean the chat itself will never take messages, as opposed
/// to Telegram or the network failing for a while.
fn classify(error: teloxide::RequestError) -> delivery::SendError {
    use teloxide::ApiError as E;
    match &error {
        teloxide::RequestError::Api(
            E::BotBlocked
            | E::ChatNotFound
            | E::UserDeactivated
            | E::BotKicked
            | E::BotKickedFromSupergroup
            | E::BotKickedFromChannel
            | E::CantInitiateConversation,
        ) => delivery::SendError::Recipient(error.to_string()),
        _ => delivery::SendError::Retry(error.to_string()),
    }
}

impl delivery::Sender for TelegramSender {
    async fn send(&self, chat_id: i64, text: String) -> Result<(), delivery::SendError> {
        self.0
            .send_message(ChatId(chat_id), text)
            .await
            .map(|_| ())
            .map_err(classify)
    }

    async fn send_photo(
        &self,
        chat_id: i64,
        jpeg: Vec<u8>,
        caption: String,
    ) -> Result<(), delivery::SendError> {
        self.0
            .send_photo(
                ChatId(chat_id),
                InputFile::memory(jpeg).file_name("photo.jpg"),
            )
            .caption(caption)
            .await
            .map(|_| ())
            .map_err(classify)
    }
}

fn bot(config: &BotConfig) -> TgBot {
    let bot = Bot::new(&config.token);
    let bot = match &config.api_url {
        Some(url) => bot.set_api_url(url.clone()),
        None => bot,
    };
    bot.throttle(Limits::default())
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
        let polling = poll(state.db.clone(), bot.clone(), state.bot.clone());
        let delivering = deliver(
            state.db.clone(),
            state.data_dir.to_path_buf(),
            TelegramSender(bot),
        );
        tokio::select! {
            _ = polling => {}
            _ = delivering => {}
            _ = shutdown.changed() => tracing::info!("Telegram bot stopped"),
        }
    })
}

async fn deliver(db: Db, data_dir: PathBuf, sender: TelegramSender) {
    loop {
        let render =
            |row: &Pending, facts: &texts::Facts, recipient: &Recipient| delivery::Outgoing {
                text: texts::notification(
                    texts::locale(&recipient.language),
                    &row.kind,
                    &row.payload(),
                    facts,
                    row.created_at,
                ),
                photo: delivery::photo_of(row, facts, &data_dir),
            };
        if let Err(error) = delivery::deliver_due(&db, &sender, render).await {
            tracing::warn!(%error, "cannot read the notification outbox");
        }
        // Woken by the next write (a new notice goes out at once); the
        // timeout picks up rows whose backoff has run out.
        let _ = tokio::time::timeout(Duration::from_secs(1), db.written()).await;
    }
}

/// Waits after a failure: short for a network hiccup, long when Telegram
/// refused the token (it will not change until the operator fixes it).
const RETRY_FIRST: Duration = Duration::from_secs(2);
const RETRY_MAX: Duration = Duration::from_secs(60);
const REFUSED_FIRST: Duration = Duration::from_secs(30);
const REFUSED_MAX: Duration = Duration::from_secs(15 * 60);

type SharedState = std::sync::Arc<std::sync::RwLock<BotState>>;

/// Records the bot's state; says so in the log once per change, not once
/// per attempt.
fn set_state(shared: &SharedState, new: BotState, error: Option<&teloxide::RequestError>) {
    let mut state = shared.write().unwrap_or_else(|p| p.into_inner());
    if *state == new {
        return;
    }
    match (&new, error) {
        (BotState::Connected { username }, _) => {
            tracing::info!(%username, "Telegram bot connected")
        }
        (BotState::TokenRefused, _) => tracing::error!(
            "Telegram refused the bot token (TELEGRAM_BOT_TOKEN); the bot retries rarely until it is fixed"
        ),
        (_, Some(error)) => {
            tracing::warn!(%error, "Telegram does not answer; the bot keeps retrying")
        }
        _ => {}
    }
    *state = new;
}

fn is_token_refused(error: &teloxide::RequestError) -> bool {
    matches!(
        error,
        teloxide::RequestError::Api(teloxide::ApiError::InvalidToken)
    )
}

async fn poll(db: Db, bot: TgBot, shared: SharedState) {
    let mut offset = 0;
    let mut wait = RETRY_FIRST;
    set_state(&shared, BotState::Connecting, None);
    loop {
        // Who we are, until Telegram has said it once.
        if !matches!(
            *shared.read().unwrap_or_else(|p| p.into_inner()),
            BotState::Connected { .. }
        ) {
            match bot.get_me().await {
                Ok(me) => {
                    let username = me.username.clone().unwrap_or_default();
                    set_state(&shared, BotState::Connected { username }, None);
                    wait = RETRY_FIRST;
                    // Back after an outage: what waited goes out now, in order.
                    match app::notify::ssr::outbox::due_now(&db, app::infra::now()).await {
                        Ok(0) => {}
                        Ok(n) => {
                            tracing::info!(n, "Telegram answers again; sending what waited");
                        }
                        Err(error) => tracing::warn!(%error, "cannot read the notification outbox"),
                    }
                }
                Err(error) => {
                    wait = after_failure(&shared, &error, wait).await;
                    continue;
                }
            }
        }
        match bot.get_updates().offset(offset).timeout(POLL_SECS).await {
            Ok(updates) => {
                wait = RETRY_FIRST;
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
                wait = after_failure(&shared, &error, wait).await;
            }
        }
    }
}

/// Notes a failed call, waits, and returns the next wait (doubling).
async fn after_failure(
    shared: &SharedState,
    error: &teloxide::RequestError,
    wait: Duration,
) -> Duration {
    let (state, first, max) = if is_token_refused(error) {
        (BotState::TokenRefused, REFUSED_FIRST, REFUSED_MAX)
    } else {
        (BotState::Unreachable, RETRY_FIRST, RETRY_MAX)
    };
    set_state(shared, state, Some(error));
    let wait = wait.max(first);
    tokio::time::sleep(wait).await;
    (wait * 2).min(max)
}

/// The answer to one message from a chat.
pub async fn answer(db: &Db, chat_id: i64, text: &str) -> String {
    let mut words = text.split_whitespace();
    let command = words
        .next()
        .unwrap_or_default()
        .split('@')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let result: Result<String, sqlx::Error> = async {
        if command == "/start" {
            let Some(code) = words.next() else {
                return Ok(match telegram::linked_staff(db, chat_id).await? {
                    Some(user) => texts::help(texts::locale(&user.language)),
                    None => texts::refusal(),
                });
            };
            return Ok(match telegram::link_chat(db, chat_id, code).await? {
                Some((name, language)) => texts::linked(texts::locale(&language), &name),
                None => texts::unknown_code(app::i18n::Locale::uz),
            });
        }
        let Some(user) = telegram::linked_staff(db, chat_id).await? else {
            return Ok(texts::refusal());
        };
        let l = texts::locale(&user.language);
        // The same rule book as the web and the API: reports of a branch for
        // reception, rankings and statistics for managers only.
        let need = match command.as_str() {
            "/top" | "/stats" => Need::Manager,
            _ => Need::Staff,
        };
        let Ok(caller) = admit(user, need) else {
            return Ok(texts::forbidden(l));
        };
        let branch = caller.scope.branch();
        Ok(match command.as_str() {
            "/help" => texts::help(l),
            "/today" | "/inside" => match app::dashboard::ssr::overview(db, branch, now()).await {
                Ok(o) if command == "/today" => texts::today(l, &o),
                Ok(o) => texts::inside(l, &o),
                Err(error) => texts::report_failed(l, &error),
            },
            "/client" | "/top" | "/stats" => {
                let rest: Vec<&str> = words.collect();
                let report = match command.as_str() {
                    "/client" => {
                        texts::reports::client(db, l, branch, &rest.join(" "), now()).await
                    }
                    "/top" => texts::reports::top(db, l, branch, now()).await,
                    _ => {
                        texts::reports::stats(
                            db,
                            l,
                            branch,
                            rest.first().copied().unwrap_or(""),
                            now(),
                        )
                        .await
                    }
                };
                report.unwrap_or_else(|error| texts::report_failed(l, &error))
            }
            _ => texts::unknown_command(l),
        })
    }
    .await;
    result.unwrap_or_else(|error| {
        tracing::warn!(%error, "bot database error");
        texts::failed()
    })
}
