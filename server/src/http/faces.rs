//! Staff faces over HTTP: a member uploads a photo of their own face (an
//! admin for anyone) as a plain multipart form, so a phone or a tablet can
//! take it with its camera; the browser is sent back to the page it came from.

use app::auth::ssr::{Need, Staff};
use app::error::AppError;
use app::infra::AppState;
use app::infra::files;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;

use super::ApiPath;
use super::documents::{read_upload, upload_error_code, wants_html};
use super::routes::{Access, Admitted, Routes};

/// Multipart overhead allowed on top of the largest photo.
const UPLOAD_BODY_LIMIT: usize = files::PHOTO_MAX_BYTES + 64 * 1024;
/// The pages an upload form may return to.
const BACK: [&str; 2] = ["/profile", "/settings"];

pub fn routes() -> Routes {
    Routes::new().route(
        Method::POST,
        "/staff/{id}/face",
        Access::Staff(Need::Staff),
        post(enrol).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
    )
}

/// `POST /api/staff/{id}/face` (multipart: `file`, `consent=on`, `back`).
/// A browser form is sent back to `back` (the profile or the settings page)
/// with the outcome; API callers get JSON (201 or the error).
async fn enrol(
    State(state): State<AppState>,
    Admitted(user): Admitted,
    ApiPath(staff_id): ApiPath<i64>,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let html = wants_html(&headers);
    let (back, result) = receive(&state, &user, staff_id, multipart).await;
    let back = back
        .filter(|b| BACK.contains(&b.as_str()))
        .unwrap_or_else(|| "/profile".into());
    match (result, html) {
        (Ok(()), true) => Redirect::to(&format!("{back}?face=ok#face")).into_response(),
        (Ok(()), false) => (
            StatusCode::CREATED,
            axum::Json(serde_json::json!({ "staff_id": staff_id })),
        )
            .into_response(),
        (Err(error), true) => Redirect::to(&format!(
            "{back}?face_error={}#face",
            upload_error_code(&error, "consent")
        ))
        .into_response(),
        (Err(error), false) => error.into_response(),
    }
}

async fn receive(
    state: &AppState,
    user: &Staff,
    staff_id: i64,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> (Option<String>, Result<(), AppError>) {
    // Who may act is settled before the body is read.
    if let Err(error) = app::camera::ssr::staff::may_act_for(user, staff_id) {
        return (None, Err(error));
    }
    let mut form = match read_upload(multipart, files::PHOTO_MAX_BYTES, &["consent", "back"]).await
    {
        Ok(form) => form,
        Err(error) => return (None, Err(error)),
    };
    let back = form.texts.remove("back");
    let consent = form.texts.get("consent").is_some_and(|c| c == "on");
    let photo = form.file.map(|(_, bytes)| bytes).unwrap_or_default();
    let result =
        app::camera::ssr::staff::enrol(&state.db, &state.data_dir, user, staff_id, &photo, consent)
            .await;
    (back, result)
}
