//! The notification outbox: what the Telegram bot must send. A row is written
//! in the same transaction as the event it tells about, so a notice is never
//! lost nor sent for something that did not happen; the bot removes nothing,
//! it marks rows sent (and each recipient's delivery, so none gets it twice).

use crate::error::AppError;
use crate::infra::Db;
use crate::notify::ssr::texts::Facts;
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

pub async fn enqueue(
    mut conn: crate::infra::db::Conn<'_>,
    notice: Notice,
    t: i64,
) -> Result<(), AppError> {
    crate::db_run!(conn, |c| {
        sqlx::query(
        "INSERT INTO notification_outbox (kind, branch_id, client_id, visit_id, payload, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(notice.kind)
    .bind(notice.branch_id)
    .bind(notice.client_id)
    .bind(notice.visit_id)
    .bind(notice.payload.to_string())
    .bind(t)
    .bind(t)
    .execute(c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
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

/// The oldest unsent notifications, in the order they were queued.
pub async fn unsent(db: &Db) -> Result<Vec<Pending>, sqlx::Error> {
    crate::db_run!(db, |c| {
        sqlx::query_as(
        "SELECT id, kind, branch_id, client_id, visit_id, payload, attempts, next_attempt_at, created_at \
         FROM notification_outbox WHERE sent_at IS NULL ORDER BY id LIMIT 100",
    )
    .fetch_all(c).await
    })
}

/// What the text of `row` says about its client and branch, as they are now.
pub async fn facts(db: &Db, row: &Pending) -> Result<Facts, sqlx::Error> {
    let mut facts: Facts = crate::db_run!(db, |c| sqlx::query_as(
        "SELECT c.full_name AS name, c.phone, c.visit_count, c.photo_path,          (SELECT MAX(v.entered_at) FROM visits v WHERE v.client_id = c.id AND v.id IS DISTINCT FROM $2) AS previous_visit,          (SELECT s.probability FROM client_scores s WHERE s.client_id = c.id) AS probability,          (SELECT m.brand || ' ' || m.name FROM car_models m WHERE m.id = c.car_model_id) AS car,          CAST(NULL AS TEXT) AS branch, CAST(NULL AS BIGINT) AS utc_offset_minutes          FROM clients c WHERE c.id = $1 AND c.erased_at IS NULL",
    )
    .bind(row.client_id)
    .bind(row.visit_id)
    .fetch_optional(c).await)?
    .unwrap_or_default();
    if let Some(branch) = row.branch_id {
        let found: Option<(String, i64)> = crate::db_run!(db, |c| sqlx::query_as(
            "SELECT name, CAST(utc_offset_minutes AS BIGINT) FROM branches WHERE id = $1"
        )
        .bind(branch)
        .fetch_optional(c)
        .await)?;
        if let Some((name, offset)) = found {
            facts.branch = Some(name);
            facts.utc_offset_minutes = Some(offset);
        }
    }
    Ok(facts)
}

/// Linked staff who want `row` and have not had it yet.
pub async fn recipients(db: &Db, row: &Pending) -> Result<Vec<Recipient>, sqlx::Error> {
    crate::db_run!(db, |c| {
        sqlx::query_as(
        "SELECT s.id AS staff_id, s.telegram_chat_id AS chat_id, s.language FROM staff s \
         WHERE s.active = TRUE AND s.telegram_chat_id IS NOT NULL \
         AND (s.branch_id IS NULL OR $1 IS NULL OR s.branch_id = $1) \
         AND (',' || s.notify_kinds || ',') LIKE ('%,' || $2 || ',%') \
         AND NOT EXISTS (SELECT 1 FROM notification_deliveries d WHERE d.outbox_id = $3 AND d.staff_id = s.id) \
         ORDER BY s.id",
    )
    .bind(row.branch_id)
    .bind(&row.kind)
    .bind(row.id)
    .fetch_all(c).await
    })
}

/// Notes that one recipient got the notification, so it never goes twice.
pub async fn mark_delivered(
    db: &Db,
    outbox_id: i64,
    staff_id: i64,
    t: i64,
) -> Result<(), sqlx::Error> {
    crate::db_run!(db, |c| {
        sqlx::query(
        "INSERT INTO notification_deliveries (outbox_id, staff_id, sent_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(outbox_id)
    .bind(staff_id)
    .bind(t)
    .execute(c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// A failed send: the row waits until `next_attempt_at`, with the reason kept.
pub async fn postpone(
    db: &Db,
    outbox_id: i64,
    attempts: i64,
    next_attempt_at: i64,
    error: &str,
) -> Result<(), sqlx::Error> {
    crate::db_run!(db, |c| {
        sqlx::query(
        "UPDATE notification_outbox SET attempts = $1, next_attempt_at = $2, last_error = $3 WHERE id = $4",
    )
    .bind(attempts)
    .bind(next_attempt_at)
    .bind(error.chars().take(500).collect::<String>())
    .bind(outbox_id)
    .execute(c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Telegram answers again: everything waiting out a backoff is due now,
/// so a short outage does not hold notifications back for minutes.
pub async fn due_now(db: &Db, t: i64) -> Result<u64, sqlx::Error> {
    Ok(crate::db_run!(db, |c| {
        sqlx::query(
        "UPDATE notification_outbox SET next_attempt_at = $1 WHERE sent_at IS NULL AND next_attempt_at > $2",
    )
    .bind(t)
    .bind(t)
    .execute(c).await.map(|r| r.rows_affected())
    })?)
}

/// Every recipient has the notification: it leaves the queue.
pub async fn mark_sent(db: &Db, outbox_id: i64, t: i64) -> Result<(), sqlx::Error> {
    crate::db_run!(db, |c| sqlx::query(
        "UPDATE notification_outbox SET sent_at = $1 WHERE id = $2"
    )
    .bind(t)
    .bind(outbox_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
