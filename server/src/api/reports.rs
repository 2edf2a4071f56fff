//! `GET /api/clients` and `GET /api/stats`: the client list and the numbers
//! behind every chart, with the same filters and rules as the pages.

use app::auth::Role;
use app::clients::{ClientPage, ClientQuery};
use app::error::{AppError, InvalidCode};
use app::infra::AppState;

use crate::guard::Caller;
use app::stats::Stats;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;

fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, AppError> {
    query
        .map(|Query(q)| q)
        .map_err(|_| AppError::invalid("query", InvalidCode::BadFormat))
}

pub async fn clients(
    State(state): State<AppState>,
    Caller(user): Caller,
    params: Result<Query<ClientQuery>, QueryRejection>,
) -> Result<Json<ClientPage>, AppError> {
    let params = query(params)?;
    let page = app::clients::ssr::search_as(&state.db, &user, &params, app::infra::now()).await?;
    Ok(Json(page))
}

#[derive(Deserialize, Default)]
pub struct StatsParams {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    branch: String,
}

pub async fn stats(
    State(state): State<AppState>,
    Caller(user): Caller,
    params: Result<Query<StatsParams>, QueryRejection>,
) -> Result<Json<Stats>, AppError> {
    if !matches!(user.role, Role::Admin | Role::Manager) {
        return Err(AppError::Forbidden);
    }
    let p = query(params)?;
    let filter =
        app::stats::ssr::load_filter(&state.db, &p.from, &p.to, &p.branch, app::infra::now())
            .await?;
    Ok(Json(app::stats::ssr::compute(&state.db, &filter).await?))
}
