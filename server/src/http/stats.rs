//! `GET /api/stats`: the numbers behind every chart, with the same filters
//! and rules as the statistics page.

use app::auth::Role;
use app::error::AppError;
use app::infra::AppState;
use app::stats::Stats;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::ApiQuery;
use crate::guard::Caller;

pub fn router() -> Router<AppState> {
    Router::new().route("/stats", get(stats))
}

#[derive(Deserialize, Default)]
struct StatsParams {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    branch: String,
}

/// The query is refused only after the role check, so reception gets 403.
async fn stats(
    State(state): State<AppState>,
    Caller(user): Caller,
    params: Result<ApiQuery<StatsParams>, AppError>,
) -> Result<Json<Stats>, AppError> {
    if !matches!(user.role, Role::Admin | Role::Manager) {
        return Err(AppError::Forbidden);
    }
    let ApiQuery(p) = params?;
    let filter =
        app::stats::ssr::load_filter(&state.db, &p.from, &p.to, &p.branch, app::infra::now())
            .await?;
    Ok(Json(app::stats::ssr::compute(&state.db, &filter).await?))
}
