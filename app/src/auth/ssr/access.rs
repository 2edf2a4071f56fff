//! Who may call what: every server function asks here.

use crate::error::AppError;
use crate::infra::AppState;

use super::{AuthSession, StaffUser};

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
        .map_err(AppError::internal)?;
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
