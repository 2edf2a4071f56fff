//! `POST /api/login`, `POST /api/logout`, `GET /api/me`: the session cookie
//! for API clients and scripts.

use app::auth::ssr::AuthSession;
use app::error::{AppError, InvalidCode};
use app::infra::AppState;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::routes::{Access, Admitted, Routes};
use app::auth::ssr::Need;
use axum::http::Method;

pub fn routes() -> Routes {
    Routes::new()
        .route(Method::POST, "/login", Access::Anyone, post(login))
        .route(
            Method::POST,
            "/logout",
            Access::Staff(Need::Staff),
            post(logout),
        )
        .route(Method::GET, "/me", Access::Staff(Need::Staff), get(me))
}

#[derive(Deserialize)]
pub struct LoginBody {
    login: String,
    password: String,
}

#[derive(Serialize)]
pub struct Me {
    id: i64,
    login: String,
    full_name: String,
    role: app::auth::Role,
    branch_id: Option<i64>,
}

async fn login(
    State(state): State<AppState>,
    mut auth: AuthSession,
    extensions: axum::http::Extensions,
    body: Result<Json<LoginBody>, JsonRejection>,
) -> Result<Json<Me>, AppError> {
    let Json(body) = body.map_err(|_| AppError::invalid("body", InvalidCode::BadFormat))?;
    let address = app::auth::ssr::client_address(&extensions);
    app::auth::ssr::sign_in(&state, &mut auth, &body.login, &body.password, address).await?;
    let user = auth
        .user
        .ok_or_else(|| AppError::internal("no user in the session right after sign-in"))?;
    Ok(me_json(user))
}

async fn logout(mut auth: AuthSession) -> Result<StatusCode, AppError> {
    auth.logout().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(Admitted(caller): Admitted) -> Json<Me> {
    me_json(caller.user)
}

fn me_json(user: app::auth::ssr::StaffUser) -> Json<Me> {
    Json(Me {
        id: user.id,
        login: user.login,
        full_name: user.full_name,
        role: user.role,
        branch_id: user.branch_id,
    })
}
