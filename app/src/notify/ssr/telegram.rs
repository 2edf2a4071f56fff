//! Telegram chats linked to staff: who a chat belongs to, linking with a
//! one-time code (`/start CODE`), and unlinking a chat that refuses the bot.

use crate::infra::Db;
use crate::infra::now;
use crate::infra::tokens::sha256_hex;

/// The active staff member linked to a chat, if any; the bot admits them
/// through the same access rules as the web and the API.
pub async fn linked_staff(
    db: &Db,
    chat_id: i64,
) -> Result<Option<crate::auth::ssr::StaffUser>, sqlx::Error> {
    crate::db_run!(db, |c| sqlx::query_as(
        "SELECT id, login, full_name, role, branch_id, language, password_hash FROM staff \
         WHERE telegram_chat_id = $1 AND active = TRUE",
    )
    .bind(chat_id)
    .fetch_optional(c)
    .await)
}

/// Links a chat to the staff member whose one-time code it sent: (full name,
/// language), or None for an unknown or expired code.
pub async fn link_chat(
    db: &Db,
    chat_id: i64,
    code: &str,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let code = code.trim();
    if code.is_empty() || code.len() > 32 {
        return Ok(None);
    }
    let mut tx = db.begin_write().await?;
    let found: Option<(i64, String, String)> = crate::db_run!(tx, |c| {
        sqlx::query_as(
        "SELECT id, full_name, language FROM staff WHERE telegram_link_code = $1 AND telegram_link_expires_at > $2 AND active = TRUE",
    )
    .bind(sha256_hex(code.as_bytes()))
    .bind(now())
    .fetch_optional(c).await
    })?;
    let Some((id, name, language)) = found else {
        return Ok(None);
    };
    // A chat belongs to one staff member: unlink it from anyone else first.
    crate::db_run!(tx, |c| sqlx::query(
        "UPDATE staff SET telegram_chat_id = NULL WHERE telegram_chat_id = $1"
    )
    .bind(chat_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    crate::db_run!(tx, |c| {
        sqlx::query(
        "UPDATE staff SET telegram_chat_id = $1, telegram_link_code = NULL, telegram_link_expires_at = NULL WHERE id = $2",
    )
    .bind(chat_id)
    .bind(id)
    .execute(c).await.map(|r| r.rows_affected())
    })?;
    tx.commit().await?;
    Ok(Some((name, language)))
}

/// Unlinks a chat that will never take messages, so it stops being tried;
/// the staff member can link again.
pub async fn unlink_refusing_chat(db: &Db, staff_id: i64, chat_id: i64) -> Result<(), sqlx::Error> {
    crate::db_run!(db, |c| sqlx::query(
        "UPDATE staff SET telegram_chat_id = NULL WHERE id = $1 AND telegram_chat_id = $2"
    )
    .bind(staff_id)
    .bind(chat_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    db.note_write();
    Ok(())
}
