//! "Not this person": staff undo a wrong match from the client card.

use crate::error::AppError;
use crate::infra::Db;
use crate::infra::audit;
use crate::infra::now;

/// "Not this person" on `client_id`'s card: the event must be a match of
/// theirs not rejected yet.
pub async fn reject_match_of(
    db: &Db,
    actor: i64,
    client_id: i64,
    event_id: i64,
) -> Result<i64, AppError> {
    let owner: Option<i64> = crate::db_run!(db, |c| sqlx::query_scalar(
        "SELECT client_id FROM camera_events WHERE id = $1 AND rejected = FALSE"
    )
    .bind(event_id)
    .fetch_optional(c)
    .await)?
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
    let found: Option<EventRow> = crate::db_run!(tx, |c| sqlx::query_as(
        "SELECT client_id, visit_id, snapshot_path, rejected FROM camera_events WHERE id = $1",
    )
    .bind(event_id)
    .fetch_optional(c)
    .await)?;
    let (client, visit, snapshot, rejected) = found.ok_or(AppError::NotFound)?;
    let client = match client {
        Some(c) if !rejected => c,
        _ => return Err(AppError::NotFound),
    };
    crate::db_run!(tx, |c| {
        sqlx::query(
        "UPDATE camera_events SET client_id = NULL, similarity = NULL, rejected = TRUE WHERE id = $1"
    )
    .bind(event_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    if let Some(face) = &snapshot {
        super::gallery::drop_capture(tx.backend(), client, face).await?;
    }
    crate::db_run!(tx, |c| {
        sqlx::query(
        "INSERT INTO face_templates (client_id, image_path, rejected, created_at) VALUES ($1, $2, TRUE, $3)",
    )
    .bind(client)
    .bind(&snapshot)
    .bind(t)
    .execute(c).await.map(|r| r.rows_affected())
    })?;
    // The visit this event opened was someone else's: it becomes anonymous
    // and the client's counts are rebuilt from their remaining visits.
    if let Some(visit) = visit {
        let camera_opened: Option<i64> = crate::db_run!(tx, |c| sqlx::query_scalar(
            "SELECT id FROM visits WHERE id = $1 AND client_id = $2 AND started_by = 'camera'",
        )
        .bind(visit)
        .bind(client)
        .fetch_optional(c)
        .await)?;
        if camera_opened.is_some() {
            crate::db_run!(tx, |c| sqlx::query(
                "UPDATE visits SET client_id = NULL, is_first_visit = FALSE WHERE id = $1"
            )
            .bind(visit)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
            crate::db_run!(tx, |c| sqlx::query(
                "UPDATE camera_events SET client_id = NULL WHERE visit_id = $1 AND client_id = $2",
            )
            .bind(visit)
            .bind(client)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
            crate::db_run!(tx, |c| {
                sqlx::query(
                "UPDATE clients SET visit_count = (SELECT COUNT(*) FROM visits WHERE client_id = $1), \
                 first_visit_at = (SELECT MIN(entered_at) FROM visits WHERE client_id = $1), \
                 last_visit_at = (SELECT MAX(entered_at) FROM visits WHERE client_id = $1), \
                 updated_at = $2 WHERE id = $1",
            )
            .bind(client)
            .bind(t)
            .execute(c).await.map(|r| r.rows_affected())
            })?;
            crate::db_run!(tx, |c| sqlx::query(
                "UPDATE visits SET is_first_visit = TRUE WHERE id = \
                 (SELECT id FROM visits WHERE client_id = $1 ORDER BY entered_at LIMIT 1)",
            )
            .bind(client)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        }
    }
    audit::record(
        tx.backend(),
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
