//! A staff member's Telegram link: the one-time code for `/start CODE` and
//! the notification kinds they chose.

use crate::error::{AppError, InvalidCode};
use crate::infra::{Db, now, tokens};
use crate::profile::TelegramLink;
use crate::vocab::NotifyKind;

/// Whether `staff_id` has linked a chat, and the kinds they want.
pub async fn status(db: &Db, staff_id: i64) -> Result<TelegramLink, AppError> {
    let (chat, kinds): (Option<i64>, String) = crate::db_run!(db, |c| sqlx::query_as(
        "SELECT telegram_chat_id, notify_kinds FROM staff WHERE id = $1"
    )
    .bind(staff_id)
    .fetch_one(c)
    .await)?;
    Ok(TelegramLink {
        linked: chat.is_some(),
        kinds: kinds.split(',').filter_map(NotifyKind::parse).collect(),
    })
}

/// A new one-time code (valid 15 minutes); only its hash is stored.
pub async fn new_code(db: &Db, staff_id: i64) -> Result<String, AppError> {
    let code = crate::settings::ssr::devices::new_code();
    let mut tx = db.begin_write().await?;
    crate::db_run!(tx, |c| sqlx::query(
        "UPDATE staff SET telegram_link_code = $1, telegram_link_expires_at = $2 WHERE id = $3",
    )
    .bind(tokens::sha256_hex(code.as_bytes()))
    .bind(now() + 15 * 60)
    .bind(staff_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(code)
}

/// Saves the chosen kinds in the page's order; unknown kinds are refused.
pub async fn save_kinds(db: &Db, staff_id: i64, kinds: &[String]) -> Result<(), AppError> {
    let kinds = kinds
        .iter()
        .map(|k| NotifyKind::parse(k))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| AppError::invalid("kind", InvalidCode::UnknownValue))?;
    let chosen: Vec<&str> = NotifyKind::ALL
        .into_iter()
        .filter(|k| kinds.contains(k))
        .map(NotifyKind::as_str)
        .collect();
    let mut tx = db.begin_write().await?;
    crate::db_run!(tx, |c| sqlx::query(
        "UPDATE staff SET notify_kinds = $1 WHERE id = $2"
    )
    .bind(chosen.join(","))
    .bind(staff_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(())
}
