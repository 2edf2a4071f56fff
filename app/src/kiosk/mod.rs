//! The kiosk: a tablet at the entrance where visitors register themselves.
//! Its server functions answer only a paired kiosk (device token in an
//! HttpOnly cookie) and can do nothing but look up, check in and register.

#[cfg(feature = "ssr")]
pub mod ssr;

mod camera;
mod page;

pub use page::KioskPage;

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The cookie a paired tablet keeps its device token in.
pub const KIOSK_COOKIE: &str = "avtosalon_kiosk";

/// What the kiosk needs to start a registration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KioskSetup {
    pub branch: String,
    pub consent_version: i64,
    /// (language, text) of the newest consent version.
    pub consent_texts: Vec<(String, String)>,
    pub car_models: Vec<(i64, String)>,
    /// A fresh id for this visitor's submission (a double tap reuses it).
    pub submission: String,
    /// Faces are answered here (face recognition on at the branch, its
    /// camera program running): the welcome screen watches for returning clients.
    #[serde(default)]
    pub faces: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnownClient {
    pub first_name: String,
    /// False when the client agreed to an older consent text (or none).
    pub consent_current: bool,
    /// Recognised by face: the one-time token that checks them in (no phone typed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recognition: Option<String>,
}

/// What the kiosk's camera frame told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FaceAnswer {
    /// No face recognition here (switched off at the branch, or no camera
    /// program running): the kiosk stops sending frames and says nothing of faces.
    Unavailable,
    /// Nobody the kiosk may name.
    NotKnown,
    /// "Welcome back, … — is this you?"
    Known(KnownClient),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KioskDone {
    pub client_id: i64,
    pub visit_id: i64,
    pub new_client: bool,
}

/// A new visitor's registration as the kiosk sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KioskRegistration {
    pub submission: String,
    pub full_name: String,
    pub phone: String,
    pub birth_year: String,
    pub gender: String,
    pub source: String,
    pub car: String,
    pub services: Vec<String>,
    pub consent: bool,
    pub consent_version: i64,
    pub language: String,
    pub biometric: bool,
    /// A `data:image/jpeg;base64,…` URL from the tablet camera, if a photo was taken.
    pub photo: Option<String>,
}

/// Pairs this tablet with the code from the pairing link; the device token
/// goes into an HttpOnly cookie the page's scripts cannot read.
#[server(prefix = "/rpc", endpoint = "pair_kiosk", input = Json)]
pub async fn pair_kiosk(code: String) -> Result<(), AppError> {
    let state = crate::auth::ssr::app_state()?;
    let address = use_context::<axum::http::request::Parts>()
        .and_then(|parts| crate::auth::ssr::client_address(&parts.extensions));
    state
        .pairing_attempts
        .hit(address, std::time::Instant::now())?;
    let (_, token) = crate::settings::ssr::devices::pair(&state.db, &code, "kiosk").await?;
    let secure = if state.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{KIOSK_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        10 * 365 * 24 * 3600
    );
    let response = expect_context::<leptos_axum::ResponseOptions>();
    response.insert_header(
        axum::http::header::SET_COOKIE,
        axum::http::HeaderValue::from_str(&cookie).map_err(AppError::internal)?,
    );
    Ok(())
}

/// The kiosk's branch, the consent texts, the car catalogue and a new
/// submission id; `Unauthorized` when this tablet is not paired.
#[server(prefix = "/rpc", endpoint = "kiosk_info", input = Json)]
pub async fn kiosk_info() -> Result<KioskSetup, AppError> {
    let (device, state) = crate::auth::ssr::require_kiosk().await?;
    let branch = crate::settings::ssr::branches::name(&state.db, device.branch_id).await?;
    let (consent_version, consent_texts) = crate::privacy::ssr::consent_texts(&state.db).await?;
    let (car_models, _) = crate::clients::ssr::choices(&state.db).await?;
    let faces = crate::camera::ssr::biometrics_enabled(&state.db, device.branch_id).await?
        && state.face_relay.available(device.branch_id);
    Ok(KioskSetup {
        faces,
        branch,
        consent_version,
        consent_texts,
        car_models,
        submission: uuid::Uuid::new_v4().to_string(),
    })
}

#[server(prefix = "/rpc", endpoint = "kiosk_lookup", input = Json)]
pub async fn kiosk_lookup(phone: String) -> Result<Option<KnownClient>, AppError> {
    let (device, state) = crate::auth::ssr::require_kiosk().await?;
    // Each lookup tells a first name: a kiosk may not run through numbers.
    state
        .kiosk_phone_checks
        .hit(device.id, std::time::Instant::now())?;
    crate::kiosk::ssr::lookup(&state.db, &phone).await
}

/// Who is in front of the tablet: a frame (`data:image/jpeg;base64,…`) of
/// its camera, answered by the branch's camera program. Never stored.
#[server(prefix = "/rpc", endpoint = "kiosk_face", input = Json)]
pub async fn kiosk_face(frame: String) -> Result<FaceAnswer, AppError> {
    let (device, state) = crate::auth::ssr::require_kiosk().await?;
    state
        .kiosk_face_checks
        .hit(device.id, std::time::Instant::now())?;
    crate::kiosk::ssr::recognise(&state, &device, &frame).await
}

#[server(prefix = "/rpc", endpoint = "kiosk_check_in", input = Json)]
pub async fn kiosk_check_in(
    submission: String,
    phone: String,
    services: Vec<String>,
    consent_version: Option<i64>,
    language: String,
    /// From a face answer: checks in the recognised client instead of `phone`.
    #[server(default)]
    recognition: Option<String>,
) -> Result<KioskDone, AppError> {
    let (device, state) = crate::auth::ssr::require_kiosk().await?;
    let who = match recognition {
        Some(token) => {
            crate::kiosk::ssr::KnownBy::Client(state.face_relay.take(device.id, &token).ok_or(
                AppError::invalid("recognition", crate::error::InvalidCode::UnknownValue),
            )?)
        }
        None => {
            state
                .kiosk_phone_checks
                .hit(device.id, std::time::Instant::now())?;
            crate::kiosk::ssr::KnownBy::Phone(&phone)
        }
    };
    // Whoever types a phone here may be someone else: a returning client's
    // consent text version is recorded, their biometric choice is not
    // touched (staff switch it on the card, with the person in front of them).
    let consent = consent_version.map(|version| crate::kiosk::ssr::ConsentGiven {
        version,
        language: &language,
        biometric: None,
    });
    let done =
        crate::kiosk::ssr::check_in_known(&state.db, &device, &submission, who, &services, consent)
            .await?;
    crate::scoring::ssr::rescore_after_change(&state.db, done.client_id).await;
    state.announce(device.branch_id);
    Ok(done)
}

#[server(prefix = "/rpc", endpoint = "kiosk_register", input = Json)]
pub async fn kiosk_register(form: KioskRegistration) -> Result<KioskDone, AppError> {
    let (device, state) = crate::auth::ssr::require_kiosk().await?;
    let seen = state.face_relay.stranger_at(device.id);
    let done =
        crate::kiosk::ssr::register(&state.db, &state.data_dir, &device, &form, seen.as_deref())
            .await?;
    crate::scoring::ssr::rescore_after_change(&state.db, done.client_id).await;
    state.announce(device.branch_id);
    Ok(done)
}
