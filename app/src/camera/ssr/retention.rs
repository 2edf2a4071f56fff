//! How long unknown visitors' snapshots are kept, and the purge that enforces it.

use super::*;
use crate::error::{AppError, InvalidCode};
use crate::infra::Db;
use crate::infra::audit;
use crate::infra::files;
use crate::infra::now;
use std::path::Path;

/// Settings: days to keep unknown visitors' snapshots.
pub async fn retention_days(db: &Db) -> Result<i64, AppError> {
    let value: Option<String> = crate::db_run!(db, |c| sqlx::query_scalar(
        "SELECT value FROM settings WHERE key = 'snapshot_retention_days'"
    )
    .fetch_optional(c)
    .await)?;
    Ok(value
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_RETENTION_DAYS))
}

pub async fn set_retention_days(db: &Db, actor: i64, days: &str) -> Result<(), AppError> {
    let days: i64 = days
        .trim()
        .parse()
        .map_err(|_| AppError::invalid("days", InvalidCode::BadFormat))?;
    if !(1..=365).contains(&days) {
        return Err(AppError::invalid("days", InvalidCode::OutOfRange));
    }
    let mut tx = db.begin_write().await?;
    crate::db_run!(tx, |c| sqlx::query(
        "INSERT INTO settings (key, value) VALUES ('snapshot_retention_days', $1) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(days.to_string())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    audit::record(
        tx.backend(),
        Some(actor),
        "update",
        "snapshot_retention",
        None,
        Some(&days.to_string()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes unknown visitors' snapshots older than the retention period
/// (wrong matches staff corrected included), except faces still kept as a
/// client's "not them" example; returns how many went.
pub async fn purge_snapshots(db: &Db, data_dir: &Path) -> Result<usize, AppError> {
    let cutoff = now() - retention_days(db).await? * 86_400;
    let old: Vec<(i64, String)> = crate::db_run!(db, |c| {
        sqlx::query_as(
        "SELECT id, snapshot_path FROM camera_events WHERE client_id IS NULL \
         AND snapshot_path IS NOT NULL AND occurred_at < $1 \
         AND snapshot_path NOT IN (SELECT image_path FROM face_templates WHERE image_path IS NOT NULL) \
         LIMIT 1000",
    )
    .bind(cutoff)
    .fetch_all(c).await
    })?;
    if old.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin_write().await?;
    for (id, _) in &old {
        crate::db_run!(tx, |c| sqlx::query(
            "UPDATE camera_events SET snapshot_path = NULL WHERE id = $1"
        )
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    tx.commit().await?;
    // Files go after the rows no longer point at them.
    for (_, path) in &old {
        files::remove(data_dir, path);
    }
    Ok(old.len())
}
