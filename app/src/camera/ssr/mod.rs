//! What the camera program may ask and tell: pairing, the gallery of clients
//! who opted in to face recognition, and entrance/exit events that open and
//! close visits. Staff correct a wrong match ("not this person") here too.

use std::path::Path;

use crate::error::{AppError, InvalidCode};
use crate::infra::Db;
use crate::infra::audit;
use crate::infra::files;
use crate::infra::now;
use crate::notify::ssr::outbox::{Notice, enqueue};
use crate::settings::ssr::devices::Device;
use crate::visits::ssr as visits;
use crate::vocab::{NotifyKind, VisitEnd, VisitStart};
use serde::{Deserialize, Serialize};
use sqlx::SqliteConnection;

/// Decoded snapshots larger than this are refused (a face crop is ~30 KB).
pub const SNAPSHOT_MAX_BYTES: usize = 2 * 1024 * 1024;
/// Clocks may differ a little; an event from further ahead is refused.
const FUTURE_SLACK_MS: i64 = 60_000;
/// A queue replayed after a week is too stale to open visits.
const OLDEST_EVENT_MS: i64 = 7 * 86_400_000;
/// Unknown-visitor snapshots are kept this many days unless settings say otherwise.
pub const DEFAULT_RETENTION_DAYS: i64 = 30;

#[derive(Debug, Clone, Serialize)]
pub struct Paired {
    pub token: String,
    pub device_id: i64,
    pub branch_id: i64,
    pub camera_role: String,
    pub name: String,
}

