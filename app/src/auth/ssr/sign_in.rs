//! Signing in with a login and password: validated, throttled, and logged
//! without the password.

use std::time::Instant;

use crate::auth::ssr::AuthSession;
use crate::auth::ssr::backend::Credentials;
use crate::error::{AppError, InvalidCode, limits};
use crate::infra::AppState;

/// Checks the login and password and starts a session for the staff member.
pub async fn sign_in(
    state: &AppState,
    auth: &mut AuthSession,
    login: &str,
    password: &str,
) -> Result<(), AppError> {
    let login = login.trim().to_lowercase();
    if login.is_empty() {
        return Err(AppError::invalid("login", InvalidCode::Required));
    }
    if password.is_empty() {
        return Err(AppError::invalid("password", InvalidCode::Required));
    }
    if login.chars().count() > limits::LOGIN_MAX || password.len() > limits::PASSWORD_MAX {
        return Err(AppError::BadCredentials);
    }
    if let Err(retry_after_secs) = state.login_throttle.check(&login, Instant::now()) {
        return Err(AppError::TooManyAttempts { retry_after_secs });
    }
    let user = auth
        .authenticate(Credentials {
            login: login.clone(),
            password: password.to_string(),
        })
        .await?;
    let Some(user) = user else {
        state.login_throttle.record_failure(&login, Instant::now());
        tracing::info!(login = %login, "failed sign-in");
        return Err(AppError::BadCredentials);
    };
    state.login_throttle.record_success(&login);
    auth.login(&user).await?;
    tracing::info!(login = %login, "signed in");
    Ok(())
}
