//! The HTTP API under `/api` (JSON in and out, for scripts, integrations and
//! the camera program), split by feature, plus `/healthz`.

mod clients;
mod documents;
mod extract;
mod live;
mod potential;
mod routes;
mod session;
mod stats;
mod vision;

pub use extract::{ApiPath, ApiQuery};
pub use routes::{Access, Rule};

use app::error::AppError;
use app::infra::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Every `/api` route with the rule that admits its callers.
fn routes() -> routes::Routes {
    routes::Routes::new()
        .merge(session::routes())
        .merge(clients::routes())
        .merge(stats::routes())
        .merge(live::routes())
        .merge(documents::routes())
        .merge(potential::routes())
        .merge(vision::routes())
        .route(
            axum::http::Method::GET,
            "/openapi.json",
            Access::Staff(app::auth::ssr::Need::Staff),
            get(openapi),
        )
}

/// Who may call each `/api` route: the documentation the role × route test checks.
pub fn route_table() -> Vec<Rule> {
    routes().table()
}

/// `/healthz` and every `/api` route; unknown `/api` paths answer a JSON 404.
pub fn router(state: &AppState) -> Router<AppState> {
    routes()
        .build(state)
        .route("/api", get(not_found))
        .route("/api/{*rest}", axum::routing::any(not_found))
        .route("/healthz", get(healthz))
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
