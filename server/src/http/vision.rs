//! The camera program's API: pairing, the face gallery and entrance/exit
//! events. Callers are camera devices with a device token (`Authorization:
//! Bearer kd_…`), checked on every request; staff sessions do not apply.

use app::camera::ssr as camera;
use app::error::{AppError, InvalidCode};
use app::infra::AppState;
use app::infra::files;

use super::ApiPath;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::routes::{Access, Camera, Routes};
use axum::http::Method;

pub fn routes() -> Routes {
    Routes::new()
        .route(Method::POST, "/vision/pair", Access::Anyone, post(pair))
        .route(Method::GET, "/vision/gallery", Access::Camera, get(gallery))
        .route(
            Method::GET,
            "/vision/clients/{id}/photo",
            Access::Camera,
            get(client_photo),
        )
        .route(
            Method::GET,
            "/vision/templates/{id}",
            Access::Camera,
            get(captured_face),
        )
        .route(
            Method::GET,
            "/vision/rejected/{id}",
            Access::Camera,
            get(rejected_face),
        )
        .route(
            Method::GET,
            "/vision/staff/{id}/photo",
            Access::Camera,
            get(staff_photo),
        )
        .route(Method::POST, "/vision/events", Access::Camera, post(event))
        .route(
            Method::GET,
            "/vision/kiosk_frames",
            Access::Camera,
            get(kiosk_frames),
        )
        .route(
            Method::POST,
            "/vision/kiosk_answers",
            Access::Camera,
            post(kiosk_answer),
        )
}

/// A JSON body, refused with a clear 400 when it does not decode.
fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, AppError> {
    serde_json::from_slice(body).map_err(|_| AppError::invalid("request", InvalidCode::BadFormat))
}

#[derive(Deserialize)]
struct PairBody {
    code: String,
}

/// `POST /api/vision/pair`
async fn pair(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    body: Bytes,
) -> Result<Json<camera::Paired>, AppError> {
    let address = app::auth::ssr::client_address(&extensions);
    state
        .pairing_attempts
        .hit(address, std::time::Instant::now())?;
    let body: PairBody = parse(&body)?;
    // A well-formed code that no camera waits for (never given, used, or
    // expired) is not a bad request: nothing was found for it.
    let paired = camera::pair(&state.db, &body.code)
        .await
        .map_err(|error| match error {
            AppError::Invalid {
                ref field,
                code: InvalidCode::UnknownValue,
            } if field == "code" => AppError::NotFound,
            other => other,
        })?;
    Ok(Json(paired))
}

/// `GET /api/vision/gallery`
async fn gallery(
    State(state): State<AppState>,
    Camera(device): Camera,
) -> Result<Json<camera::Gallery>, AppError> {
    Ok(Json(camera::gallery(&state.db, &device).await?))
}

async fn jpeg(state: &AppState, stored: &str) -> Result<Response, AppError> {
    let path = files::resolve(&state.data_dir, stored).ok_or(AppError::NotFound)?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| AppError::NotFound)?;
    Ok(super::documents::private_file(bytes, "image/jpeg"))
}

/// `GET /api/vision/clients/{id}/photo`
async fn client_photo(
    State(state): State<AppState>,
    Camera(device): Camera,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, AppError> {
    let stored = camera::gallery_photo(&state.db, &device, id).await?;
    jpeg(&state, &stored).await
}

/// `GET /api/vision/templates/{id}`: a capture of a client kept as a template.
async fn captured_face(
    State(state): State<AppState>,
    Camera(device): Camera,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, AppError> {
    let stored = camera::template_face(&state.db, &device, id, false).await?;
    jpeg(&state, &stored).await
}

/// `GET /api/vision/rejected/{id}`
async fn rejected_face(
    State(state): State<AppState>,
    Camera(device): Camera,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, AppError> {
    let stored = camera::template_face(&state.db, &device, id, true).await?;
    jpeg(&state, &stored).await
}

/// `GET /api/vision/staff/{id}/photo`
async fn staff_photo(
    State(state): State<AppState>,
    Camera(device): Camera,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, AppError> {
    let stored = camera::staff::gallery_photo(&state.db, &device, id).await?;
    jpeg(&state, &stored).await
}

/// `POST /api/vision/events`
async fn event(
    State(state): State<AppState>,
    Camera(device): Camera,
    body: Bytes,
) -> Result<Json<camera::EventOutcome>, AppError> {
    let input: camera::EventInput = parse(&body)?;
    let outcome = camera::record_event(&state.db, &state.data_dir, &device, &input).await?;
    if !outcome.duplicate {
        state.announce(device.branch_id);
    }
    Ok(Json(outcome))
}

/// How long a camera program's poll for kiosk frames waits when none come
/// (its HTTP client gives up after 15 s).
const KIOSK_POLL_WAIT: std::time::Duration = std::time::Duration::from_secs(8);

/// `GET /api/vision/kiosk_frames`: the frames the kiosks of this camera's
/// branch are waiting on (a long poll: empty after 8 s without any).
async fn kiosk_frames(
    State(state): State<AppState>,
    Camera(device): Camera,
) -> Result<Json<Vec<app::kiosk::ssr::faces::RelayedFrame>>, AppError> {
    if !camera::biometrics_enabled(&state.db, device.branch_id).await? {
        return Ok(Json(Vec::new()));
    }
    Ok(Json(
        state
            .face_relay
            .next_frames(device.branch_id, KIOSK_POLL_WAIT)
            .await,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KioskAnswer {
    id: u64,
    client_id: Option<i64>,
    #[serde(default)]
    similarity: Option<f64>,
    #[serde(default)]
    stranger: Option<String>,
}

/// `POST /api/vision/kiosk_answers`: who a kiosk frame shows (or nobody).
async fn kiosk_answer(
    State(state): State<AppState>,
    Camera(device): Camera,
    body: Bytes,
) -> Result<axum::http::StatusCode, AppError> {
    let answer: KioskAnswer = parse(&body)?;
    if answer.similarity.is_some_and(|s| !(0.0..=1.0).contains(&s)) {
        return Err(AppError::invalid("similarity", InvalidCode::OutOfRange));
    }
    if answer
        .stranger
        .as_deref()
        .is_some_and(|k| !camera::valid_stranger_key(k))
    {
        return Err(AppError::invalid("stranger", InvalidCode::BadFormat));
    }
    // A named client is who it is; a stranger's key then means nothing.
    let relayed = app::kiosk::ssr::faces::Answer {
        stranger: answer.stranger.filter(|_| answer.client_id.is_none()),
        client_id: answer.client_id,
    };
    state
        .face_relay
        .answer(device.branch_id, answer.id, relayed)?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
