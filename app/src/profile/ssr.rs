//! A staff member changes their own password: the current one is checked
//! like a sign-in (bounded, throttled), the new one typed twice.

use std::net::IpAddr;

use axum_login::AuthnBackend;

use crate::auth::ssr::AuthSession;
use crate::error::{AppError, InvalidCode, limits};
use crate::infra::{AppState, audit, now, password};

pub struct PasswordChange<'a> {
    pub current: &'a str,
    pub new: &'a str,
    pub repeat: &'a str,
}

/// Checks and stores the new password. Sessions carry the password's hash,
/// so every other session of this account ends; this one is renewed.
pub async fn change_password(
    state: &AppState,
    auth: &mut AuthSession,
    change: PasswordChange<'_>,
    address: Option<IpAddr>,
) -> Result<(), AppError> {
    let user = auth.user.clone().ok_or(AppError::Unauthorized)?;
    if change.current.is_empty() {
        return Err(AppError::invalid("current_password", InvalidCode::Required));
    }
    if change.current.len() > limits::PASSWORD_MAX {
        return Err(AppError::invalid("current_password", InvalidCode::Wrong));
    }
    crate::settings::ssr::staff::validate_password(change.new)
        .map_err(|e| rename_field(e, "new_password"))?;
    if change.repeat != change.new {
        return Err(AppError::invalid("repeat_password", InvalidCode::Mismatch));
    }
    let attempt = state
        .login_throttle
        .begin(&user.login, address)
        .await
        .map_err(|retry_after_secs| AppError::TooManyAttempts { retry_after_secs })?;
    let stored: Option<String> = crate::db_run!(state.db, |c| sqlx::query_scalar(
        "SELECT password_hash FROM staff WHERE id = $1 AND active = TRUE"
    )
    .bind(user.id)
    .fetch_optional(c)
    .await)?;
    if !state
        .password_checks
        .verify(change.current.to_string(), stored)
        .await?
    {
        state.login_throttle.failed(attempt);
        tracing::info!(login = ?user.login, "wrong current password on a password change");
        return Err(AppError::invalid("current_password", InvalidCode::Wrong));
    }
    state.login_throttle.succeeded(attempt);
    let hash = password::hash(change.new.to_string()).await?;
    let mut tx = state.db.begin_write().await?;
    crate::db_run!(tx, |c| sqlx::query(
        "UPDATE staff SET password_hash = $1, updated_at = $2 WHERE id = $3"
    )
    .bind(hash)
    .bind(now())
    .bind(user.id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    audit::record(
        tx.backend(),
        Some(user.id),
        "change_own_password",
        "staff",
        Some(user.id),
        None,
    )
    .await?;
    tx.commit().await?;
    let renewed = auth
        .backend
        .get_user(&user.id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    auth.session.cycle_id().await.map_err(AppError::internal)?;
    auth.login(&renewed).await?;
    Ok(())
}

fn rename_field(error: AppError, field: &str) -> AppError {
    match error {
        AppError::Invalid { code, .. } => AppError::invalid(field, code),
        other => other,
    }
}
