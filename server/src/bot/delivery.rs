//! Delivers the notification outbox to linked staff, in order, each message
//! to each recipient once. A failed send leaves the row (and every later
//! row) for the next round, after a backoff that grows with the attempts.

use app::infra::Db;
use app::infra::files;
use app::infra::now;
use app::notify::ssr::outbox::{self, Pending, Recipient};
use app::notify::ssr::telegram;
use app::notify::ssr::texts::Facts;
use std::path::{Path, PathBuf};

/// A message ready to go: text, and a photo to send it as a caption of.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub text: String,
    pub photo: Option<PathBuf>,
}

/// Why a message did not go out.
#[derive(Debug, Clone)]
pub enum SendError {
    /// Telegram or the network failed: retry the row later, in order.
    Retry(String),
    /// This chat will never take messages (the bot was blocked, the chat is
    /// gone): retrying would hold up everyone else's notifications.
    Recipient(String),
}

/// What one round of delivery needs from Telegram.
pub trait Sender {
    fn send(
        &self,
        chat_id: i64,
        text: String,
    ) -> impl std::future::Future<Output = Result<(), SendError>> + Send;
    fn send_photo(
        &self,
        chat_id: i64,
        jpeg: Vec<u8>,
        caption: String,
    ) -> impl std::future::Future<Output = Result<(), SendError>> + Send;
}

/// The picture that goes with a notification: the unknown visitor's
/// snapshot, or the client's own photo.
pub fn photo_of(row: &Pending, facts: &Facts, data_dir: &Path) -> Option<PathBuf> {
    let stored = match row.kind.as_str() {
        "unknown_visitor" => row
            .payload()
            .get("snapshot")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        "new_client" | "returning_client" | "hot_lead" => facts.photo_path.clone(),
        _ => None,
    }?;
    files::resolve(data_dir, &stored)
}

/// Seconds to wait after `attempts` failures: 2, 4, 8 … up to five minutes.
pub fn backoff(attempts: i64) -> i64 {
    2i64.saturating_pow(attempts.clamp(1, 20) as u32).min(300)
}

/// One round: sends what is due, in outbox order. Returns how many messages
/// went out; stops at the first failure so later rows never overtake it.
pub async fn deliver_due<S: Sender>(
    db: &Db,
    sender: &S,
    render: impl Fn(&Pending, &Facts, &Recipient) -> Outgoing,
) -> Result<usize, sqlx::Error> {
    let t = now();
    let mut sent = 0;
    for row in outbox::unsent(db).await? {
        // Order matters more than speed: nothing overtakes a row still backing off.
        if row.next_attempt_at > t {
            break;
        }
        let facts = outbox::facts(db, &row).await?;
        for recipient in outbox::recipients(db, &row).await? {
            let outgoing = render(&row, &facts, &recipient);
            // A photo that went missing (purged, erased) leaves the text.
            let photo = match &outgoing.photo {
                Some(path) => tokio::fs::read(path).await.ok(),
                None => None,
            };
            let result = match photo {
                Some(jpeg) => {
                    sender
                        .send_photo(recipient.chat_id, jpeg, outgoing.text)
                        .await
                }
                None => sender.send(recipient.chat_id, outgoing.text).await,
            };
            match result {
                Ok(()) => {
                    outbox::mark_delivered(db, row.id, recipient.staff_id, now()).await?;
                    sent += 1;
                }
                Err(SendError::Recipient(error)) => {
                    telegram::unlink_refusing_chat(db, recipient.staff_id, recipient.chat_id)
                        .await?;
                    tracing::warn!(
                        staff = recipient.staff_id,
                        %error,
                        "Telegram chat refuses the bot; unlinked"
                    );
                }
                Err(SendError::Retry(error)) => {
                    let attempts = row.attempts + 1;
                    outbox::postpone(db, row.id, attempts, now() + backoff(attempts), &error)
                        .await?;
                    tracing::warn!(
                        outbox = row.id,
                        attempts,
                        "Telegram delivery failed; will retry"
                    );
                    return Ok(sent);
                }
            }
        }
        outbox::mark_sent(db, row.id, now()).await?;
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), 2);
        assert_eq!(backoff(1), 2);
        assert_eq!(backoff(3), 8);
        assert_eq!(backoff(9), 300);
        assert_eq!(backoff(1_000), 300);
    }
}
