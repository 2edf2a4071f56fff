//! The audit log: who viewed, changed, exported or erased what, and when.

pub async fn record(
    mut conn: crate::infra::db::Conn<'_>,
    staff_id: Option<i64>,
    action: &str,
    entity: &str,
    entity_id: Option<i64>,
    detail: Option<&str>,
) -> Result<(), sqlx::Error> {
    crate::db_run!(conn, |c| {
        sqlx::query(
        "INSERT INTO audit_log (at, staff_id, action, entity, entity_id, detail) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(crate::infra::now())
    .bind(staff_id)
    .bind(action)
    .bind(entity)
    .bind(entity_id)
    .bind(detail)
    .execute(c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Audits a revocation whose UPDATE changed `updated` rows: none means there
/// was no such thing left to revoke (already revoked, or never existed).
pub async fn revoked(
    conn: crate::infra::db::Conn<'_>,
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
