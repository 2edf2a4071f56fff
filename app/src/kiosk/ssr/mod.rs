//! What a paired kiosk may do: look a phone up, check a known client in,
//! register a new client with consent and photo. Each submission carries an
//! id, so a double tap or a replay returns the first answer instead of a
//! second visit.

use std::path::Path;

use crate::clients::ssr as clients;
use crate::error::{AppError, InvalidCode};
use crate::infra::Db;
use crate::infra::audit;
use crate::infra::files;
use crate::infra::now;
use crate::kiosk::{KioskDone, KioskRegistration, KnownClient};
use crate::settings::ssr::devices::Device;
use crate::vocab::{NotifyKind, ServiceKind, VisitStart};

pub mod faces;

/// An unknown visitor seen by the entrance camera this recently is taken to
/// be the person registering at the kiosk.
pub const CAMERA_VISIT_WINDOW_SECS: i64 = 5 * 60;

pub async fn current_consent_version(
    mut conn: crate::infra::db::Conn<'_>,
) -> Result<i64, AppError> {
    Ok(
        crate::db_run!(conn, |c| sqlx::query_scalar::<_, Option<i64>>(
            "SELECT MAX(version) FROM consent_texts"
        )
        .fetch_one(c)
        .await)?
        .unwrap_or(0),
    )
}

/// A submission id as the kiosk got it from the server: a UUID.
fn check_submission(id: &str) -> Result<String, AppError> {
    uuid::Uuid::parse_str(id.trim())
        .map(|u| u.to_string())
        .map_err(|_| AppError::invalid("submission", InvalidCode::BadFormat))
}

/// The first answer to an earlier copy of this submission, if any.
async fn replayed(
    mut conn: crate::infra::db::Conn<'_>,
    device: &Device,
    submission: &str,
) -> Result<Option<KioskDone>, AppError> {
    let found: Option<(Option<i64>, Option<i64>, bool)> =
        crate::db_run!(conn, |c| sqlx::query_as(
            "SELECT k.client_id, k.visit_id, k.new_client FROM kiosk_submissions k \
         WHERE k.device_id = $1 AND k.submission_id = $2",
        )
        .bind(device.id)
        .bind(submission)
        .fetch_optional(c)
        .await)?;
    Ok(found.map(|(client_id, visit_id, new_client)| KioskDone {
        client_id: client_id.unwrap_or(0),
        visit_id: visit_id.unwrap_or(0),
        new_client,
    }))
}

