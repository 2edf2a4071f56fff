//! The notification outbox: what the Telegram bot must send. A row is written
//! in the same transaction as the event it tells about, so a notice is never
//! lost nor sent for something that did not happen; the bot removes nothing,
//! it marks rows sent.

use sqlx::SqliteConnection;

use crate::error::AppError;
use crate::vocab::NotifyKind;

/// One notice for reception; `payload` carries what the text needs that the
/// database will not tell later (durations, the day's figures, snapshots).
pub struct Notice {
    pub kind: NotifyKind,
    pub branch_id: Option<i64>,
    pub client_id: Option<i64>,
    pub visit_id: Option<i64>,
    pub payload: serde_json::Value,
}

pub async fn enqueue(conn: &mut SqliteConnection, notice: Notice, t: i64) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO notification_outbox (kind, branch_id, client_id, visit_id, payload, created_at, next_attempt_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(notice.kind)
    .bind(notice.branch_id)
    .bind(notice.client_id)
    .bind(notice.visit_id)
    .bind(notice.payload.to_string())
    .bind(t)
    .bind(t)
    .execute(conn)
    .await?;
    Ok(())
}
