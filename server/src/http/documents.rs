//! Personal files over HTTP: client photos, document upload, view and
//! download. Only signed-in staff get them (reception: its own branch;
//! passports: managers and admins only); every document view is audit-logged.

use super::ApiPath;
use app::error::{AppError, InvalidCode};
use app::infra::AppState;
use app::infra::files;
use app::privacy::ssr::documents;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::ApiQuery;
use super::routes::{Access, Admitted, Routes};
use app::auth::ssr::{Need, Staff};
use axum::http::Method;

/// Multipart overhead allowed on top of the largest document.
const UPLOAD_BODY_LIMIT: usize = files::DOCUMENT_MAX_BYTES + 256 * 1024;

pub fn routes() -> Routes {
    Routes::new()
        .route(
            Method::GET,
            "/clients/{id}/photo",
            Access::Staff(Need::Staff),
            get(client_photo),
        )
        .route(
            Method::POST,
            "/clients/{id}/documents",
            Access::Staff(Need::Staff),
            post(upload_document).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .route(
            Method::GET,
            "/documents/{id}",
            Access::Staff(Need::Staff),
            get(document),
        )
}

/// A personal image for a device: never cached, never sniffed.
pub fn private_file(bytes: Vec<u8>, content_type: &str) -> Response {
    file_response(bytes, content_type, None)
}

/// A private file response: never cached by shared caches, never sniffed.
fn file_response(bytes: Vec<u8>, content_type: &str, disposition: Option<String>) -> Response {
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Some(value) = disposition.and_then(|d| HeaderValue::from_str(&d).ok()) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

async fn read_stored(state: &AppState, stored: &str) -> Result<Vec<u8>, AppError> {
    let path = files::resolve(&state.data_dir, stored).ok_or(AppError::NotFound)?;
    tokio::fs::read(&path).await.map_err(|error| {
        tracing::warn!(%error, path = %path.display(), "a stored file is missing");
        AppError::NotFound
    })
}

/// `GET /api/clients/{id}/photo`
async fn client_photo(
    State(state): State<AppState>,
    Admitted(user): Admitted,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, AppError> {
    app::clients::ssr::check_access(&state.db, user.scope, id).await?;
    let (_, photo) = app::clients::ssr::branch_and_photo(&state.db, id).await?;
    let bytes = read_stored(&state, &photo.ok_or(AppError::NotFound)?).await?;
    Ok(file_response(bytes, "image/jpeg", None))
}

#[derive(Deserialize)]
struct DocumentQuery {
    #[serde(default)]
    download: Option<String>,
}

/// RFC 6266 / 5987: a plain ASCII fallback and the UTF-8 name.
fn content_disposition(kind: &str, file_name: &str) -> String {
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = file_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// `GET /api/documents/{id}` (inline) and `?download=1` (attachment).
async fn document(
    State(state): State<AppState>,
    Admitted(user): Admitted,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<DocumentQuery>,
) -> Result<Response, AppError> {
    let document = documents::get(&state.db, id).await?;
    app::clients::ssr::check_access(&state.db, user.scope, document.client_id).await?;
    if document.kind == "passport" && !user.is_manager() {
        return Err(AppError::Forbidden);
    }
    let download = query.download.is_some_and(|d| d != "0");
    let bytes = read_stored(&state, &document.stored_path).await?;
    documents::note_access(
        &state.db,
        user.id,
        id,
        if download { "download" } else { "view" },
    )
    .await?;
    let disposition = content_disposition(
        if download { "attachment" } else { "inline" },
        &document.file_name,
    );
    Ok(file_response(
        bytes,
        &document.content_type,
        Some(disposition),
    ))
}

pub(super) fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// Why an upload was refused, as the page's message key: `form_field` (the
/// form's own field besides the file: a document's kind, a face's consent)
/// names itself.
pub(super) fn upload_error_code(error: &AppError, form_field: &'static str) -> &'static str {
    match error {
        AppError::Invalid { field, .. } if field == form_field => form_field,
        AppError::Invalid {
            code: InvalidCode::TooLong,
            ..
        } => "too_large",
        AppError::Invalid {
            code: InvalidCode::Required,
            ..
        } => "missing",
        AppError::Invalid { .. } => "type",
        AppError::Forbidden => "forbidden",
        AppError::NotFound => "not_found",
        _ => "failed",
    }
}

/// `POST /api/clients/{id}/documents` (multipart: `kind`, `file`). A browser
/// form is sent back to the card (with the reason when refused); API callers
/// get JSON.
async fn upload_document(
    State(state): State<AppState>,
    Admitted(user): Admitted,
    ApiPath(client_id): ApiPath<i64>,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let html = wants_html(&headers);
    let result = receive_upload(&state, &user, client_id, multipart).await;
    match (result, html) {
        (Ok(_), true) => Redirect::to(&format!("/clients/{client_id}?uploaded=1")).into_response(),
        (Ok(id), false) => (
            StatusCode::CREATED,
            axum::Json(serde_json::json!({ "id": id })),
        )
            .into_response(),
        (Err(error), true) => Redirect::to(&format!(
            "/clients/{client_id}?upload_error={}",
            upload_error_code(&error, "kind")
        ))
        .into_response(),
        (Err(error), false) => error.into_response(),
    }
}

async fn receive_upload(
    state: &AppState,
    user: &Staff,
    client_id: i64,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<i64, AppError> {
    app::clients::ssr::check_access(&state.db, user.scope, client_id).await?;
    let mut form = read_upload(multipart, files::DOCUMENT_MAX_BYTES, &["kind"]).await?;
    let kind = form
        .texts
        .remove("kind")
        .ok_or(AppError::invalid("kind", InvalidCode::Required))?;
    let (name, bytes) = form
        .file
        .ok_or(AppError::invalid("file", InvalidCode::Required))?;
    documents::upload(
        &state.db,
        &state.data_dir,
        user.id,
        client_id,
        &kind,
        &name,
        &bytes,
    )
    .await
}

/// A multipart form's text fields and its one `file` field.
pub(super) struct Upload {
    pub texts: std::collections::HashMap<&'static str, String>,
    /// The uploader's file name and the bytes.
    pub file: Option<(String, Vec<u8>)>,
}

/// Reads a multipart upload: the `file` field up to `max_bytes` (more is
/// `TooLong` before the rest is read) and the short text fields named in
/// `texts`; other fields are skipped.
pub(super) async fn read_upload(
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
    max_bytes: usize,
    texts: &[&'static str],
) -> Result<Upload, AppError> {
    const TEXT_MAX: usize = 1000;
    let mut multipart = multipart.map_err(|_| AppError::invalid("file", InvalidCode::BadFormat))?;
    let too_large = || AppError::invalid("file", InvalidCode::TooLong);
    let mut upload = Upload {
        texts: std::collections::HashMap::new(),
        file: None,
    };
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            // The body limit ends the stream mid-way.
            Err(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(too_large());
            }
            Err(_) => return Err(AppError::invalid("file", InvalidCode::BadFormat)),
        };
        let name = field.name().unwrap_or_default();
        if name == "file" {
            let file_name = field.file_name().unwrap_or_default().to_string();
            let mut field = field;
            let mut bytes = Vec::new();
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        if bytes.len() + chunk.len() > max_bytes {
                            return Err(too_large());
                        }
                        bytes.extend_from_slice(&chunk);
                    }
                    Ok(None) => break,
                    Err(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                        return Err(too_large());
                    }
                    Err(_) => return Err(AppError::invalid("file", InvalidCode::BadFormat)),
                }
            }
            upload.file = Some((file_name, bytes));
        } else if let Some(name) = texts.iter().copied().find(|t| *t == name) {
            let text = field
                .text()
                .await
                .map_err(|_| AppError::invalid(name, InvalidCode::BadFormat))?;
            if text.len() > TEXT_MAX {
                return Err(AppError::invalid(name, InvalidCode::TooLong));
            }
            upload.texts.insert(name, text);
        }
    }
    Ok(upload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names_are_safe_in_headers() {
        assert_eq!(
            content_disposition("attachment", "pasport Азиз.pdf"),
            "attachment; filename=\"pasport ____.pdf\"; filename*=UTF-8''pasport%20%D0%90%D0%B7%D0%B8%D0%B7.pdf"
        );
        assert!(HeaderValue::from_str(&content_disposition("inline", "a\"b.pdf")).is_ok());
    }
}
