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
