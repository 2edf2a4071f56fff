//! Pairing a camera, and the gallery it recognises: clients of its branch who
//! opted in, their photos, the faces staff rejected, and the staff themselves.

use crate::error::AppError;
use crate::infra::Db;
use crate::settings::ssr::devices::Device;
use serde::Serialize;

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
    let (role, name): (Option<String>, String) = crate::db_run!(db, |c| sqlx::query_as(
        "SELECT camera_role, name FROM devices WHERE id = $1"
    )
    .bind(device.id)
    .fetch_one(c)
    .await)?;
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
    /// Changes when the photo, the captures or the rejected faces change: re-embed then.
    pub version: i64,
    pub photo: String,
    /// Faces of this client captured at the doors (clear matches staff did not reject):
    /// more templates than the one kiosk photo, so another door, light or angle still
    /// knows them.
    pub templates: Vec<String>,
    pub rejected: Vec<String>,
}

/// Captures kept per client beside their photo: enough to know them in another light or at
/// another door, few enough that a wrong match staff missed cannot take them over.
pub const MAX_CAPTURES: i64 = 4;
/// Only a clear match becomes a template (the cameras name a client from 0.56 with a lead).
pub const CAPTURE_MIN_SIMILARITY: f64 = 0.65;
/// One capture a day at most: a client standing at the door all afternoon is one look.
const CAPTURE_EVERY_SECONDS: i64 = 20 * 3600;

