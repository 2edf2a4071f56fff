//! Entrance and exit events from the cameras: checked, stored once (a repeat
//! gets the first answer), and turned into visits opened and closed.

use super::staff;
use super::*;
use crate::error::{AppError, InvalidCode};
use crate::infra::Db;
use crate::infra::files;
use crate::infra::now;
use crate::notify::ssr::outbox::{Notice, enqueue};
use crate::settings::ssr::devices::Device;
use crate::visits::ssr as visits;
use crate::vocab::{NotifyKind, VisitEnd, VisitStart};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// An event as the camera program sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    pub key: String,
    pub kind: String,
    /// Unix time in milliseconds when the face was seen.
    pub occurred_at: i64,
    #[serde(default)]
    pub client_id: Option<i64>,
    /// A staff member the camera recognised: no visit, only their presence.
    #[serde(default)]
    pub staff_id: Option<i64>,
    /// An unknown face the camera program has seen before today: the same
    /// key is the same visitor (`s-` and 16 hex digits).
    #[serde(default)]
    pub stranger: Option<String>,
    #[serde(default)]
    pub similarity: Option<f64>,
    #[serde(default)]
    pub track: Option<String>,
    /// Base64 JPEG or PNG.
    #[serde(default)]
    pub snapshot: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventOutcome {
    pub event_id: i64,
    pub visit_id: Option<i64>,
    pub duplicate: bool,
}