/// Exchanges a camera's one-time pairing code for its token.
pub async fn pair(db: &Db, code: &str) -> Result<Paired, AppError> {
    let (device, token) = crate::settings::ssr::devices::pair(db, code, "camera").await?;
    let (role, name): (Option<String>, String) =
        sqlx::query_as("SELECT camera_role, name FROM devices WHERE id = ?")
            .bind(device.id)
            .fetch_one(db.pool())
            .await?;
    Ok(Paired {
        token,
        device_id: device.id,
        branch_id: device.branch_id,
        camera_role: role.unwrap_or_else(|| "entrance".into()),
        name,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct GalleryEntry {
    pub client_id: i64,
    /// Changes when the photo or the rejected faces change: re-embed then.
    pub version: i64,
    pub photo: String,
    pub rejected: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Gallery {
    pub biometrics_enabled: bool,
    pub clients: Vec<GalleryEntry>,
}

async fn biometrics_enabled(db: &Db, branch_id: i64) -> Result<bool, AppError> {
    Ok(
        sqlx::query_scalar("SELECT biometrics_enabled FROM branches WHERE id = ?")
            .bind(branch_id)
            .fetch_optional(db.pool())
            .await?
            .unwrap_or(false),
    )
}

/// Clients who opted in, are not erased and have a photo; nobody else is
/// ever enrolled. Empty when the camera's branch has biometrics off.
pub async fn gallery(db: &Db, device: &Device) -> Result<Gallery, AppError> {
    if !biometrics_enabled(db, device.branch_id).await? {
        return Ok(Gallery {
            biometrics_enabled: false,
            clients: Vec::new(),
        });
    }
    let rows: Vec<(i64, i64, Option<String>)> = sqlx::query_as(
        "SELECT c.id, MAX(c.updated_at, COALESCE(MAX(f.created_at), 0)), GROUP_CONCAT(f.id) \
         FROM clients c LEFT JOIN face_templates f \
           ON f.client_id = c.id AND f.rejected = TRUE AND f.image_path IS NOT NULL \
         WHERE c.biometric_opt_in = TRUE AND c.erased_at IS NULL AND c.photo_path IS NOT NULL \
         GROUP BY c.id ORDER BY c.id",
    )
    .fetch_all(db.pool())
    .await?;
    let clients = rows
        .into_iter()
        .map(|(client_id, version, rejected)| GalleryEntry {
            client_id,
            version,
            photo: format!("/api/vision/clients/{client_id}/photo"),
            rejected: rejected
                .unwrap_or_default()
                .split(',')
                .filter(|id| !id.is_empty())
                .map(|id| format!("/api/vision/rejected/{id}"))
                .collect(),
        })
        .collect();
    Ok(Gallery {
        biometrics_enabled: true,
        clients,
    })
}

/// The stored photo of a client in the gallery (None: not enrolled).
pub async fn gallery_photo(db: &Db, device: &Device, client_id: i64) -> Result<String, AppError> {
    if !biometrics_enabled(db, device.branch_id).await? {
        return Err(AppError::NotFound);
    }
    sqlx::query_scalar(
        "SELECT photo_path FROM clients WHERE id = ? AND biometric_opt_in = TRUE \
         AND erased_at IS NULL AND photo_path IS NOT NULL",
    )
    .bind(client_id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(AppError::NotFound)
}

/// A face staff rejected for a client (a negative example for the matcher).
pub async fn rejected_face(db: &Db, device: &Device, id: i64) -> Result<String, AppError> {
    if !biometrics_enabled(db, device.branch_id).await? {
        return Err(AppError::NotFound);
    }
    sqlx::query_scalar(
        "SELECT f.image_path FROM face_templates f JOIN clients c ON c.id = f.client_id \
         WHERE f.id = ? AND f.rejected = TRUE AND f.image_path IS NOT NULL \
         AND c.biometric_opt_in = TRUE AND c.erased_at IS NULL",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(AppError::NotFound)
}

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
    if input.similarity.is_some() && input.client_id.is_none() {
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
    conn: &mut SqliteConnection,
    device: &Device,
    key: &str,
) -> Result<Option<EventOutcome>, AppError> {
    let found: Option<(i64, i64, Option<i64>)> =
        sqlx::query_as("SELECT id, device_id, visit_id FROM camera_events WHERE event_key = ?")
            .bind(key)
            .fetch_optional(conn)
            .await?;
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
    if let Some(done) = earlier_answer(&mut *db.pool().acquire().await?, device, &input.key).await?
    {
        return Ok(done);
    }
    let biometrics = biometrics_enabled(db, device.branch_id).await?;
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
    let result = record_in_tx(db, device, input, client_id, stored.as_deref()).await;
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

async fn record_in_tx(
    db: &Db,
    device: &Device,
    input: &EventInput,
    client_id: Option<i64>,
    snapshot: Option<&str>,
) -> Result<EventOutcome, AppError> {
    let at = input.occurred_at.div_euclid(1000);
    let t = now();
    let mut tx = db.begin_write().await?;
    // A replay racing the first delivery waits for the write lock and finds it here.
    if let Some(done) = earlier_answer(&mut tx, device, &input.key).await? {
        return Ok(done);
    }
    if let Some(client) = client_id {
        let known: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM clients WHERE id = ? AND erased_at IS NULL AND biometric_opt_in = TRUE",
        )
        .bind(client)
        .fetch_optional(&mut *tx)
        .await?;
        if known.is_none() {
            return Err(AppError::invalid("client_id", InvalidCode::UnknownValue));
        }
    }
    let visit_id = match (input.kind.as_str(), client_id) {
        ("enter", Some(client)) => Some(enter_client(&mut tx, device, client, input, at, t).await?),
        ("enter", None) => Some(enter_unknown(&mut tx, device, at, t).await?),
        (_, Some(client)) => {
            let open: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM visits WHERE client_id = ? AND left_at IS NULL ORDER BY entered_at DESC LIMIT 1",
            )
            .bind(client)
            .fetch_optional(&mut *tx)
            .await?;
            close_open(&mut tx, open, at).await?
        }
        (_, None) => {
            let open: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM visits WHERE branch_id = ? AND client_id IS NULL AND started_by = 'camera' \
                 AND left_at IS NULL ORDER BY entered_at LIMIT 1",
            )
            .bind(device.branch_id)
            .fetch_optional(&mut *tx)
            .await?;
            close_open(&mut tx, open, at).await?
        }
    };
    let event_id: i64 = sqlx::query_scalar(
        "INSERT INTO camera_events (device_id, event_key, kind, client_id, visit_id, similarity, occurred_at, snapshot_path, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
    .fetch_one(&mut *tx)
    .await?;
    if input.kind == "enter"
        && client_id.is_none()
        && let Some(visit) = visit_id
    {
        let notice = Notice {
            kind: NotifyKind::UnknownVisitor,
            branch_id: Some(device.branch_id),
            client_id: None,
            visit_id: Some(visit),
            payload: serde_json::json!({ "event_id": event_id, "snapshot": snapshot }),
        };
        enqueue(&mut tx, notice, t).await?;
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
    conn: &mut SqliteConnection,
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
    let visit = match visits::open(&mut *conn, &opening, t).await? {
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

async fn enter_unknown(
    conn: &mut SqliteConnection,
    device: &Device,
    at: i64,
    t: i64,
) -> Result<i64, AppError> {
    let opening = visits::Opening {
        client_id: None,
        branch_id: device.branch_id,
        started_by: VisitStart::Camera,
        entered_at: at,
    };
    Ok(visits::open(conn, &opening, t).await?.id())
}

async fn close_open(
    conn: &mut SqliteConnection,
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

/// "Not this person" on `client_id`'s card: the event must be a match of
/// theirs not rejected yet.
pub async fn reject_match_of(
    db: &Db,
    actor: i64,
    client_id: i64,
    event_id: i64,
) -> Result<i64, AppError> {
    let owner: Option<i64> =
        sqlx::query_scalar("SELECT client_id FROM camera_events WHERE id = ? AND rejected = FALSE")
            .bind(event_id)
            .fetch_optional(db.pool())
            .await?
            .flatten();
    if owner != Some(client_id) {
        return Err(AppError::NotFound);
    }
    reject_match(db, actor, event_id).await
}

/// "Not this person": staff reject a camera match. The event becomes an
/// unknown visitor's, the visit it opened leaves the client's record, and
/// the face is kept as a negative example so it no longer matches them.
pub async fn reject_match(db: &Db, actor: i64, event_id: i64) -> Result<i64, AppError> {
    let t = now();
    let mut tx = db.begin_write().await?;
    // (client, visit, snapshot, already rejected)
    type EventRow = (Option<i64>, Option<i64>, Option<String>, bool);
    let found: Option<EventRow> = sqlx::query_as(
        "SELECT client_id, visit_id, snapshot_path, rejected FROM camera_events WHERE id = ?",
    )
    .bind(event_id)
    .fetch_optional(&mut *tx)
    .await?;
    let (client, visit, snapshot, rejected) = found.ok_or(AppError::NotFound)?;
    let client = match client {
        Some(c) if !rejected => c,
        _ => return Err(AppError::NotFound),
    };
    sqlx::query("UPDATE camera_events SET client_id = NULL, similarity = NULL, rejected = TRUE WHERE id = ?")
        .bind(event_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO face_templates (client_id, image_path, rejected, created_at) VALUES (?, ?, TRUE, ?)",
    )
    .bind(client)
    .bind(&snapshot)
    .bind(t)
    .execute(&mut *tx)
    .await?;
    // The visit this event opened was someone else's: it becomes anonymous
    // and the client's counts are rebuilt from their remaining visits.
    if let Some(visit) = visit {
        let camera_opened: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM visits WHERE id = ? AND client_id = ? AND started_by = 'camera'",
        )
        .bind(visit)
        .bind(client)
        .fetch_optional(&mut *tx)
        .await?;
        if camera_opened.is_some() {
            sqlx::query("UPDATE visits SET client_id = NULL, is_first_visit = FALSE WHERE id = ?")
                .bind(visit)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE camera_events SET client_id = NULL WHERE visit_id = ? AND client_id = ?",
            )
            .bind(visit)
            .bind(client)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE clients SET visit_count = (SELECT COUNT(*) FROM visits WHERE client_id = ?1), \
                 first_visit_at = (SELECT MIN(entered_at) FROM visits WHERE client_id = ?1), \
                 last_visit_at = (SELECT MAX(entered_at) FROM visits WHERE client_id = ?1), \
                 updated_at = ?2 WHERE id = ?1",
            )
            .bind(client)
            .bind(t)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE visits SET is_first_visit = TRUE WHERE id = \
                 (SELECT id FROM visits WHERE client_id = ? ORDER BY entered_at LIMIT 1)",
            )
            .bind(client)
            .execute(&mut *tx)
            .await?;
        }
    }
    audit::record(
        &mut tx,
        Some(actor),
        "reject_match",
        "camera_event",
        Some(event_id),
        None,
    )
    .await?;
    tx.commit().await?;
    crate::scoring::ssr::rescore_after_change(db, client).await;
    Ok(client)
}

/// Settings: days to keep unknown visitors' snapshots.
pub async fn retention_days(db: &Db) -> Result<i64, AppError> {
    let value: Option<String> =
        sqlx::query_scalar("SELECT value FROM settings WHERE key = 'snapshot_retention_days'")
            .fetch_optional(db.pool())
            .await?;
    Ok(value
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_RETENTION_DAYS))
}

pub async fn set_retention_days(db: &Db, actor: i64, days: &str) -> Result<(), AppError> {
    let days: i64 = days
        .trim()
        .parse()
        .map_err(|_| AppError::invalid("days", InvalidCode::BadFormat))?;
    if !(1..=365).contains(&days) {
        return Err(AppError::invalid("days", InvalidCode::OutOfRange));
    }
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ('snapshot_retention_days', ?) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(days.to_string())
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "update",
        "snapshot_retention",
        None,
        Some(&days.to_string()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes unknown visitors' snapshots older than the retention period;
/// returns how many went.
pub async fn purge_snapshots(db: &Db, data_dir: &Path) -> Result<usize, AppError> {
    let cutoff = now() - retention_days(db).await? * 86_400;
    let old: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, snapshot_path FROM camera_events WHERE client_id IS NULL AND rejected = FALSE \
         AND snapshot_path IS NOT NULL AND occurred_at < ? LIMIT 1000",
    )
    .bind(cutoff)
    .fetch_all(db.pool())
    .await?;
    if old.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin_write().await?;
    for (id, _) in &old {
        sqlx::query("UPDATE camera_events SET snapshot_path = NULL WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    // Files go after the rows no longer point at them.
    for (_, path) in &old {
        files::remove(data_dir, path);
    }
    Ok(old.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> EventInput {
        EventInput {
            key: "0f8fad5b-d9cb-469f-a165-70867728950e".into(),
            kind: "enter".into(),
            occurred_at: 1_000_000_000,
            client_id: Some(3),
            similarity: Some(0.7),
            track: None,
            snapshot: None,
        }
    }

    #[test]
    fn events_are_checked_before_anything_is_stored() {
        let now = 1_000_000_000;
        assert!(validate(&input(), now).is_ok());
        let field = |e: EventInput| match validate(&e, now) {
            Err(AppError::Invalid { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(
            field(EventInput {
                key: "short".into(),
                ..input()
            }),
            "key"
        );
        assert_eq!(
            field(EventInput {
                key: "a b c d e f g h".into(),
                ..input()
            }),
            "key"
        );
        assert_eq!(
            field(EventInput {
                kind: "dance".into(),
                ..input()
            }),
            "kind"
        );
        assert_eq!(
            field(EventInput {
                occurred_at: now + 61_000,
                ..input()
            }),
            "occurred_at"
        );
        assert_eq!(
            field(EventInput {
                occurred_at: now - 8 * 86_400_000,
                ..input()
            }),
            "occurred_at"
        );
        assert_eq!(
            field(EventInput {
                similarity: Some(1.5),
                ..input()
            }),
            "similarity"
        );
        assert_eq!(
            field(EventInput {
                client_id: None,
                ..input()
            }),
            "similarity"
        );
        assert_eq!(
            field(EventInput {
                snapshot: Some("not base64!".into()),
                ..input()
            }),
            "snapshot"
        );
        // Valid base64 of something that is not an image.
        assert_eq!(
            field(EventInput {
                snapshot: Some("PHNjcmlwdD4=".into()),
                ..input()
            }),
            "snapshot"
        );
    }
}