/// Keeps the face of a clear camera match as one more template of the client, dropping the
/// oldest capture beyond `MAX_CAPTURES`. Its file stays a snapshot of the event too, so
/// retention frees it once no template holds it; erasure removes both.
pub async fn keep_capture(
    mut conn: crate::infra::db::Conn<'_>,
    client_id: i64,
    image_path: &str,
    similarity: f64,
    at: i64,
) -> Result<(), sqlx::Error> {
    if similarity < CAPTURE_MIN_SIMILARITY {
        return Ok(());
    }
    let recent: Option<i64> = crate::db_run!(conn, |c| sqlx::query_scalar(
        "SELECT id FROM face_templates WHERE client_id = $1 AND rejected = FALSE \
         AND image_path IS NOT NULL AND created_at > $2 LIMIT 1",
    )
    .bind(client_id)
    .bind(at - CAPTURE_EVERY_SECONDS)
    .fetch_optional(c)
    .await)?;
    if recent.is_some() {
        return Ok(());
    }
    crate::db_run!(conn, |c| {
        sqlx::query(
        "INSERT INTO face_templates (client_id, image_path, rejected, created_at) VALUES ($1, $2, FALSE, $3)",
    )
    .bind(client_id)
    .bind(image_path)
    .bind(at)
    .execute(c).await.map(|r| r.rows_affected())
    })?;
    crate::db_run!(conn, |c| {
        sqlx::query(
        "DELETE FROM face_templates WHERE client_id = $1 AND rejected = FALSE AND id NOT IN \
         (SELECT id FROM face_templates WHERE client_id = $2 AND rejected = FALSE ORDER BY id DESC LIMIT $3)",
    )
    .bind(client_id)
    .bind(client_id)
    .bind(MAX_CAPTURES)
    .execute(c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// "Not this person" for a face that had become a template: it stops being one.
pub async fn drop_capture(
    mut conn: crate::infra::db::Conn<'_>,
    client_id: i64,
    image_path: &str,
) -> Result<(), sqlx::Error> {
    crate::db_run!(conn, |c| sqlx::query(
        "DELETE FROM face_templates WHERE client_id = $1 AND image_path = $2 AND rejected = FALSE",
    )
    .bind(client_id)
    .bind(image_path)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A client switched face recognition off: the captures of their face stop being templates
/// (the snapshots themselves follow the snapshot retention).
pub async fn drop_captures(
    mut conn: crate::infra::db::Conn<'_>,
    client_id: i64,
) -> Result<(), sqlx::Error> {
    crate::db_run!(conn, |c| sqlx::query(
        "DELETE FROM face_templates WHERE client_id = $1 AND rejected = FALSE"
    )
    .bind(client_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A staff member the cameras must know so as never to count them as a visitor.
#[derive(Debug, Clone, Serialize)]
pub struct GalleryStaff {
    pub staff_id: i64,
    /// Changes with every new enrolment: re-embed then.
    pub version: i64,
    pub photo: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Gallery {
    pub biometrics_enabled: bool,
    pub clients: Vec<GalleryEntry>,
    pub staff: Vec<GalleryStaff>,
    /// Stranger keys the camera program must forget now: strangers who since became
    /// clients (registered at the kiosk, or were erased after that). Their anonymous
    /// templates in its memory would otherwise outlive an erasure, or know a client who
    /// never agreed to face recognition.
    pub forget_strangers: Vec<String>,
}

/// How far back a stranger who became a client is still listed to be forgotten: the
/// camera program keeps a stranger at most 12 hours after last seeing them.
const FORGET_STRANGERS_SECONDS: i64 = 2 * 86_400;

/// Keys of strangers at the camera's branch whose visit now belongs to a client.
async fn strangers_to_forget(db: &Db, device: &Device) -> Result<Vec<String>, AppError> {
    Ok(crate::db_run!(db, |c| {
        sqlx::query_scalar(
        "SELECT DISTINCT stranger_key FROM visits \
         WHERE branch_id = $1 AND entered_at >= $2 AND stranger_key IS NOT NULL AND client_id IS NOT NULL \
         LIMIT 2000",
    )
    .bind(device.branch_id)
    .bind(crate::infra::now() - FORGET_STRANGERS_SECONDS)
    .fetch_all(c)
    .await
    })?)
}

pub async fn biometrics_enabled(db: &Db, branch_id: i64) -> Result<bool, AppError> {
    Ok(crate::db_run!(db, |c| sqlx::query_scalar(
        "SELECT biometrics_enabled FROM branches WHERE id = $1"
    )
    .bind(branch_id)
    .fetch_optional(c)
    .await)?
    .unwrap_or(false))
}

/// Clients who opted in, are not erased and have a photo; nobody else is
/// ever enrolled. Empty when the camera's branch has biometrics off.
pub async fn gallery(db: &Db, device: &Device) -> Result<Gallery, AppError> {
    let forget_strangers = strangers_to_forget(db, device).await?;
    if !biometrics_enabled(db, device.branch_id).await? {
        return Ok(Gallery {
            biometrics_enabled: false,
            clients: Vec::new(),
            staff: Vec::new(),
            forget_strangers,
        });
    }
    // The version: the latest change in seconds, and the newest template's id so two
    // changes within one second still differ.
    let rows: Vec<(i64, i64, Option<String>, Option<String>)> = crate::db_run!(db, |c| {
        sqlx::query_as(
            "SELECT c.id, \
           CASE WHEN c.updated_at > COALESCE(MAX(f.created_at), 0) THEN c.updated_at \
                ELSE COALESCE(MAX(f.created_at), 0) END * 1000 + COALESCE(MAX(f.id), 0) % 1000, \
           string_agg(CAST(CASE WHEN f.rejected = FALSE THEN f.id END AS TEXT), ','), \
           string_agg(CAST(CASE WHEN f.rejected = TRUE THEN f.id END AS TEXT), ',') \
         FROM clients c LEFT JOIN face_templates f \
           ON f.client_id = c.id AND f.image_path IS NOT NULL \
         WHERE c.biometric_opt_in = TRUE AND c.erased_at IS NULL AND c.photo_path IS NOT NULL \
         GROUP BY c.id ORDER BY c.id",
        )
        .fetch_all(c)
        .await
    })?;
    let urls = |ids: Option<String>, kind: &str| -> Vec<String> {
        ids.unwrap_or_default()
            .split(',')
            .filter(|id| !id.is_empty())
            .map(|id| format!("/api/vision/{kind}/{id}"))
            .collect()
    };
    let clients = rows
        .into_iter()
        .map(|(client_id, version, templates, rejected)| GalleryEntry {
            client_id,
            version,
            photo: format!("/api/vision/clients/{client_id}/photo"),
            templates: urls(templates, "templates"),
            rejected: urls(rejected, "rejected"),
        })
        .collect();
    let staff = super::staff::gallery_staff(db)
        .await?
        .into_iter()
        .map(|(staff_id, version)| GalleryStaff {
            staff_id,
            version,
            photo: format!("/api/vision/staff/{staff_id}/photo"),
        })
        .collect();
    Ok(Gallery {
        biometrics_enabled: true,
        clients,
        staff,
        forget_strangers,
    })
}

/// The stored photo of a client in the gallery (None: not enrolled).
pub async fn gallery_photo(db: &Db, device: &Device, client_id: i64) -> Result<String, AppError> {
    if !biometrics_enabled(db, device.branch_id).await? {
        return Err(AppError::NotFound);
    }
    crate::db_run!(db, |c| sqlx::query_scalar(
        "SELECT photo_path FROM clients WHERE id = $1 AND biometric_opt_in = TRUE \
         AND erased_at IS NULL AND photo_path IS NOT NULL",
    )
    .bind(client_id)
    .fetch_optional(c)
    .await)?
    .ok_or(AppError::NotFound)
}

/// A stored face of a client in the gallery: a capture (`rejected` false, one more template)
/// or a face staff rejected (a negative example for the matcher).
pub async fn template_face(
    db: &Db,
    device: &Device,
    id: i64,
    rejected: bool,
) -> Result<String, AppError> {
    if !biometrics_enabled(db, device.branch_id).await? {
        return Err(AppError::NotFound);
    }
    crate::db_run!(db, |c| sqlx::query_scalar(
        "SELECT f.image_path FROM face_templates f JOIN clients c ON c.id = f.client_id \
         WHERE f.id = $1 AND f.rejected = $2 AND f.image_path IS NOT NULL \
         AND c.biometric_opt_in = TRUE AND c.erased_at IS NULL",
    )
    .bind(id)
    .bind(rejected)
    .fetch_optional(c)
    .await)?
    .ok_or(AppError::NotFound)
}
