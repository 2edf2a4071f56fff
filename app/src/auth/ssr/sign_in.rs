//! Signing in with a login and password: validated, throttled, and logged
//! without the password.

use std::net::{IpAddr, SocketAddr};

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
    address: Option<IpAddr>,
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
    let attempt = state
        .login_throttle
        .begin(&login, address)
        .await
        .map_err(|retry_after_secs| AppError::TooManyAttempts { retry_after_secs })?;
    let user = auth
        .authenticate(Credentials {
            login: login.clone(),
            password: password.to_string(),
        })
        .await?;
    // Logged with `?` so a login holding a line break cannot forge log lines.
    let Some(user) = user else {
        state.login_throttle.failed(attempt);
        tracing::info!(login = ?login, address = ?address, "failed sign-in");
        return Err(AppError::BadCredentials);
    };
    state.login_throttle.succeeded(attempt);
    // A new session id on every sign-in, also over a session that was
    // signed in already (axum-login keeps the id then): no fixation.
    auth.session.cycle_id().await.map_err(AppError::internal)?;
    auth.login(&user).await?;
    tracing::info!(login = ?login, "signed in");
    Ok(())
}

/// The address a request came from, when the server knows it (it always does
/// when serving; requests built in tests may not carry one).
pub fn client_address(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
}
