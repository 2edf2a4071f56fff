//! The HTTP API under `/api` (JSON in and out, for scripts, integrations and
//! the camera program), split by feature, plus `/healthz`.

mod clients;
mod documents;
mod extract;
mod faces;
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
        .merge(faces::routes())
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
        .route("/ca.crt", get(local_authority))
}

/// The local certificate authority's certificate, for a tablet to install
/// once (public by nature: it proves nothing without its key); 404 when
/// HTTPS uses the dealership's own certificate or is off.
async fn local_authority(State(state): State<AppState>) -> Response {
    if !state.local_ca {
        return AppError::NotFound.into_response();
    }
    match tokio::fs::read(crate::tls::authority_certificate(&state.data_dir)).await {
        Ok(pem) => (
            [
                (header::CONTENT_TYPE, "application/x-x509-ca-cert"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"avtosalon-ca.crt\"",
                ),
            ],
            pem,
        )
            .into_response(),
        Err(_) => AppError::NotFound.into_response(),
    }
}

/// The OpenAPI 3 document of this API, kept beside the handlers.
const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn not_found() -> AppError {
    AppError::NotFound
}

/// Free bytes on the file system of `dir` (for the unprivileged user).
fn free_bytes(dir: &std::path::Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is NUL-terminated and `stats` is written by statvfs
    // before it is read, only when the call succeeds.
    let stats = unsafe {
        (libc::statvfs(path.as_ptr(), stats.as_mut_ptr()) == 0).then(|| stats.assume_init())?
    };
    Some(stats.f_bavail.saturating_mul(stats.f_frsize))
}

/// Below this, photos, snapshots and backups may soon fail to be written.
const LOW_DISK_BYTES: u64 = 1 << 30;

/// Liveness for monitoring: the version, the database, free disk space in
/// the data directory, the Telegram bot and the camera program. 503 only when the database does
/// not answer; a full disk or a refused bot token is reported, not fatal.
async fn healthz(State(state): State<AppState>) -> Response {
    use app::notify::BotState;
    let database = state.db.ping().await.is_ok();
    let bot = match &*state.bot.read().unwrap_or_else(|e| e.into_inner()) {
        BotState::Off => "off",
        BotState::Connecting => "connecting",
        BotState::Connected { .. } => "connected",
        BotState::TokenRefused => "token_refused",
        BotState::Unreachable => "unreachable",
    };
    let vision = state
        .vision
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let disk_free = free_bytes(&state.data_dir);
    let status = if !database {
        "database unavailable"
    } else if disk_free.is_some_and(|free| free < LOW_DISK_BYTES) {
        "low disk"
    } else {
        "ok"
    };
    let body = axum::Json(serde_json::json!({
        "status": status,
        "version": env!("CARGO_PKG_VERSION"),
        "database": if database { "ok" } else { "unavailable" },
        "disk_free_bytes": disk_free,
        "bot": bot,
        "vision": vision.word(),
        "vision_restarts": vision.restarts(),
    }));
    let code = if database {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, body).into_response()
}
