//! Refuses anonymous callers before anything else runs: pages redirect to the
//! sign-in page, the REST API answers 401 JSON. Server functions check the
//! caller themselves (sign-in must work anonymously).

use app::auth::ssr::AuthSession;
use app::auth::ssr::StaffUser;
use app::infra::AppState;
use axum::Json;

/// The staff member an API token acts as, put in the request by the guard.
#[derive(Clone)]
pub struct TokenUser(pub StaffUser);

/// Whoever is asking: a signed-in session or a valid API token.
pub struct Caller(pub StaffUser);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        if let Some(TokenUser(user)) = parts.extensions.get::<TokenUser>() {
            return Ok(Caller(user.clone()));
        }
        let auth = AuthSession::from_request_parts(parts, state)
            .await
            .map_err(|_| unauthorized())?;
        auth.user.map(Caller).ok_or_else(unauthorized)
    }
}
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

/// Paths anyone may fetch: the sign-in page, built assets, health.
fn is_public(path: &str) -> bool {
    path == "/login"
        || path == "/kiosk"
        || path == "/healthz"
        // The local certificate authority: public by nature (see tls.rs).
        || path == "/ca.crt"
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

/// The secret of an `Authorization: Bearer …` header.
fn bearer(request: &Request) -> Option<String> {
    let value = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    value.strip_prefix("Bearer ").map(|s| s.trim().to_string())
}

pub async fn refuse_anonymous(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: AuthSession,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    let path = path.as_str();
    // Cameras authenticate with their device token in the handlers.
    if path.starts_with("/api/vision/") {
        return next.run(request).await;
    }
    // API clients may send a token instead of a session cookie.
    if auth.user.is_none()
        && path.starts_with("/api/")
        && let Some(secret) = bearer(&request)
    {
        match app::settings::ssr::api_tokens::user_for_token(&state.db, &secret).await {
            // A read-only token may ask, never change anything.
            Ok(Some(owner))
                if owner.read_only
                    && !matches!(
                        *request.method(),
                        axum::http::Method::GET | axum::http::Method::HEAD
                    ) =>
            {
                return app::error::AppError::Forbidden.into_response();
            }
            Ok(Some(owner)) => {
                request.extensions_mut().insert(TokenUser(owner.user));
                return next.run(request).await;
            }
            Ok(None) => return unauthorized(),
            Err(error) => return error.into_response(),
        }
    }
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

/// Server functions answer every error with 500; give each its real status
/// (400 for bad input, 401, 403, 409 …) so only real failures count as 500.
pub async fn rpc_error_status(request: Request, next: Next) -> Response {
    let is_rpc = request.uri().path().starts_with("/rpc/");
    let response = next.run(request).await;
    if !is_rpc || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(error) = serde_json::from_slice::<app::error::AppError>(&bytes)
        && let Ok(status) = StatusCode::from_u16(error.status_code())
    {
        parts.status = status;
        if let Some(secs) = error.retry_after() {
            parts.headers.insert(header::RETRY_AFTER, secs.into());
        }
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}
