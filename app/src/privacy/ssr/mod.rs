//! Consent texts (versioned per language) and erasure of a client's
//! personal data, leaving anonymous visits for the statistics.

pub mod backup;
pub mod copy;
pub mod documents;

use crate::error::AppError;
use crate::infra::Db;
use crate::infra::audit;
use crate::infra::files;
use crate::infra::now;
use std::path::Path;

pub const CONSENT_MAX: usize = 5_000;

/// The newest consent version with its text in each language.
pub async fn consent_texts(db: &Db) -> Result<(i64, Vec<(String, String)>), AppError> {
    let rows: Vec<(i64, String, String)> = crate::db_run!(db, |c| sqlx::query_as(
        "SELECT version, language, body FROM consent_texts \
         WHERE version = (SELECT MAX(version) FROM consent_texts) ORDER BY language",
    )
    .fetch_all(c)
    .await)?;
    let version = rows.first().map(|r| r.0).unwrap_or(0);
    Ok((
        version,
        rows.into_iter()
            .map(|(_, lang, body)| (lang, body))
            .collect(),
    ))
}

/// Saves a new consent version (all three languages at once); returning
/// clients are asked to agree to it on their next visit.
pub async fn save_consent(
    db: &Db,
    actor: i64,
    uz: &str,
    ru: &str,
    en: &str,
) -> Result<i64, AppError> {
    let texts = [
        (
            "uz",
            crate::error::required_multiline_text("consent_uz", uz, CONSENT_MAX)?,
        ),
        (
            "ru",
            crate::error::required_multiline_text("consent_ru", ru, CONSENT_MAX)?,
        ),
        (
            "en",
            crate::error::required_multiline_text("consent_en", en, CONSENT_MAX)?,
        ),
    ];
    let t = now();
    let mut tx = db.begin_write().await?;
    let version: i64 = crate::db_run!(tx, |c| sqlx::query_scalar::<_, Option<i64>>(
        "SELECT MAX(version) FROM consent_texts"
    )
    .fetch_one(c)
    .await)?
    .unwrap_or(0)
        + 1;
    for (language, body) in &texts {
        crate::db_run!(tx, |c| {
            sqlx::query(
            "INSERT INTO consent_texts (version, language, body, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(version)
        .bind(language)
        .bind(body)
        .bind(t)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
        })?;
    }
    audit::record(
        tx.backend(),
        Some(actor),
        "create",
        "consent_text",
        Some(version),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(version)
}

/// Erases a client: name, phone, photo, face data and documents go; the
/// visits, services and sales stay, attached to an anonymous record.
pub async fn erase_client(db: &Db, data_dir: &Path, actor: i64, id: i64) -> Result<(), AppError> {
    let t = now();
    let mut tx = db.begin_write().await?;
    type Found = (Option<String>, Option<i64>, Option<String>, Option<String>);
    let found: Option<Found> = crate::db_run!(tx, |c| sqlx::query_as(
        "SELECT photo_path, erased_at, full_name, phone FROM clients WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    let (photo, erased, name, phone) = found.ok_or(AppError::NotFound)?;
    if erased.is_some() {
        return Err(AppError::NotFound);
    }
    let mut paths: Vec<String> = photo.into_iter().collect();
    paths.extend(crate::db_run!(tx, |c| sqlx::query_scalar::<_, String>(
        "SELECT stored_path FROM documents WHERE client_id = $1"
    )
    .bind(id)
    .fetch_all(c)
    .await)?);
    paths.extend(
        crate::db_run!(tx, |c| sqlx::query_scalar::<_, Option<String>>(
            "SELECT image_path FROM face_templates WHERE client_id = $1",
        )
        .bind(id)
        .fetch_all(c)
        .await)?
        .into_iter()
        .flatten(),
    );
    // Camera snapshots of them, matches kept and matches staff rejected.
    paths.extend(crate::db_run!(tx, |c| sqlx::query_scalar::<_, String>(
        "SELECT snapshot_path FROM camera_events WHERE client_id = $1 AND snapshot_path IS NOT NULL",
    )
    .bind(id)
    .fetch_all(c)
    .await)?);
    // A face kept as "not them" is an event's snapshot too: the event
    // loses it with the template.
    crate::db_run!(tx, |c| sqlx::query(
        "UPDATE camera_events SET snapshot_path = NULL WHERE snapshot_path IN \
         (SELECT image_path FROM face_templates WHERE client_id = $1)",
    )
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    crate::db_run!(tx, |c| sqlx::query(
        "UPDATE camera_events SET snapshot_path = NULL, similarity = NULL WHERE client_id = $1",
    )
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    // Telegram texts about them, sent or waiting; summaries about several
    // clients lose their name and phone.
    crate::db_run!(tx, |c| sqlx::query(
        "DELETE FROM notification_outbox WHERE client_id = $1"
    )
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    for text in [name, phone].into_iter().flatten().filter(|t| t.len() >= 3) {
        crate::db_run!(tx, |c| {
            sqlx::query(
            "UPDATE notification_outbox SET payload = replace(payload, $1, '—') WHERE replace(payload, $2, '—') <> payload",
        )
        .bind(&text)
        .bind(&text)
        .execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    // Staff notes on their services may name them.
    crate::db_run!(tx, |c| sqlx::query(
        "UPDATE service_requests SET note = NULL WHERE client_id = $1"
    )
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    crate::db_run!(tx, |c| sqlx::query(
        "UPDATE sales SET contract_document_id = NULL WHERE contract_document_id IN \
         (SELECT id FROM documents WHERE client_id = $1)",
    )
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    for statement in [
        "DELETE FROM documents WHERE client_id = $1",
        "DELETE FROM face_templates WHERE client_id = $1",
    ] {
        crate::db_run!(tx, |c| sqlx::query(statement)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    crate::scoring::ssr::forget(tx.backend(), id).await?;
    // Birth year and gender stay: the age × gender statistics are anonymous
    // counts and must not change when someone is erased.
    crate::db_run!(tx, |c| sqlx::query(
        "UPDATE clients SET full_name = NULL, phone = NULL, photo_path = NULL, search_text = '', \
         biometric_opt_in = FALSE, erased_at = $1, updated_at = $2 WHERE id = $3",
    )
    .bind(t)
    .bind(t)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    audit::record(tx.backend(), Some(actor), "erase", "client", Some(id), None).await?;
    tx.commit().await?;
    for path in paths {
        files::remove(data_dir, &path);
    }
    // Deleted rows are zeroed (secure_delete); folding the write-ahead log
    // into the database removes the old copies of those pages too.
    db.checkpoint().await;
    Ok(())
}

/// Every personal file a row refers to, as stored (`photos/….jpg`).
pub async fn referenced_files(db: &Db) -> Result<std::collections::HashSet<String>, AppError> {
    Ok(crate::db_run!(db, |c| sqlx::query_scalar::<_, String>(
        "SELECT photo_path FROM clients WHERE photo_path IS NOT NULL \
         UNION SELECT stored_path FROM documents \
         UNION SELECT snapshot_path FROM camera_events WHERE snapshot_path IS NOT NULL \
         UNION SELECT image_path FROM face_templates WHERE image_path IS NOT NULL",
    )
    .fetch_all(c)
    .await)?
    .into_iter()
    .collect())
}

/// Clients erased at or after `since`, with who erased them (the audit log):
/// a restored backup erases them again.
pub async fn erased_since(db: &Db, since: i64) -> Result<Vec<(i64, i64)>, AppError> {
    Ok(crate::db_run!(db, |c| sqlx::query_as(
        "SELECT entity_id, staff_id FROM audit_log WHERE action = 'erase' AND entity = 'client' \
         AND at >= $1 AND entity_id IS NOT NULL AND staff_id IS NOT NULL ORDER BY at",
    )
    .bind(since)
    .fetch_all(c)
    .await)?)
}

/// The folders of the data directory that hold personal files.
pub(crate) const PERSONAL_FOLDERS: [&str; 3] = ["photos", "snapshots", "documents"];

/// Deletes personal files no row refers to: a photo or snapshot written
/// just before the process died (its row never committed), files whose
/// erasure committed but whose deletion did not happen, unfinished `.part`
/// writes. Run at start-up, before any request can be writing a new file.
pub async fn remove_unreferenced_files(db: &Db, data_dir: &Path) -> Result<usize, AppError> {
    let referenced = referenced_files(db).await?;
    let mut removed = 0;
    for folder in PERSONAL_FOLDERS {
        let Ok(entries) = std::fs::read_dir(data_dir.join(folder)) else {
            continue;
        };
        for entry in entries.flatten() {
            let stored = format!("{folder}/{}", entry.file_name().to_string_lossy());
            if entry.file_type().is_ok_and(|t| t.is_file()) && !referenced.contains(&stored) {
                files::remove(data_dir, &stored);
                removed += 1;
            }
        }
    }
    Ok(removed)
}
