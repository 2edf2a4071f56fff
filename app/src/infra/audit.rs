//! The audit log: who viewed, changed, exported or erased what, and when.

use sqlx::SqliteConnection;

pub async fn record(
    conn: &mut SqliteConnection,
    staff_id: Option<i64>,
    action: &str,
    entity: &str,
    entity_id: Option<i64>,
    detail: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (at, staff_id, action, entity, entity_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(crate::infra::now())
    .bind(staff_id)
    .bind(action)
    .bind(entity)
    .bind(entity_id)
    .bind(detail)
    .execute(conn)
    .await?;
    Ok(())
}

/// Audits a revocation whose UPDATE changed `updated` rows: none means there
/// was no such thing left to revoke (already revoked, or never existed).
pub async fn revoked(
    conn: &mut SqliteConnection,
    updated: u64,
    actor: i64,
    entity: &str,
    id: i64,
) -> Result<(), crate::error::AppError> {
    if updated == 0 {
        return Err(crate::error::AppError::NotFound);
    }
    record(conn, Some(actor), "revoke", entity, Some(id), None).await?;
    Ok(())
}
