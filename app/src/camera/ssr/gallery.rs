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
}

pub async fn biometrics_enabled(db: &Db, branch_id: i64) -> Result<bool, AppError> {
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
            staff: Vec::new(),
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
