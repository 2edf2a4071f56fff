//! Who is signed in: roles, the current user, sign-in and sign-out.

#[cfg(feature = "ssr")]
pub mod ssr;

mod login_page;

pub use login_page::LoginPage;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
pub use crate::vocab::Role;

/// The signed-in staff member, as pages see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub login: String,
    pub full_name: String,
    pub role: Role,
    pub branch_id: Option<i64>,
}

/// The signed-in user, or `None` for an anonymous visitor.
#[server(prefix = "/rpc")]
pub async fn get_current_user() -> Result<Option<CurrentUser>, AppError> {
    let auth = leptos_axum::extract::<crate::auth::ssr::AuthSession>()
        .await
        .map_err(AppError::internal)?;
    Ok(auth.user.map(|u| CurrentUser {
        id: u.id,
        login: u.login,
        full_name: u.full_name,
        role: u.role,
        branch_id: u.branch_id,
    }))
}

/// Signs in with a login and password; slowed down after repeated failures.
#[server(prefix = "/rpc")]
pub async fn sign_in(login: String, password: String) -> Result<(), AppError> {
    let mut auth = leptos_axum::extract::<crate::auth::ssr::AuthSession>()
        .await
        .map_err(AppError::internal)?;
    let state = crate::auth::ssr::app_state()?;
    let address = use_context::<axum::http::request::Parts>()
        .and_then(|parts| crate::auth::ssr::client_address(&parts.extensions));
    crate::auth::ssr::sign_in(&state, &mut auth, &login, &password, address).await
}

#[server(prefix = "/rpc")]
pub async fn sign_out() -> Result<(), AppError> {
    let mut auth = leptos_axum::extract::<crate::auth::ssr::AuthSession>()
        .await
        .map_err(AppError::internal)?;
    auth.logout().await?;
    Ok(())
}

/// The current user, loaded once per page and shared through context.
pub type UserResource = Resource<Result<Option<CurrentUser>, AppError>>;

pub fn use_user() -> UserResource {
    expect_context::<UserResource>()
}
