//! What protects browsers that use the app: state-changing requests from
//! another site are refused (no cross-site form can create a staff account
//! or sign someone in), and every answer carries the security headers.

use app::infra::AppState;
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Refuses a POST, PUT, PATCH or DELETE that a browser sent from another
/// site: its `Origin` is neither the address it was sent to nor the
/// configured public address (or, without `Origin`, the browser says it is
/// cross-site). Programs (the camera, API clients) send neither and pass.
pub async fn refuse_cross_site(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if changes_state && is_cross_site(request.headers(), &state) {
        tracing::info!(
            origin = ?request.headers().get(header::ORIGIN),
            path = %request.uri().path(),
            "cross-site request refused"
        );
        return (
            StatusCode::FORBIDDEN,
            Json(serde_json::json!({
                "error": "forbidden",
                "message": "requests from another site are refused"
            })),
        )
            .into_response();
    }
    next.run(request).await
}

fn is_cross_site(headers: &HeaderMap, state: &AppState) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return headers
            .get("sec-fetch-site")
            .is_some_and(|site| site.as_bytes() == b"cross-site");
    };
    let Ok(origin) = origin.to_str() else {
        return true;
    };
    let origin = origin.to_ascii_lowercase();
    if state
        .public_url
        .as_ref()
        .is_some_and(|url| url.origin() == origin)
    {
        return false;
    }
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_ascii_lowercase);
    !matches!((authority, host), (Some(a), Some(h)) if a == h)
}

/// What a versioned asset address starts with after `/pkg/`
/// (`serve::asset_version`).
pub const VERSIONED_ASSET: &str = "v-";

/// Headers on every answer: no framing (clickjacking), no sniffing, no
/// referrer to other sites, no caching of anything but built assets (kept
/// for good under their version, else revalidated), HSTS when served over
/// HTTPS, and a baseline content policy for HTML the app did not render (rendered pages set their
/// own, with the nonce of their scripts, in `app::shell`).
pub async fn security_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    // Built assets may be cached; everything else may hold personal data.
    let path = request.uri().path();
    let is_asset = path.starts_with("/pkg/") || path.starts_with("/favicon");
    let is_versioned = path
        .strip_prefix("/pkg/")
        .is_some_and(|rest| rest.starts_with(VERSIONED_ASSET));
    let mut response = next.run(request).await;
    // An asset under its version never changes: the browser keeps it
    // without asking again (a new build has a new version).
    let immutable = is_versioned && response.status().is_success();
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "same-origin");
    // Assets under their plain names keep them across upgrades, so the
    // browser keeps them but asks each time whether they changed (a 304
    // without the body).
    set(
        headers,
        header::CACHE_CONTROL,
        if immutable {
            "public, max-age=31536000, immutable"
        } else if is_asset {
            "no-cache"
        } else {
            "no-store"
        },
    );
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    if is_html {
        set(
            headers,
            header::CONTENT_SECURITY_POLICY,
            "frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'",
        );
    }
    if state.secure_cookies() {
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}
