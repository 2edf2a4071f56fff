//! Delivers the notification outbox to linked staff, in order, each message
//! to each recipient once. A failed send leaves the row (and every later
//! row) for the next round, after a backoff that grows with the attempts.

use app::infra::Db;
use app::infra::files;
use app::infra::now;
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

/// A notification waiting to go out.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Pending {
    pub id: i64,
    pub kind: String,
    pub branch_id: Option<i64>,
    pub client_id: Option<i64>,
    pub visit_id: Option<i64>,
    pub payload: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub created_at: i64,
}

impl Pending {
    pub fn payload(&self) -> serde_json::Value {
        serde_json::from_str(&self.payload).unwrap_or_default()
    }
}

/// A linked staff member who wants this kind of notification.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Recipient {
    pub staff_id: i64,
    pub chat_id: i64,
    pub language: String,
}

async fn facts(db: &Db, row: &Pending) -> Result<Facts, sqlx::Error> {
    let mut facts: Facts = sqlx::query_as(
        "SELECT c.full_name AS name, c.phone, c.visit_count, c.photo_path,          (SELECT MAX(v.entered_at) FROM visits v WHERE v.client_id = c.id AND v.id IS NOT ?2) AS previous_visit,          (SELECT s.probability FROM client_scores s WHERE s.client_id = c.id) AS probability,          (SELECT m.brand || ' ' || m.name FROM car_models m WHERE m.id = c.car_model_id) AS car,          NULL AS branch, NULL AS utc_offset_minutes          FROM clients c WHERE c.id = ?1 AND c.erased_at IS NULL",
    )
    .bind(row.client_id)
    .bind(row.visit_id)
    .fetch_optional(db.pool())
    .await?
    .unwrap_or_default();
    if let Some(branch) = row.branch_id {
        let found: Option<(String, i64)> =
            sqlx::query_as("SELECT name, utc_offset_minutes FROM branches WHERE id = ?")
                .bind(branch)
                .fetch_optional(db.pool())
                .await?;
        if let Some((name, offset)) = found {
            facts.branch = Some(name);
            facts.utc_offset_minutes = Some(offset);
        }
    }
    Ok(facts)
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

/// The oldest unsent notifications, in the order they were queued.
async fn unsent(db: &Db) -> Result<Vec<Pending>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, kind, branch_id, client_id, visit_id, payload, attempts, next_attempt_at, created_at \
         FROM notification_outbox WHERE sent_at IS NULL ORDER BY id LIMIT 100",
    )
    .fetch_all(db.pool())
    .await
}

async fn recipients(db: &Db, row: &Pending) -> Result<Vec<Recipient>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.id AS staff_id, s.telegram_chat_id AS chat_id, s.language FROM staff s \
         WHERE s.active = TRUE AND s.telegram_chat_id IS NOT NULL \
         AND (s.branch_id IS NULL OR ?1 IS NULL OR s.branch_id = ?1) \
         AND (',' || s.notify_kinds || ',') LIKE ('%,' || ?2 || ',%') \
         AND NOT EXISTS (SELECT 1 FROM notification_deliveries d WHERE d.outbox_id = ?3 AND d.staff_id = s.id) \
         ORDER BY s.id",
    )
    .bind(row.branch_id)
    .bind(&row.kind)
    .bind(row.id)
    .fetch_all(db.pool())
    .await
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
    for row in unsent(db).await? {
        // Order matters more than speed: nothing overtakes a row still backing off.
        if row.next_attempt_at > t {
            break;
        }
        let facts = facts(db, &row).await?;
        for recipient in recipients(db, &row).await? {
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
                    sqlx::query(
                        "INSERT OR IGNORE INTO notification_deliveries (outbox_id, staff_id, sent_at) VALUES (?, ?, ?)",
                    )
                    .bind(row.id)
                    .bind(recipient.staff_id)
                    .bind(now())
                    .execute(db.pool())
                    .await?;
                    sent += 1;
                }
                Err(SendError::Recipient(error)) => {
                    // Unlinked, so it stops being tried; the staff member can link again.
                    sqlx::query("UPDATE staff SET telegram_chat_id = NULL WHERE id = ? AND telegram_chat_id = ?")
                        .bind(recipient.staff_id)
                        .bind(recipient.chat_id)
                        .execute(db.pool())
                        .await?;
                    db.note_write();
                    tracing::warn!(
                        staff = recipient.staff_id,
                        %error,
                        "Telegram chat refuses the bot; unlinked"
                    );
                }
                Err(SendError::Retry(error)) => {
                    let attempts = row.attempts + 1;
                    sqlx::query(
                        "UPDATE notification_outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
                    )
                    .bind(attempts)
                    .bind(now() + backoff(attempts))
                    .bind(error.chars().take(500).collect::<String>())
                    .bind(row.id)
                    .execute(db.pool())
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
        sqlx::query("UPDATE notification_outbox SET sent_at = ? WHERE id = ?")
            .bind(now())
            .bind(row.id)
            .execute(db.pool())
            .await?;
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