fn valid_key(key: &str) -> bool {
    (8..=64).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The shape of the camera program's stranger keys.
pub fn valid_stranger_key(key: &str) -> bool {
    key.len() == 18
        && key.starts_with("s-")
        && key[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The checks that need no database: shape, times, similarity, snapshot.
/// Returns the snapshot as re-encoded JPEG bytes.
pub fn validate(input: &EventInput, now_ms: i64) -> Result<Option<Vec<u8>>, AppError> {
    use base64::Engine;
    if !valid_key(&input.key) {
        return Err(AppError::invalid("key", InvalidCode::BadFormat));
    }
    if !matches!(input.kind.as_str(), "enter" | "exit") {
        return Err(AppError::invalid("kind", InvalidCode::UnknownValue));
    }
    if input.occurred_at > now_ms + FUTURE_SLACK_MS || input.occurred_at < now_ms - OLDEST_EVENT_MS
    {
        return Err(AppError::invalid("occurred_at", InvalidCode::OutOfRange));
    }
    if let Some(s) = input.similarity
        && !(0.0..=1.0).contains(&s)
    {
        return Err(AppError::invalid("similarity", InvalidCode::OutOfRange));
    }
    if input.client_id.is_some() && input.staff_id.is_some() {
        return Err(AppError::invalid("staff_id", InvalidCode::UnknownValue));
    }
    if let Some(key) = &input.stranger {
        if !valid_stranger_key(key) {
            return Err(AppError::invalid("stranger", InvalidCode::BadFormat));
        }
        if input.client_id.is_some() || input.staff_id.is_some() {
            return Err(AppError::invalid("stranger", InvalidCode::UnknownValue));
        }
    }
    if input.similarity.is_some() && input.client_id.is_none() && input.staff_id.is_none() {
        // A similarity to nobody cannot be shown anywhere: a confused sender.
        return Err(AppError::invalid("similarity", InvalidCode::UnknownValue));
    }
    if input.track.as_ref().is_some_and(|t| t.chars().count() > 64) {
        return Err(AppError::invalid("track", InvalidCode::TooLong));
    }
    let Some(snapshot) = input.snapshot.as_deref() else {
        return Ok(None);
    };
    if snapshot.len() > SNAPSHOT_MAX_BYTES * 4 / 3 + 8 {
        return Err(AppError::invalid("snapshot", InvalidCode::TooLong));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(snapshot.trim())
        .map_err(|_| AppError::invalid("snapshot", InvalidCode::BadFormat))?;
    if files::sniff(&bytes).is_none() {
        return Err(AppError::invalid("snapshot", InvalidCode::BadFormat));
    }
    let reencoded = files::reencode_photo(&bytes)
        .map_err(|_| AppError::invalid("snapshot", InvalidCode::BadFormat))?;
    Ok(Some(reencoded))
}

async fn earlier_answer(
    mut conn: crate::infra::db::Conn<'_>,
    device: &Device,
    key: &str,
) -> Result<Option<EventOutcome>, AppError> {
    let found: Option<(i64, i64, Option<i64>)> = crate::db_run!(conn, |c| sqlx::query_as(
        "SELECT id, device_id, visit_id FROM camera_events WHERE event_key = $1"
    )
    .bind(key)
    .fetch_optional(c)
    .await)?;
    match found {
        None => Ok(None),
        // Another camera's key: not a replay of ours.
        Some((_, other, _)) if other != device.id => {
            Err(AppError::invalid("key", InvalidCode::UnknownValue))
        }
        Some((event_id, _, visit_id)) => Ok(Some(EventOutcome {
            event_id,
            visit_id,
            duplicate: true,
        })),
    }
}

/// Records an event once per key and opens or closes the visit it means.
/// Returns the outcome and the client whose score may have changed.
pub async fn record_event(
    db: &Db,
    data_dir: &Path,
    device: &Device,
    input: &EventInput,
) -> Result<EventOutcome, AppError> {
    let now_ms = now() * 1000;
    let snapshot = validate(input, now_ms)?;
    // An entrance camera sees people come in, an exit camera sees them go.
    let expected = match device.camera_role.as_deref() {
        Some("exit") => "exit",
        _ => "enter",
    };
    if input.kind != expected {
        return Err(AppError::invalid("kind", InvalidCode::OutOfRange));
    }
    if let Some(done) = earlier_answer(db.acquire().await?.backend(), device, &input.key).await? {
        return Ok(done);
    }
    let biometrics = biometrics_enabled(db, device.branch_id).await?;
    if let Some(member) = input.staff_id.filter(|_| biometrics) {
        // A staff member's face is never kept: the snapshot is dropped unread.
        return record_staff(db, device, input, member).await;
    }
    // With biometrics off nobody is identified and no face is kept.
    let client_id = input.client_id.filter(|_| biometrics);
    let snapshot = snapshot.filter(|_| biometrics);
    let stored = match &snapshot {
        Some(bytes) => Some(files::store(
            data_dir,
            "snapshots",
            &format!("{}.jpg", uuid::Uuid::new_v4()),
            bytes,
        )?),
        None => None,
    };
    // A stranger's key is a face too: it counts only while recognition is on.
    let stranger = input.stranger.as_deref().filter(|_| biometrics);
    let result = record_in_tx(db, device, input, (client_id, stranger), stored.as_deref()).await;
    if !matches!(result, Ok(ref o) if !o.duplicate)
        && let Some(path) = &stored
    {
        files::remove(data_dir, path);
    }
    let outcome = result?;
    if let Some(client) = client_id
        && !outcome.duplicate
    {
        crate::scoring::ssr::rescore_after_change(db, client).await;
    }
    Ok(outcome)
}

/// A recognised staff member passed: the event is kept for the record and
/// their presence log moves; no visit opens or closes and nobody is told.
async fn record_staff(
    db: &Db,
    device: &Device,
    input: &EventInput,
    member: i64,
) -> Result<EventOutcome, AppError> {
    let at = input.occurred_at.div_euclid(1000);
    let t = now();
    let mut tx = db.begin_write().await?;
    if let Some(done) = earlier_answer(tx.backend(), device, &input.key).await? {
        return Ok(done);
    }
    if !staff::is_enrolled(tx.backend(), member).await? {
        return Err(AppError::invalid("staff_id", InvalidCode::UnknownValue));
    }
    let event_id: i64 = crate::db_run!(tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO camera_events (device_id, event_key, kind, staff_id, similarity, occurred_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(device.id)
    .bind(&input.key)
    .bind(&input.kind)
    .bind(member)
    .bind(input.similarity)
    .bind(at)
    .bind(t)
    .fetch_one(c).await
    })?;
    staff::record_passage(tx.backend(), device, member, input.kind == "enter", at).await?;
    tx.commit().await?;
    Ok(EventOutcome {
        event_id,
        visit_id: None,
        duplicate: false,
    })
}

/// `who`: the recognised client, or the stranger's key.
async fn record_in_tx(
    db: &Db,
    device: &Device,
    input: &EventInput,
    who: (Option<i64>, Option<&str>),
    snapshot: Option<&str>,
) -> Result<EventOutcome, AppError> {
    let (client_id, stranger) = who;
    let at = input.occurred_at.div_euclid(1000);
    let t = now();
    let mut tx = db.begin_write().await?;
    // A replay racing the first delivery waits for the write lock and finds it here.
    if let Some(done) = earlier_answer(tx.backend(), device, &input.key).await? {
        return Ok(done);
    }
    if let Some(client) = client_id {
        let known: Option<i64> = crate::db_run!(tx, |c| {
            sqlx::query_scalar(
            "SELECT id FROM clients WHERE id = $1 AND erased_at IS NULL AND biometric_opt_in = TRUE",
        )
        .bind(client)
        .fetch_optional(c).await
        })?;
        if known.is_none() {
            return Err(AppError::invalid("client_id", InvalidCode::UnknownValue));
        }
    }
    let mut new_unknown = false;
    let visit_id = match (input.kind.as_str(), client_id) {
        ("enter", Some(client)) => {
            Some(enter_client(tx.backend(), device, client, input, at, t).await?)
        }
        ("enter", None) => {
            let (visit, new) = enter_unknown(tx.backend(), device, stranger, at, t).await?;
            new_unknown = new;
            Some(visit)
        }
        (_, Some(client)) => {
            // Only a visit at this camera's branch: an exit elsewhere is not
            // this visit's end.
            let open: Option<i64> = crate::db_run!(tx, |c| {
                sqlx::query_scalar(
                "SELECT id FROM visits WHERE client_id = $1 AND branch_id = $2 AND left_at IS NULL \
                 ORDER BY entered_at DESC LIMIT 1",
            )
            .bind(client)
            .bind(device.branch_id)
            .fetch_optional(c).await
            })?;
            close_open(tx.backend(), open, at).await?
        }
        (_, None) => {
            // The stranger's own visit when the doors know their face; else
            // the longest-open unknown visit.
            let theirs = match stranger {
                Some(key) => stranger_visit(tx.backend(), device, key).await?,
                None => None,
            };
            let open: Option<i64> = match theirs {
                Some(visit) => Some(visit),
                None => crate::db_run!(tx, |c| {
                    sqlx::query_scalar(
                        "SELECT id FROM visits WHERE branch_id = $1 AND client_id IS NULL AND started_by = 'camera' \
                         AND left_at IS NULL ORDER BY entered_at LIMIT 1",
                    )
                    .bind(device.branch_id)
                    .fetch_optional(c).await
                })?,
            };
            close_open(tx.backend(), open, at).await?
        }
    };
    let event_id: i64 = crate::db_run!(tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO camera_events (device_id, event_key, kind, client_id, visit_id, similarity, occurred_at, snapshot_path, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(device.id)
    .bind(&input.key)
    .bind(&input.kind)
    .bind(client_id)
    .bind(visit_id)
    .bind(input.similarity.filter(|_| client_id.is_some()))
    .bind(at)
    .bind(snapshot)
    .bind(t)
    .fetch_one(c).await
    })?;
    if input.kind == "enter"
        && let (Some(client), Some(face), Some(similarity)) =
            (client_id, snapshot, input.similarity)
    {
        super::gallery::keep_capture(tx.backend(), client, face, similarity, t).await?;
    }
    if new_unknown && let Some(visit) = visit_id {
        let notice = Notice {
            kind: NotifyKind::UnknownVisitor,
            branch_id: Some(device.branch_id),
            client_id: None,
            visit_id: Some(visit),
            payload: serde_json::json!({ "event_id": event_id, "snapshot": snapshot }),
        };
        enqueue(tx.backend(), notice, t).await?;
    }
    tx.commit().await?;
    Ok(EventOutcome {
        event_id,
        visit_id,
        duplicate: false,
    })
}

/// A recognised client walks in: their open visit stays (seen again), or a
/// new one opens and reception hears who is back.
async fn enter_client(
    mut conn: crate::infra::db::Conn<'_>,
    device: &Device,
    client: i64,
    input: &EventInput,
    at: i64,
    t: i64,
) -> Result<i64, AppError> {
    let opening = visits::Opening {
        client_id: Some(client),
        branch_id: device.branch_id,
        started_by: VisitStart::Camera,
        entered_at: at,
    };
    let visit = match visits::open(conn.backend(), &opening, t).await? {
        visits::Opened::AlreadyOpen(visit) => return Ok(visit),
        visits::Opened::New(visit) => visit,
    };
    let notice = Notice {
        kind: NotifyKind::ReturningClient,
        branch_id: Some(device.branch_id),
        client_id: Some(client),
        visit_id: Some(visit),
        payload: serde_json::json!({ "source": "camera", "similarity": input.similarity }),
    };
    enqueue(conn, notice, t).await?;
    Ok(visit)
}

/// A stranger seen leaving and coming back within this long (out to the car
/// and back) continues the same visit.
const BACK_FROM_THE_CAR_SECS: i64 = 30 * 60;

/// An unknown face walks in: the visit their face already opened stays
/// theirs (still open, or closed by the exit camera minutes ago: it opens
/// again); otherwise a new unknown visit opens, marked with their key.
/// Returns the visit and whether it is new.
async fn enter_unknown(
    mut conn: crate::infra::db::Conn<'_>,
    device: &Device,
    stranger: Option<&str>,
    at: i64,
    t: i64,
) -> Result<(i64, bool), AppError> {
    if let Some(key) = stranger {
        if let Some(visit) = stranger_visit(conn.backend(), device, key).await? {
            return Ok((visit, false));
        }
        let stepped_out: Option<i64> = crate::db_run!(conn, |c| {
            sqlx::query_scalar(
            "SELECT id FROM visits WHERE branch_id = $1 AND stranger_key = $2 AND client_id IS NULL \
             AND ended_by = 'exit_camera' AND left_at BETWEEN $3 AND $4 ORDER BY left_at DESC LIMIT 1",
        )
        .bind(device.branch_id)
        .bind(key)
        .bind(at - BACK_FROM_THE_CAR_SECS)
        .bind(at)
        .fetch_optional(c).await
        })?;
        if let Some(visit) = stepped_out {
            crate::db_run!(conn, |c| sqlx::query(
                "UPDATE visits SET left_at = NULL, ended_by = NULL WHERE id = $1"
            )
            .bind(visit)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
            return Ok((visit, false));
        }
    }
    let opening = visits::Opening {
        client_id: None,
        branch_id: device.branch_id,
        started_by: VisitStart::Camera,
        entered_at: at,
    };
    let visit = visits::open(conn.backend(), &opening, t).await?.id();
    if let Some(key) = stranger {
        crate::db_run!(conn, |c| sqlx::query(
            "UPDATE visits SET stranger_key = $1 WHERE id = $2"
        )
        .bind(key)
        .bind(visit)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok((visit, true))
}

/// The open visit a stranger's face opened at this camera's branch (taken
/// over by a registration or not).
pub async fn stranger_visit(
    mut conn: crate::infra::db::Conn<'_>,
    device: &Device,
    key: &str,
) -> Result<Option<i64>, AppError> {
    Ok(crate::db_run!(conn, |c| sqlx::query_scalar(
        "SELECT id FROM visits WHERE branch_id = $1 AND stranger_key = $2 AND left_at IS NULL \
         ORDER BY entered_at DESC LIMIT 1",
    )
    .bind(device.branch_id)
    .bind(key)
    .fetch_optional(c)
    .await)?)
}

async fn close_open(
    conn: crate::infra::db::Conn<'_>,
    open: Option<i64>,
    at: i64,
) -> Result<Option<i64>, AppError> {
    match open {
        Some(visit) => {
            visits::close_in(conn, None, visit, VisitEnd::ExitCamera, at).await?;
            Ok(Some(visit))
        }
        // Nobody to close (seen leaving without being seen coming): the
        // event is still recorded for the record.
        None => Ok(None),
    }
}
