//! The REST API under `/api`: JSON in and out, for scripts and integrations.

mod export;
mod files;
mod live;
mod reports;
mod scoring;
mod session;
mod vision;

use app::infra::AppState;
use axum::Router;
use axum::routing::{get, post};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", post(session::login))
        .route("/logout", post(session::logout))
        .route("/me", get(session::me))
        .route("/clients", get(reports::clients))
        .route("/stats", get(reports::stats))
        .route("/events", get(live::events))
        .route("/export/clients", get(export::clients))
        .route("/export/visits", get(export::visits))
        .route("/openapi.json", get(openapi))
        .route("/clients/{id}/photo", get(files::client_photo))
        .route(
            "/clients/{id}/documents",
            post(files::upload_document).layer(axum::extract::DefaultBodyLimit::max(
                files::UPLOAD_BODY_LIMIT,
            )),
        )
        .route("/documents/{id}", get(files::document))
        .route("/potential_buyers_ml", get(scoring::potential_buyers))
        .route("/retrain_model", post(scoring::retrain))
        .route("/vision/pair", post(vision::pair))
        .route("/vision/gallery", get(vision::gallery))
        .route("/vision/clients/{id}/photo", get(vision::client_photo))
        .route("/vision/rejected/{id}", get(vision::rejected_face))
        .route("/vision/events", post(vision::event))
        .fallback(not_found)
}

/// The OpenAPI 3 document of this API, kept beside the handlers.
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
}

async fn not_found() -> app::error::AppError {
    app::error::AppError::NotFound
}

/// Liveness and database reachability.
pub async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match sqlx::query_scalar::<_, i64>("SELECT 1")
        .fetch_one(state.db.pool())
        .await
    {
        Ok(_) => axum::Json(serde_json::json!({"status": "ok"})).into_response(),
        Err(_) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "database unavailable"})),
        )
            .into_response(),
    }
}
