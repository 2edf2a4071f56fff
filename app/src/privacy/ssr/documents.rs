//! Client documents (passport scans, contracts): stored under the data
//! directory with a checksum; every view and download is audit-logged.

use crate::error::{AppError, InvalidCode};
use crate::infra::Db;
use crate::infra::audit;
use crate::infra::files;
use crate::infra::now;
use crate::infra::tokens;
use crate::vocab::DocumentKind;
use std::path::Path;

/// A stored document as the server hands it out.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredDocument {
    pub id: i64,
    pub client_id: i64,
    pub branch_id: i64,
    pub kind: String,
    pub file_name: String,
    pub stored_path: String,
    pub content_type: String,
}

/// Checks and stores an upload for `client_id`; returns the document id.
pub async fn upload(
    db: &Db,
    data_dir: &Path,
    actor: i64,
    client_id: i64,
    kind: &str,
    file_name: &str,
    bytes: &[u8],
) -> Result<i64, AppError> {
    let kind = DocumentKind::parse(kind.trim())
        .ok_or(AppError::invalid("kind", InvalidCode::UnknownValue))?;
    let sniffed = files::check_document(bytes)?;
    let file_name = files::clean_file_name(file_name, sniffed.extension());
    let checksum = tokens::sha256_hex(bytes);
    let stored = files::store(
        data_dir,
        "documents",
        &format!("{}.{}", uuid::Uuid::new_v4().simple(), sniffed.extension()),
        bytes,
    )?;
    let result = async {
        let mut tx = db.begin_write().await?;
        let exists: Option<i64> =
            crate::db_run!(tx, |c| sqlx::query_scalar("SELECT id FROM clients WHERE id = $1 AND erased_at IS NULL")
                .bind(client_id)
                .fetch_optional(c).await)?;
        exists.ok_or(AppError::NotFound)?;
        let id: i64 = crate::db_run!(tx, |c| sqlx::query_scalar(
            "INSERT INTO documents (client_id, kind, file_name, stored_path, content_type, size_bytes, sha256, \
             uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(client_id)
        .bind(kind)
        .bind(&file_name)
        .bind(&stored)
        .bind(sniffed.content_type())
        .bind(bytes.len() as i64)
        .bind(&checksum)
        .bind(actor)
        .bind(now())
        .fetch_one(c).await)?;
        audit::record(tx.backend(), Some(actor), "upload", "document", Some(id), Some(kind.as_str())).await?;
        tx.commit().await?;
        Ok::<i64, AppError>(id)
    }
    .await;
    if result.is_err() {
        files::remove(data_dir, &stored);
    }
    result
}

pub async fn get(db: &Db, id: i64) -> Result<StoredDocument, AppError> {
    crate::db_run!(db, |c| sqlx::query_as(
        "SELECT d.id, d.client_id, c.branch_id, d.kind, d.file_name, d.stored_path, d.content_type \
         FROM documents d JOIN clients c ON c.id = d.client_id WHERE d.id = $1 AND c.erased_at IS NULL",
    )
    .bind(id)
    .fetch_optional(c).await)?
    .ok_or(AppError::NotFound)
}

/// Notes who looked at or downloaded a document.
pub async fn note_access(db: &Db, actor: i64, id: i64, action: &str) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    audit::record(
        tx.backend(),
        Some(actor),
        action,
        "document",
        Some(id),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn delete(db: &Db, data_dir: &Path, actor: i64, id: i64) -> Result<(), AppError> {
    let document = get(db, id).await?;
    let mut tx = db.begin_write().await?;
    crate::db_run!(tx, |c| sqlx::query(
        "UPDATE sales SET contract_document_id = NULL WHERE contract_document_id = $1"
    )
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    crate::db_run!(tx, |c| sqlx::query("DELETE FROM documents WHERE id = $1")
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    audit::record(
        tx.backend(),
        Some(actor),
        "delete",
        "document",
        Some(id),
        None,
    )
    .await?;
    tx.commit().await?;
    files::remove(data_dir, &document.stored_path);
    Ok(())
}
