//! Refuses anonymous callers before anything else runs: pages redirect to the
//! sign-in page, the REST API answers 401 JSON. Server functions check the
//! caller themselves (sign-in must work anonymously).

use app::server::AuthSession;
use axum::Json;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

/// Paths anyone may fetch: the sign-in page, built assets, health.
fn is_public(path: &str) -> bool {
    path == "/login"
        || path == "/healthz"
        || path == "/api/login"
        || path == "/favicon.svg"
        || path == "/favicon.ico"
        || path == "/robots.txt"
        || path.starts_with("/pkg/")
        || path.starts_with("/rpc/")
}

pub fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(serde_json::json!({"error": "unauthorized", "message": "sign in first (POST /api/login)"})),
    )
        .into_response()
}

pub async fn refuse_anonymous(auth: AuthSession, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let signed_in = auth.user.is_some();
    if path == "/login" && signed_in {
        return Redirect::to("/").into_response();
    }
    if signed_in || is_public(path) {
        return next.run(request).await;
    }
    if path.starts_with("/api/") || path == "/api" {
        return unauthorized();
    }
    Redirect::to("/login").into_response()
}
