//! Server-only code: database access, password hashing, sessions and the
//! state shared by server functions and the REST API. Never part of the WASM build.

pub mod audit;
pub mod auth_backend;
pub mod bot_texts;
pub mod branches;
pub mod camera;
pub mod charts;
pub mod clients;
pub mod closing;
pub mod dashboard;
pub mod db;
pub mod devices;
pub mod documents;
pub mod files;
pub mod kiosk;
pub mod outbox;
pub mod password;
pub mod potential;
pub mod privacy;
pub mod sales;
pub mod scoring;
pub mod staff;
pub mod state;
pub mod stats;
pub mod throttle;
pub mod time_zones;
pub mod tokens;
pub mod visits;

pub use auth_backend::{AuthSession, StaffBackend, StaffUser};
pub use db::Db;
pub use state::AppState;

use crate::error::AppError;

/// The state handed to server functions through Leptos context.
pub fn app_state() -> Result<AppState, AppError> {
    leptos::prelude::use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the Leptos context");
        AppError::Internal
    })
}

/// The signed-in staff member of the current request, or `Unauthorized`.
pub async fn require_user() -> Result<StaffUser, AppError> {
    let auth = leptos_axum::extract::<AuthSession>()
        .await
        .map_err(|_| AppError::Internal)?;
    auth.user.ok_or(AppError::Unauthorized)
}

/// Like [`require_user`], and the user must hold one of `roles`.
pub async fn require_role(roles: &[crate::auth::Role]) -> Result<StaffUser, AppError> {
    let user = require_user().await?;
    if roles.contains(&user.role) {
        Ok(user)
    } else {
        Err(AppError::Forbidden)
    }
}

/// Unix seconds now.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