async fn remember(
    mut conn: crate::infra::db::Conn<'_>,
    device: &Device,
    submission: &str,
    done: &KioskDone,
) -> Result<(), AppError> {
    crate::db_run!(conn, |c| {
        sqlx::query(
        "INSERT INTO kiosk_submissions (device_id, submission_id, client_id, visit_id, new_client, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(device.id)
    .bind(submission)
    .bind(done.client_id)
    .bind(done.visit_id)
    .bind(done.new_client)
    .bind(now())
    .execute(c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// The first name to greet a returning client with, if the phone is known.
pub async fn lookup(db: &Db, phone: &str) -> Result<Option<KnownClient>, AppError> {
    let phone = clients::normalize_phone(phone)?;
    let found: Option<(Option<String>, Option<i64>)> = crate::db_run!(db, |c| sqlx::query_as(
        "SELECT full_name, consent_version FROM clients WHERE phone = $1 AND erased_at IS NULL",
    )
    .bind(&phone)
    .fetch_optional(c)
    .await)?;
    let Some((name, consent_version)) = found else {
        return Ok(None);
    };
    let mut conn = db.acquire().await?;
    let current = current_consent_version(conn.backend()).await?;
    Ok(Some(KnownClient {
        first_name: first_name(name),
        consent_current: consent_version.is_some_and(|v| v >= current),
        recognition: None,
    }))
}

/// Kiosk frames larger than this are refused (a 1280×720 JPEG is ~150 KB).
const FRAME_MAX_BYTES: usize = 1024 * 1024;
/// Frames go to the camera program at most this large: the face is close to the
/// tablet, and a smaller picture is found and embedded sooner.
const FRAME_SIDE: u32 = 800;

/// Asks the branch's camera program who is in `frame` (a data URL). Only a
/// client who opted in to face recognition, at a branch where it is on, is
/// ever named; the frame is re-encoded here (nothing but a plain JPEG
/// reaches the camera program) and never stored.
pub async fn recognise(
    state: &crate::infra::AppState,
    device: &Device,
    frame: &str,
) -> Result<crate::kiosk::FaceAnswer, AppError> {
    use crate::kiosk::FaceAnswer;
    if frame.len() > FRAME_MAX_BYTES * 4 / 3 + 64 {
        return Err(AppError::invalid("frame", InvalidCode::TooLong));
    }
    let bytes = files::photo_from_data_url(frame)
        .map_err(|_| AppError::invalid("frame", InvalidCode::BadFormat))?;
    let branch_on = crate::camera::ssr::biometrics_enabled(&state.db, device.branch_id).await?;
    if !branch_on || !state.face_relay.available(device.branch_id) {
        return Ok(FaceAnswer::Unavailable);
    }
    let jpeg = files::reencode_within(&bytes, FRAME_SIDE)
        .map_err(|_| AppError::invalid("frame", InvalidCode::BadFormat))?;
    let answer = state.face_relay.ask(device.branch_id, jpeg).await;
    let Some(client_id) = answer.client_id else {
        if let Some(key) = answer.stranger {
            state.face_relay.saw_stranger(device.id, key);
        }
        return Ok(FaceAnswer::NotKnown);
    };
    let found: Option<(Option<String>, Option<i64>)> =
        crate::db_run!(state.db, |c| sqlx::query_as(
            "SELECT full_name, consent_version FROM clients WHERE id = $1 AND erased_at IS NULL \
         AND biometric_opt_in = TRUE",
        )
        .bind(client_id)
        .fetch_optional(c)
        .await)?;
    let Some((name, consent_version)) = found else {
        tracing::warn!(
            client_id,
            "the camera program named a client who may not be named"
        );
        return Ok(FaceAnswer::NotKnown);
    };
    let mut conn = state.db.acquire().await?;
    let current = current_consent_version(conn.backend()).await?;
    Ok(FaceAnswer::Known(KnownClient {
        first_name: first_name(name),
        consent_current: consent_version.is_some_and(|v| v >= current),
        recognition: Some(state.face_relay.remember(device.id, client_id)),
    }))
}

fn first_name(full_name: Option<String>) -> String {
    full_name
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Service kinds as the visitor ticked them: known kinds only, each once.
fn check_services(services: &[String]) -> Result<Vec<ServiceKind>, AppError> {
    let mut kinds = Vec::new();
    for s in services {
        let kind = ServiceKind::parse(s)
            .ok_or(AppError::invalid("services", InvalidCode::UnknownValue))?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

/// Who is checking in at the kiosk.
#[derive(Debug, Clone, Copy)]
enum Arrival<'a> {
    /// A returning client.
    Known,
    /// A new client; `stranger` is their face's key if the camera program
    /// recognised them as a stranger the doors saw.
    New { stranger: Option<&'a str> },
}

/// Opens (or takes over) the visit for `client_id` and records the services.
async fn open_visit(
    mut conn: crate::infra::db::Conn<'_>,
    device: &Device,
    client_id: i64,
    arrival: Arrival<'_>,
    services: &[ServiceKind],
    t: i64,
) -> Result<i64, AppError> {
    // The client's own open visit (the camera recognised them, or staff
    // checked them in) is kept. A new client takes over the unknown visit
    // their face opened at the door when the camera program knows it;
    // otherwise the one unknown visitor the entrance camera saw here in the
    // last minutes, when there is exactly one.
    let mut unknown: Vec<i64> = Vec::new();
    if let Arrival::New {
        stranger: Some(key),
    } = arrival
    {
        let theirs: Option<i64> = crate::db_run!(conn, |c| {
            sqlx::query_scalar(
            "SELECT id FROM visits WHERE client_id IS NULL AND branch_id = $1 AND left_at IS NULL \
             AND stranger_key = $2 ORDER BY entered_at DESC LIMIT 1",
        )
        .bind(device.branch_id)
        .bind(key)
        .fetch_optional(c).await
        })?;
        unknown.extend(theirs);
    }
    if unknown.is_empty() && matches!(arrival, Arrival::New { .. }) {
        unknown = crate::db_run!(conn, |c| {
            sqlx::query_scalar(
            "SELECT id FROM visits WHERE client_id IS NULL AND branch_id = $1 AND left_at IS NULL \
             AND started_by = 'camera' AND entered_at >= $2 LIMIT 2",
        )
        .bind(device.branch_id)
        .bind(t - CAMERA_VISIT_WINDOW_SECS)
        .fetch_all(c).await
        })?;
    }
    let visit_id = if let [camera_visit] = unknown.as_slice() {
        crate::visits::ssr::take_over(conn.backend(), *camera_visit, client_id).await?;
        *camera_visit
    } else {
        let opening = crate::visits::ssr::Opening {
            client_id: Some(client_id),
            branch_id: device.branch_id,
            started_by: VisitStart::Kiosk,
            entered_at: t,
        };
        crate::visits::ssr::open(conn.backend(), &opening, t)
            .await?
            .id()
    };
    for kind in services {
        crate::db_run!(conn, |c| {
            sqlx::query(
            "INSERT INTO service_requests (visit_id, client_id, branch_id, kind, requested_at, note) \
             VALUES ($1, $2, (SELECT branch_id FROM visits WHERE id = $3), $4, $5, 'kiosk')",
        )
        .bind(visit_id)
        .bind(client_id)
        .bind(visit_id)
        .bind(kind)
        .bind(t)
        .execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(visit_id)
}

/// Queues a message for reception (the bot delivers the outbox).
async fn notify(
    conn: crate::infra::db::Conn<'_>,
    kind: NotifyKind,
    device: &Device,
    done: &KioskDone,
    t: i64,
) -> Result<(), AppError> {
    let notice = crate::notify::ssr::outbox::Notice {
        kind,
        branch_id: Some(device.branch_id),
        client_id: Some(done.client_id),
        visit_id: Some(done.visit_id),
        payload: serde_json::json!({ "source": "kiosk" }),
    };
    crate::notify::ssr::outbox::enqueue(conn, notice, t).await
}

/// Consent given at the kiosk: the text version shown and the language.
pub struct ConsentGiven<'a> {
    pub version: i64,
    pub language: &'a str,
    /// The face-recognition choice; `None` leaves the stored one alone (a
    /// returning client's is never changed from a kiosk).
    pub biometric: Option<bool>,
}

async fn record_consent(
    mut conn: crate::infra::db::Conn<'_>,
    client_id: i64,
    consent: &ConsentGiven<'_>,
    t: i64,
) -> Result<(), AppError> {
    let current = current_consent_version(conn.backend()).await?;
    if consent.version != current {
        // The text changed while the visitor read it: show the new one.
        return Err(AppError::invalid("consent", InvalidCode::OutOfRange));
    }
    if !matches!(consent.language, "uz" | "ru" | "en") {
        return Err(AppError::invalid("language", InvalidCode::UnknownValue));
    }
    crate::db_run!(conn, |c| sqlx::query(
        "UPDATE clients SET consent_at = $1, consent_version = $2, consent_language = $3, \
         biometric_opt_in = COALESCE($4, biometric_opt_in), updated_at = $5 WHERE id = $6",
    )
    .bind(t)
    .bind(consent.version)
    .bind(consent.language)
    .bind(consent.biometric)
    .bind(t)
    .bind(client_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Checks a returning client in by phone.
/// How a returning client made themselves known at the kiosk.
#[derive(Debug, Clone, Copy)]
pub enum KnownBy<'a> {
    Phone(&'a str),
    /// Recognised by face (and confirmed "yes, that is me").
    Client(i64),
}

pub async fn check_in_known(
    db: &Db,
    device: &Device,
    submission: &str,
    who: KnownBy<'_>,
    services: &[String],
    consent: Option<ConsentGiven<'_>>,
) -> Result<KioskDone, AppError> {
    let submission = check_submission(submission)?;
    let phone = match who {
        KnownBy::Phone(phone) => Some(clients::normalize_phone(phone)?),
        KnownBy::Client(_) => None,
    };
    let services = check_services(services)?;
    let mut tx = db.begin_write().await?;
    if let Some(done) = replayed(tx.backend(), device, &submission).await? {
        return Ok(done);
    }
    let found: Option<(i64, Option<i64>)> = match (who, &phone) {
        (KnownBy::Client(id), _) => crate::db_run!(tx, |c| sqlx::query_as(
            "SELECT id, consent_version FROM clients WHERE id = $1 AND erased_at IS NULL \
                 AND biometric_opt_in = TRUE",
        )
        .bind(id)
        .fetch_optional(c)
        .await)?,
        (_, phone) => crate::db_run!(tx, |c| sqlx::query_as(
            "SELECT id, consent_version FROM clients WHERE phone = $1 AND erased_at IS NULL",
        )
        .bind(phone)
        .fetch_optional(c)
        .await)?,
    };
    let (client_id, consent_version) = found.ok_or(AppError::NotFound)?;
    let t = now();
    let current = current_consent_version(tx.backend()).await?;
    match &consent {
        Some(given) => record_consent(tx.backend(), client_id, given, t).await?,
        None if consent_version.is_none_or(|v| v < current) => {
            return Err(AppError::invalid("consent", InvalidCode::Required));
        }
        None => {}
    }
    let visit_id = open_visit(
        tx.backend(),
        device,
        client_id,
        Arrival::Known,
        &services,
        t,
    )
    .await?;
    let done = KioskDone {
        client_id,
        visit_id,
        new_client: false,
    };
    remember(tx.backend(), device, &submission, &done).await?;
    audit::record(
        tx.backend(),
        None,
        "kiosk_check_in",
        "visit",
        Some(visit_id),
        None,
    )
    .await?;
    notify(tx.backend(), NotifyKind::ReturningClient, device, &done, t).await?;
    tx.commit().await?;
    Ok(done)
}

/// Registers a new client with consent (and a photo when one was taken).
/// `seen_stranger`: the stranger's key the camera program gave for the
/// face in front of this kiosk a moment ago; the visit that face opened at
/// the door becomes the new client's.
pub async fn register(
    db: &Db,
    data_dir: &Path,
    device: &Device,
    form: &KioskRegistration,
    seen_stranger: Option<&str>,
) -> Result<KioskDone, AppError> {
    let submission = check_submission(&form.submission)?;
    let t = now();
    let input = clients::parse_input(
        &crate::clients::ClientForm {
            full_name: form.full_name.clone(),
            phone: form.phone.clone(),
            birth_year: form.birth_year.clone(),
            gender: form.gender.clone(),
            source: form.source.clone(),
            car: form.car.clone(),
        },
        t,
    )?;
    if input.birth_year.is_none() {
        return Err(AppError::invalid("birth_year", InvalidCode::Required));
    }
    if !form.consent {
        return Err(AppError::invalid("consent", InvalidCode::Required));
    }
    let services = check_services(&form.services)?;
    // The photo is checked and re-encoded before anything is written.
    let photo = match form.photo.as_deref().filter(|p| !p.is_empty()) {
        Some(url) => Some(files::reencode_photo(&files::photo_from_data_url(url)?)?),
        None => None,
    };
    // The photo file is written first under a fresh name and removed again
    // if the registration does not commit (or was a replay).
    let stored = match &photo {
        Some(bytes) => {
            let name = format!("{}.jpg", uuid::Uuid::new_v4().simple());
            Some(files::store(data_dir, "photos", &name, bytes)?)
        }
        None => None,
    };
    let result = register_in_db(
        db,
        device,
        &submission,
        form,
        &input,
        &services,
        stored.as_deref(),
        seen_stranger,
        t,
    )
    .await;
    if let Some(path) = &stored
        && !matches!(result, Ok((_, false)))
    {
        files::remove(data_dir, path);
    }
    result.map(|(done, _)| done)
}

/// The database half of a registration: (answer, whether it was new).
#[allow(clippy::too_many_arguments)]
async fn register_in_db(
    db: &Db,
    device: &Device,
    submission: &str,
    form: &KioskRegistration,
    input: &clients::ClientInput,
    services: &[ServiceKind],
    photo_path: Option<&str>,
    seen_stranger: Option<&str>,
    t: i64,
) -> Result<(KioskDone, bool), AppError> {
    let mut tx = db.begin_write().await?;
    if let Some(done) = replayed(tx.backend(), device, submission).await? {
        return Ok((done, true));
    }
    let client_id = clients::insert_client(tx.backend(), device.branch_id, input, t).await?;
    record_consent(
        tx.backend(),
        client_id,
        &ConsentGiven {
            version: form.consent_version,
            language: &form.language,
            biometric: Some(form.biometric),
        },
        t,
    )
    .await?;
    if let Some(path) = photo_path {
        crate::db_run!(tx, |c| sqlx::query(
            "UPDATE clients SET photo_path = $1 WHERE id = $2"
        )
        .bind(path)
        .bind(client_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    let arrival = Arrival::New {
        stranger: seen_stranger,
    };
    let visit_id = open_visit(tx.backend(), device, client_id, arrival, services, t).await?;
    let done = KioskDone {
        client_id,
        visit_id,
        new_client: true,
    };
    remember(tx.backend(), device, submission, &done).await?;
    audit::record(
        tx.backend(),
        None,
        "kiosk_register",
        "client",
        Some(client_id),
        None,
    )
    .await?;
    notify(tx.backend(), NotifyKind::NewClient, device, &done, t).await?;
    tx.commit().await?;
    Ok((done, false))
}
