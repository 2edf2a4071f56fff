//! `GET /api/stats`: the numbers behind every chart, with the same filters
//! and rules as the statistics page.

use app::error::AppError;
use app::infra::AppState;
use app::stats::Stats;
use axum::Json;
use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;

use super::ApiQuery;
use super::routes::{Access, Admitted, Routes};
use app::auth::ssr::Need;
use axum::http::Method;

pub fn routes() -> Routes {
    Routes::new().route(
        Method::GET,
        "/stats",
        Access::Staff(Need::Manager),
        get(stats),
    )
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

/// The route's rule admits managers first, so reception gets 403 whatever it asks.
async fn stats(
    State(state): State<AppState>,
    Admitted(_): Admitted,
    params: Result<ApiQuery<StatsParams>, AppError>,
) -> Result<Json<Stats>, AppError> {
    let ApiQuery(p) = params?;
    let filter =
        app::stats::ssr::load_filter(&state.db, &p.from, &p.to, &p.branch, app::infra::now())
            .await?;
    Ok(Json(app::stats::ssr::compute(&state.db, &filter).await?))
}
