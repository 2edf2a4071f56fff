//! Staff faces: a member enrols a photo of their own face (an admin can do it
//! for them) so the cameras know them; a recognised member opens no visit,
//! sends no notification and only updates their presence log.

use std::path::Path;

use crate::auth::ssr::Staff;
use crate::camera::{PresenceRow, StaffFace};
use crate::error::{AppError, InvalidCode};
use crate::infra::{Db, audit, files, now};
use crate::settings::ssr::devices::Device;

/// Who may enrol or remove a member's face: the member, or an admin.
pub fn may_act_for(user: &Staff, staff_id: i64) -> Result<(), AppError> {
    if user.user.id == staff_id || user.is_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

async fn active_member(
    mut conn: crate::infra::db::Conn<'_>,
    staff_id: i64,
) -> Result<(), AppError> {
    let active: Option<bool> = crate::db_run!(conn, |c| sqlx::query_scalar(
        "SELECT active FROM staff WHERE id = $1"
    )
    .bind(staff_id)
    .fetch_optional(c)
    .await)?;
    match active {
        Some(true) => Ok(()),
        _ => Err(AppError::NotFound),
    }
}

/// The member's enrolment, if any.
pub async fn status(db: &Db, user: &Staff, staff_id: i64) -> Result<Option<StaffFace>, AppError> {
    may_act_for(user, staff_id)?;
    Ok(crate::db_run!(db, |c| {
        sqlx::query_as(
        "SELECT f.staff_id, s.full_name, f.created_at AS enrolled_at, f.consent_at, \
         e.full_name AS enrolled_by, \
         COALESCE((SELECT b.utc_offset_minutes FROM branches b WHERE b.id = s.branch_id), \
                  (SELECT b.utc_offset_minutes FROM branches b ORDER BY b.id LIMIT 1), 0) AS offset_minutes \
         FROM staff_faces f JOIN staff s ON s.id = f.staff_id JOIN staff e ON e.id = f.enrolled_by \
         WHERE f.staff_id = $1",
    )
    .bind(staff_id)
    .fetch_optional(c)
    .await
    })?)
}

/// Stores `photo` as the member's face (replacing an earlier one) with their
/// consent. The photo is re-encoded (no EXIF, no trailing bytes) before it is
/// kept; the cameras embed it at their next gallery refresh.
pub async fn enrol(
    db: &Db,
    data_dir: &Path,
    user: &Staff,
    staff_id: i64,
    photo: &[u8],
    consent: bool,
) -> Result<(), AppError> {
    may_act_for(user, staff_id)?;
    if !consent {
        return Err(AppError::invalid("consent", InvalidCode::Required));
    }
    if photo.is_empty() {
        return Err(AppError::invalid("file", InvalidCode::Required));
    }
    if files::sniff(photo).is_none() {
        return Err(AppError::invalid("file", InvalidCode::BadFormat));
    }
    let jpeg = files::reencode_photo(photo)?;
    let stored = files::store(
        data_dir,
        "staff_faces",
        &format!("{}.jpg", uuid::Uuid::new_v4()),
        &jpeg,
    )?;
    let result = replace(db, user.user.id, staff_id, &stored).await;
    match result {
        Ok(previous) => {
            if let Some(previous) = previous {
                files::remove(data_dir, &previous);
            }
            Ok(())
        }
        Err(error) => {
            files::remove(data_dir, &stored);
            Err(error)
        }
    }
}

async fn replace(
    db: &Db,
    actor: i64,
    staff_id: i64,
    stored: &str,
) -> Result<Option<String>, AppError> {
    let t = now();
    let mut tx = db.begin_write().await?;
    active_member(tx.backend(), staff_id).await?;
    let previous = delete_row(tx.backend(), staff_id).await?;
    crate::db_run!(tx, |c| sqlx::query(
        "INSERT INTO staff_faces (staff_id, photo_path, consent_at, enrolled_by, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(staff_id)
    .bind(stored)
    .bind(t)
    .bind(actor)
    .bind(t)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    audit::record(
        tx.backend(),
        Some(actor),
        "enrol_face",
        "staff",
        Some(staff_id),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(previous)
}

async fn delete_row(
    mut conn: crate::infra::db::Conn<'_>,
    staff_id: i64,
) -> Result<Option<String>, AppError> {
    Ok(crate::db_run!(conn, |c| sqlx::query_scalar(
        "DELETE FROM staff_faces WHERE staff_id = $1 RETURNING photo_path"
    )
    .bind(staff_id)
    .fetch_optional(c)
    .await)?)
}

/// Removes the member's face: the row and the photo file. The cameras drop
/// it (and its cached embedding) at their next gallery refresh.
pub async fn remove(db: &Db, data_dir: &Path, user: &Staff, staff_id: i64) -> Result<(), AppError> {
    may_act_for(user, staff_id)?;
    let mut tx = db.begin_write().await?;
    let removed = delete_row(tx.backend(), staff_id).await?;
    let Some(photo) = removed else {
        return Err(AppError::NotFound);
    };
    audit::record(
        tx.backend(),
        Some(user.user.id),
        "remove_face",
        "staff",
        Some(staff_id),
        None,
    )
    .await?;
    tx.commit().await?;
    files::remove(data_dir, &photo);
    Ok(())
}

/// For a member being deactivated: their face goes with the account (inside
/// the caller's transaction); returns the photo to delete after commit.
pub async fn forget_in(
    conn: crate::infra::db::Conn<'_>,
    staff_id: i64,
) -> Result<Option<String>, AppError> {
    delete_row(conn, staff_id).await
}

/// Active staff with a face, for a camera's gallery (staff work at every
/// branch of the network, so every camera knows all of them).
pub(super) async fn gallery_staff(db: &Db) -> Result<Vec<(i64, i64)>, AppError> {
    Ok(crate::db_run!(db, |c| sqlx::query_as(
        "SELECT f.staff_id, f.id FROM staff_faces f JOIN staff s ON s.id = f.staff_id \
         WHERE s.active = TRUE ORDER BY f.staff_id",
    )
    .fetch_all(c)
    .await)?)
}

/// The stored face of an active member, for a camera at a branch with face
/// recognition on.
pub async fn gallery_photo(db: &Db, device: &Device, staff_id: i64) -> Result<String, AppError> {
    if !super::biometrics_enabled(db, device.branch_id).await? {
        return Err(AppError::NotFound);
    }
    crate::db_run!(db, |c| sqlx::query_scalar(
        "SELECT f.photo_path FROM staff_faces f JOIN staff s ON s.id = f.staff_id \
         WHERE f.staff_id = $1 AND s.active = TRUE",
    )
    .bind(staff_id)
    .fetch_optional(c)
    .await)?
    .ok_or(AppError::NotFound)
}

/// Whether the camera event's member is known: active and enrolled.
pub(super) async fn is_enrolled(
    mut conn: crate::infra::db::Conn<'_>,
    staff_id: i64,
) -> Result<bool, AppError> {
    let found: Option<i64> = crate::db_run!(conn, |c| sqlx::query_scalar(
        "SELECT f.staff_id FROM staff_faces f JOIN staff s ON s.id = f.staff_id \
         WHERE f.staff_id = $1 AND s.active = TRUE",
    )
    .bind(staff_id)
    .fetch_optional(c)
    .await)?;
    Ok(found.is_some())
}

/// A member passed a camera: the day's first entrance and last exit move.
pub(super) async fn record_passage(
    mut conn: crate::infra::db::Conn<'_>,
    device: &Device,
    staff_id: i64,
    entering: bool,
    at: i64,
) -> Result<(), AppError> {
    let offset: i32 = crate::db_run!(conn, |c| sqlx::query_scalar(
        "SELECT utc_offset_minutes FROM branches WHERE id = $1"
    )
    .bind(device.branch_id)
    .fetch_one(c)
    .await)?;
    let day = crate::infra::time::local_day(at, offset);
    let (first_in, last_out) = if entering {
        (Some(at), None)
    } else {
        (None, Some(at))
    };
    crate::db_run!(conn, |c| sqlx::query(
        "INSERT INTO staff_presence (staff_id, branch_id, day, first_in, last_out, passages) \
         VALUES ($1, $2, $3, $4, $5, 1) \
         ON CONFLICT (branch_id, day, staff_id) DO UPDATE SET \
           first_in = CASE WHEN staff_presence.first_in IS NULL THEN excluded.first_in \
                           WHEN excluded.first_in IS NULL THEN staff_presence.first_in \
                           WHEN excluded.first_in < staff_presence.first_in THEN excluded.first_in \
                           ELSE staff_presence.first_in END, \
           last_out = CASE WHEN staff_presence.last_out IS NULL THEN excluded.last_out \
                           WHEN excluded.last_out IS NULL THEN staff_presence.last_out \
                           WHEN excluded.last_out > staff_presence.last_out THEN excluded.last_out \
                           ELSE staff_presence.last_out END, \
           passages = staff_presence.passages + 1",
    )
    .bind(staff_id)
    .bind(device.branch_id)
    .bind(day)
    .bind(first_in)
    .bind(last_out)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Who was seen at the branches on each of the last `days` local days, newest first.
pub async fn presence(db: &Db, days: i64) -> Result<Vec<PresenceRow>, AppError> {
    // The last `days` local days before each branch's own today.
    let now = now();
    Ok(crate::db_run!(db, |c| {
        sqlx::query_as(
        "SELECT p.day, b.name AS branch, s.full_name AS name, p.first_in, p.last_out, p.passages, \
         b.utc_offset_minutes AS offset_minutes \
         FROM staff_presence p JOIN staff s ON s.id = p.staff_id JOIN branches b ON b.id = p.branch_id \
         WHERE p.day >= ($1 + b.utc_offset_minutes * 60) / 86400 - $2 \
         ORDER BY p.day DESC, b.name, s.full_name LIMIT 500",
    )
    .bind(now)
    .bind(days)
    .fetch_all(c).await
    })?)
}
