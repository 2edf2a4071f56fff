//! The HTTP API under `/api` (JSON in and out, for scripts, integrations and
//! the camera program), split by feature, plus `/healthz`.

mod clients;
mod documents;
mod extract;
mod live;
mod potential;
mod session;
mod stats;
mod vision;

pub use extract::ApiQuery;

use app::error::AppError;
use app::infra::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// `/healthz` and every `/api` route; unknown `/api` paths answer a JSON 404.
pub fn router() -> Router<AppState> {
    let api = Router::new()
        .merge(session::router())
        .merge(clients::router())
        .merge(stats::router())
        .merge(live::router())
        .merge(documents::router())
        .merge(potential::router())
        .merge(vision::router())
        .route("/openapi.json", get(openapi))
        .fallback(not_found);
    Router::new()
        .route("/healthz", get(healthz))
        .nest("/api", api)
}

/// The OpenAPI 3 document of this API, kept beside the handlers.
const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn not_found() -> AppError {
    AppError::NotFound
}

/// Liveness and database reachability.
async fn healthz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => axum::Json(serde_json::json!({"status": "ok"})).into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "database unavailable"})),
        )
            .into_response(),
    }
}
